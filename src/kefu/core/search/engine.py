"""Indexing and querying: the ranking plan, the same on both databases.

A query is cut into terms (precise mode) and matched with AND; when that finds nothing and there are
several terms, with OR (`SearchPage.mode == "any"`). Ranking every match costs tens of milliseconds
at 100,000 documents, so a query ranks a bounded set of candidates:
1. the ids of the newest `POOL` matches that pass the caller's `within` filter;
2. when there are more matches than that, also the newest `TITLE_POOL` documents whose title or
   keywords hold the terms (from the small title index), so a well-titled older article is not lost
   behind newer ones that only mention the terms in passing;
3. these candidates alone are scored (title above keywords above body: `backends`, `ranking`),
   sorted, the page is cut, and only the page's documents are read and highlighted.
`total` is exact when every match fits in the pool (`SearchPage.exact`); beyond that it is the number
of ranked candidates, shown as "more than" — a page past them is empty. Refining the query narrows it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session

from kefu.core import clock
from kefu.core.search import backends, highlight
from kefu.core.search import text as textmod
from kefu.core.search.backends import IndexRow
from kefu.core.search.models import KIND_MAX, SearchDocument

log = logging.getLogger(__name__)

POOL = 100
TITLE_POOL = 50
MAX_POOL = 1000  # deep pages widen the pool up to this
MAX_LIMIT = 100
BATCH = 500

Loader = Callable[[Session], Iterable[tuple[int, str, str, str]]]
_LOADERS: dict[str, Loader] = {}
_AFTER_RELOAD: dict[str, Callable[[Session], object]] = {}


@dataclass(frozen=True)
class Hit:
    ref_id: int
    score: float
    title_html: str
    snippet_html: str


@dataclass(frozen=True)
class SearchPage:
    total: int
    hits: list[Hit]
    exact: bool = True  # False: `total` is a lower bound ("more than")
    mode: Literal["all", "any"] = "all"  # "any": no document held every term; these hold some
    terms: list[str] = field(default_factory=list)


def _check_kind(kind: str) -> None:
    if not kind or len(kind) > KIND_MAX:
        raise ValueError(f"bad search kind {kind!r}")


def register_kind(
    kind: str, loader: Loader, *, after_reload: Callable[[Session], object] | None = None
) -> None:
    """How to re-index `kind`: `loader(session)` yields (ref_id, title, body, keywords) of every
    document that belongs in the index; `after_reload(session)` runs once it has been rebuilt (for
    what a domain keeps on the index rows itself, such as the tickets' facets)."""
    _check_kind(kind)
    _LOADERS[kind] = loader
    if after_reload is not None:
        _AFTER_RELOAD[kind] = after_reload


def registered_kinds() -> list[str]:
    return sorted(_LOADERS)


def _row(seg: textmod.Segmenter, doc: SearchDocument) -> IndexRow:
    return IndexRow(
        doc_id=doc.id,
        kind=doc.kind,
        ref_id=doc.ref_id,
        title=seg.document_terms(doc.title),
        keywords=seg.document_terms(doc.keywords),
        body=seg.document_terms(doc.body),
    )


def index(session: Session, kind: str, ref_id: int, *, title: str, body: str, keywords: str = "") -> None:
    """Put (or replace) a document in the index, in the caller's transaction. `body` is plain text."""
    _check_kind(kind)
    seg = textmod.current(session)
    doc = session.scalars(
        select(SearchDocument).where(SearchDocument.kind == kind, SearchDocument.ref_id == ref_id)
    ).first()
    replace = doc is not None
    if doc is not None and (doc.title, doc.body, doc.keywords) == (title or "", body or "", keywords or ""):
        return  # unchanged: the index already holds it (a dictionary change re-segments on its own)
    if doc is None:
        doc = SearchDocument(kind=kind, ref_id=ref_id)
        session.add(doc)
    doc.title, doc.body, doc.keywords, doc.indexed_at = title or "", body or "", keywords or "", clock.now()
    session.flush()
    backends.for_session(session).write(session, [_row(seg, doc)], replace=replace)


def remove(session: Session, kind: str, ref_id: int) -> None:
    """Take a document out of the index (nothing happens when it is not there)."""
    doc_id = session.scalar(
        select(SearchDocument.id).where(SearchDocument.kind == kind, SearchDocument.ref_id == ref_id)
    )
    if doc_id is None:
        return
    backends.for_session(session).delete(session, [doc_id])
    session.execute(delete(SearchDocument).where(SearchDocument.id == doc_id))


def query(
    session: Session,
    kind: str,
    text: str,
    *,
    within: Select | None = None,
    limit: int = 20,
    offset: int = 0,
) -> SearchPage:
    """One page of the documents of `kind` matching `text`, best first, restricted to the ref_ids
    that the one-column SELECT `within` returns."""
    terms = textmod.current(session).query_terms(text or "")
    if not terms:
        return SearchPage(total=0, hits=[], terms=[])
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, int(offset))
    session.flush()  # `within` must see the caller's pending changes; the index reads go to the connection
    backend = backends.for_session(session)
    ranked, exact = _ranked(session, backend, kind, terms, False, within, offset + limit)
    mode: Literal["all", "any"] = "all"
    if not ranked and len(terms) > 1:
        ranked, exact = _ranked(session, backend, kind, terms, True, within, offset + limit)
        mode = "any"
    page = ranked[offset : offset + limit]
    return SearchPage(
        total=len(ranked), hits=_decorate(session, page, terms), exact=exact, mode=mode, terms=terms
    )


def _ranked(
    session: Session,
    backend: backends.Backend,
    kind: str,
    terms: list[str],
    any_term: bool,
    within: Select | None,
    needed: int,
) -> tuple[list[tuple[int, float]], bool]:
    pool = min(max(POOL, needed), MAX_POOL)
    ids = backend.candidates(session, kind=kind, terms=terms, any_term=any_term, within=within, limit=pool)
    exact = len(ids) < pool
    if not exact:
        have = set(ids)
        titles = backend.title_candidates(
            session, kind=kind, terms=terms, any_term=any_term, within=within, limit=TITLE_POOL
        )
        ids.extend(i for i in titles if i not in have)
    scores = backend.scores(session, terms=terms, any_term=any_term, doc_ids=ids)
    found = [(i, scores.get(i, 0.0)) for i in ids]
    found.sort(key=lambda item: (-item[1], -item[0]))
    return found, exact


def _decorate(session: Session, page: Sequence[tuple[int, float]], terms: list[str]) -> list[Hit]:
    if not page:
        return []
    t = SearchDocument.__table__
    stmt = select(t.c.id, t.c.ref_id, t.c.title, t.c.body).where(t.c.id.in_([i for i, _ in page]))
    docs = {d.id: d for d in session.connection().execute(stmt)}
    hits = []
    for doc_id, score in page:
        d = docs.get(doc_id)
        if d is None:
            continue
        hits.append(
            Hit(
                ref_id=d.ref_id,
                score=round(score, 6),
                title_html=highlight.highlight(d.title, terms),
                snippet_html=highlight.snippet(d.body, terms),
            )
        )
    return hits


def reindex(session: Session, kind: str | None = None) -> int:
    """Rebuild the index of `kind` (of every kind when None) in the caller's transaction.

    A kind with a registered loader is rebuilt from it (documents it no longer yields are removed);
    a kind without one is re-segmented from the stored text. Returns the number of documents indexed.
    """
    kinds = [kind] if kind is not None else sorted(set(_LOADERS) | _stored_kinds(session))
    count = 0
    for k in kinds:
        loader = _LOADERS.get(k)
        count += _reload(session, k, loader) if loader is not None else retokenize(session, kind=k)
        after = _AFTER_RELOAD.get(k) if loader is not None else None
        if after is not None:
            after(session)
    return count


def _stored_kinds(session: Session) -> set[str]:
    return set(session.scalars(select(SearchDocument.kind).distinct()))


def _reload(session: Session, kind: str, loader: Loader) -> int:
    seg = textmod.current(session)
    backend = backends.for_session(session)
    existing: dict[int, int] = {
        ref_id: doc_id
        for ref_id, doc_id in session.execute(
            select(SearchDocument.ref_id, SearchDocument.id).where(SearchDocument.kind == kind)
        )
    }
    seen: set[int] = set()
    chunk: list[tuple[int, str, str, str]] = []
    now = clock.now()

    def flush() -> None:
        known = [existing[r[0]] for r in chunk if r[0] in existing]
        docs = {
            d.ref_id: d for d in session.scalars(select(SearchDocument).where(SearchDocument.id.in_(known)))
        }
        replaced, added = [], []
        for ref_id, title, body, keywords in chunk:
            doc = docs.get(ref_id)
            if doc is None:
                doc = SearchDocument(kind=kind, ref_id=ref_id)
                session.add(doc)
                added.append(doc)
            else:
                replaced.append(doc)
            doc.title, doc.body, doc.keywords, doc.indexed_at = title or "", body or "", keywords or "", now
        session.flush()
        backend.write(session, [_row(seg, d) for d in replaced], replace=True)
        backend.write(session, [_row(seg, d) for d in added], replace=False)
        chunk.clear()

    for ref_id, title, body, keywords in loader(session):
        ref_id = int(ref_id)
        if ref_id in seen:
            continue
        seen.add(ref_id)
        chunk.append((ref_id, title, body, keywords))
        if len(chunk) >= BATCH:
            flush()
    flush()
    stale = [doc_id for ref_id, doc_id in existing.items() if ref_id not in seen]
    for start in range(0, len(stale), BATCH):
        part = stale[start : start + BATCH]
        backend.delete(session, part)
        session.execute(delete(SearchDocument).where(SearchDocument.id.in_(part)))
    log.info("search: re-indexed %d %s documents, removed %d", len(seen), kind, len(stale))
    return len(seen)


def retokenize(session: Session, *, kind: str | None = None, words: Sequence[str] = ()) -> int:
    """Re-segment stored documents with the current dictionary: those of `kind` (all when None), and
    when `words` are given only those whose text contains one of them — the only ones a dictionary
    change can segment differently. Returns the number of documents re-segmented."""
    count, last_id = 0, 0
    while True:
        done, last_id = retokenize_batch(session, kind=kind, words=words, after_id=last_id)
        if not done:
            return count
        count += done


def retokenize_batch(
    session: Session,
    *,
    kind: str | None = None,
    words: Sequence[str] = (),
    after_id: int = 0,
    size: int = BATCH,
) -> tuple[int, int]:
    """One batch of `retokenize`: up to `size` documents with ids above `after_id`; returns
    (documents done, last id) so a job can commit between batches."""
    seg = textmod.current(session)
    stmt = select(SearchDocument).where(SearchDocument.id > after_id).order_by(SearchDocument.id).limit(size)
    if kind is not None:
        stmt = stmt.where(SearchDocument.kind == kind)
    if words:
        cols = (SearchDocument.title, SearchDocument.body, SearchDocument.keywords)
        stmt = stmt.where(or_(*(c.icontains(w, autoescape=True) for w in words for c in cols)))
    docs = list(session.scalars(stmt))
    if not docs:
        return 0, after_id
    backends.for_session(session).write(session, [_row(seg, d) for d in docs], replace=True)
    return len(docs), docs[-1].id
