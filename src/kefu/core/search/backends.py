"""The two full-text backends, chosen by the session's database: SQLite FTS5 and PostgreSQL tsvector.

Both answer the same four questions for `engine`, which holds the ranking plan:
- `write` / `delete` index rows (in the caller's transaction);
- `candidates`: the ids of the newest `limit` matching documents of a kind that pass `within`;
- `title_candidates`: the newest matches in title or keywords alone, from a small separate index;
- `scores`: the relevance of given documents (title weighted above keywords above body), computed for
  those only, never for every match: BM25 in Python on SQLite (`ranking`), `ts_rank` on PostgreSQL.
Terms hold letters and digits only (see `text`), so quoting them is simple on both databases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    column,
    delete,
    exists,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from kefu.core.search import ranking
from kefu.core.search.models import SearchDocument

PG_POSITIONS_MAX = 16383  # PostgreSQL's largest tsvector position
PG_POSITIONS_PER_LEXEME = 256


@dataclass(frozen=True)
class IndexRow:
    doc_id: int
    kind: str
    ref_id: int
    title: Sequence[str]
    keywords: Sequence[str]
    body: Sequence[str]


class Backend(Protocol):
    def write(self, session: Session, rows: Sequence[IndexRow], *, replace: bool) -> None: ...
    def delete(self, session: Session, doc_ids: Sequence[int]) -> None: ...
    def candidates(
        self,
        session: Session,
        *,
        kind: str,
        terms: Sequence[str],
        any_term: bool,
        within: Select | None,
        limit: int,
    ) -> list[int]: ...
    def title_candidates(
        self,
        session: Session,
        *,
        kind: str,
        terms: Sequence[str],
        any_term: bool,
        within: Select | None,
        limit: int,
    ) -> list[int]: ...
    def scores(
        self, session: Session, *, terms: Sequence[str], any_term: bool, doc_ids: Sequence[int]
    ) -> dict[int, float]: ...


def within_clause(within: Select, ref_id: ColumnElement[int]) -> ColumnElement[bool]:
    """`ref_id` is among the values of `within`'s one column — as a correlated EXISTS, so each
    candidate costs one indexed lookup instead of materialising every allowed id first."""
    allowed = within.subquery("search_within")
    first = next(iter(allowed.c))
    return exists(select(literal(1)).select_from(allowed).where(first == ref_id))


# ---------------------------------------------------------------- SQLite FTS5

_fts = table("search_fts", column("rowid", Integer))
_doc = SearchDocument.__table__.alias("search_doc")
_fts_title = table("search_fts_title", column("rowid", Integer))


def fts5_query(terms: Sequence[str], *, any_term: bool) -> str:
    """A MATCH expression with every term quoted: `"宽带" "上网"` (AND) or `"宽带" OR "上网"`."""
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms]
    return (" OR " if any_term else " ").join(quoted)


class SqliteBackend:
    def write(self, session: Session, rows: Sequence[IndexRow], *, replace: bool) -> None:
        if not rows:
            return
        if replace:
            self.delete(session, [r.doc_id for r in rows])
        session.execute(
            text("INSERT INTO search_fts (rowid, title, keywords, body) VALUES (:id, :t, :k, :b)"),
            [
                {"id": r.doc_id, "t": " ".join(r.title), "k": " ".join(r.keywords), "b": " ".join(r.body)}
                for r in rows
            ],
        )
        session.execute(
            text("INSERT INTO search_fts_title (rowid, title, keywords) VALUES (:id, :t, :k)"),
            [{"id": r.doc_id, "t": " ".join(r.title), "k": " ".join(r.keywords)} for r in rows],
        )

    def delete(self, session: Session, doc_ids: Sequence[int]) -> None:
        if not doc_ids:
            return
        ids = [{"id": i} for i in doc_ids]
        session.execute(text("DELETE FROM search_fts WHERE rowid = :id"), ids)
        session.execute(text("DELETE FROM search_fts_title WHERE rowid = :id"), ids)

    def _matching(self, fts: object, name: str, kind: str, within: Select | None) -> ColumnElement[bool]:
        # The FTS table stays the only table of the outer query, so SQLite walks its matches newest
        # first and checks kind and `within` per match through the document's primary key.
        doc = _doc
        conditions = [doc.c.id == literal_column(f"{name}.rowid"), doc.c.kind == kind]
        if within is not None:
            conditions.append(within_clause(within, doc.c.ref_id))
        return exists(select(literal(1)).select_from(doc).where(*conditions))

    def candidates(
        self,
        session: Session,
        *,
        kind: str,
        terms: Sequence[str],
        any_term: bool,
        within: Select | None,
        limit: int,
    ) -> list[int]:
        stmt = (
            select(_fts.c.rowid)
            .where(text("search_fts MATCH :q").bindparams(q=fts5_query(terms, any_term=any_term)))
            .where(self._matching(_fts, "search_fts", kind, within))
            .order_by(_fts.c.rowid.desc())
            .limit(limit)
        )
        return [int(i) for i in session.connection().scalars(stmt)]

    def title_candidates(
        self,
        session: Session,
        *,
        kind: str,
        terms: Sequence[str],
        any_term: bool,
        within: Select | None,
        limit: int,
    ) -> list[int]:
        stmt = (
            select(_fts_title.c.rowid)
            .where(text("search_fts_title MATCH :q").bindparams(q=fts5_query(terms, any_term=any_term)))
            .where(self._matching(_fts_title, "search_fts_title", kind, within))
            .order_by(_fts_title.c.rowid.desc())
            .limit(limit)
        )
        return [int(i) for i in session.connection().scalars(stmt)]

    def scores(
        self, session: Session, *, terms: Sequence[str], any_term: bool, doc_ids: Sequence[int]
    ) -> dict[int, float]:
        if not doc_ids:
            return {}
        conn = session.connection()
        db = str(conn.engine.url)
        n_docs = ranking.stats.n_docs(
            db, lambda: int(conn.scalar(text("SELECT count(*) FROM search_fts")) or 0)
        )
        df = ranking.stats.df(
            db,
            terms,
            lambda t: int(
                conn.scalar(
                    text("SELECT count(*) FROM search_fts WHERE search_fts MATCH :q"),
                    {"q": fts5_query([t], any_term=False)},
                )
                or 0
            ),
        )
        idfs = {t: ranking.idf(max(n_docs, df[t]), df[t]) for t in terms}
        # The terms as indexed, straight from FTS5's content table (c0 title, c1 keywords, c2 body):
        # one primary-key read per candidate. Through `search_fts` itself each rowid would restart
        # the virtual table.
        stmt = text("SELECT id, c0, c1, c2 FROM search_fts_content WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        )
        rows = conn.execute(stmt, {"ids": list(doc_ids)})
        return ranking.score(((int(r[0]), (r[1] or "", r[2] or "", r[3] or "")) for r in rows), terms, idfs)


# ---------------------------------------------------------------- PostgreSQL

_pg = table(
    "search_fts",
    column("doc_id", Integer),
    column("kind", String),
    column("ref_id", Integer),
    column("tsv"),
    column("title_tsv"),
)


def _lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(parts: Sequence[tuple[Sequence[str], str]]) -> str:
    """tsvector input text for terms with weights, e.g. `'宽带':1A,5 '上网':2A`; positions count on
    across the parts (capped as PostgreSQL caps them), weight D is written as no letter."""
    positions: dict[str, list[str]] = {}
    pos = 0
    for terms, weight in parts:
        suffix = "" if weight == "D" else weight
        for term in terms:
            pos = min(pos + 1, PG_POSITIONS_MAX)
            found = positions.setdefault(term, [])
            if len(found) < PG_POSITIONS_PER_LEXEME:
                found.append(f"{pos}{suffix}")
    return " ".join(f"{_lexeme(t)}:{','.join(p)}" for t, p in positions.items())


def tsquery_text(terms: Sequence[str], *, any_term: bool, weight: str = "") -> str:
    """tsquery input text for the terms, every one (`any_term`: any one) of them; `weight` ("A"):
    only where the term has that weight (the title)."""
    suffix = f":{weight}" if weight else ""
    return (" | " if any_term else " & ").join(_lexeme(t) + suffix for t in terms)


def tsquery_literal(query: str) -> ColumnElement[object]:
    """tsquery text as an inline literal, not a parameter: PostgreSQL then plans each search for its
    terms (a common term walks the newest rows, a rare one the GIN index); a prepared generic plan
    cannot tell them apart."""
    return literal_column("CAST('" + query.replace("'", "''") + "' AS tsquery)")


def tsquery_sql(terms: Sequence[str], *, any_term: bool) -> ColumnElement[object]:
    """The query of `terms` as an inline literal (see `tsquery_literal`)."""
    return tsquery_literal(tsquery_text(terms, any_term=any_term))


class PostgresBackend:
    def write(self, session: Session, rows: Sequence[IndexRow], *, replace: bool) -> None:
        if not rows:
            return
        session.execute(
            text(
                "INSERT INTO search_fts (doc_id, kind, ref_id, tsv, title_tsv) "
                "VALUES (:id, :kind, :ref, CAST(:tsv AS tsvector), CAST(:ttsv AS tsvector)) "
                "ON CONFLICT (doc_id) DO UPDATE SET kind = excluded.kind, ref_id = excluded.ref_id, "
                "tsv = excluded.tsv, title_tsv = excluded.title_tsv"
            ),
            [
                {
                    "id": r.doc_id,
                    "kind": r.kind,
                    "ref": r.ref_id,
                    "tsv": tsvector_literal([(r.title, "A"), (r.keywords, "B"), (r.body, "D")]),
                    "ttsv": tsvector_literal([(r.title, "A"), (r.keywords, "B")]),
                }
                for r in rows
            ],
        )

    def delete(self, session: Session, doc_ids: Sequence[int]) -> None:
        if doc_ids:
            session.execute(delete(_pg).where(_pg.c.doc_id.in_(list(doc_ids))))

    def _newest(
        self,
        session: Session,
        vector: str,
        *,
        kind: str,
        terms: Sequence[str],
        any_term: bool,
        within: Select | None,
        limit: int,
    ) -> list[int]:
        """Ids of the newest `limit` documents of `kind` whose `vector` matches and that pass `within`.

        With `within`, first the newest matches (a quarter more than `limit`), then `within` on those
        alone, as primary-key lookups: a GIN search visits every match anyway, and checking `within`
        for all of them first (what the planner does with one query) doubles the cost for typical
        filters that pass most documents. Only when fewer than `limit` of them pass does the one
        combined query run."""
        matches = _pg.c[vector].op("@@")(tsquery_sql(terms, any_term=any_term))
        base = select(_pg.c.doc_id).where(matches, _pg.c.kind == kind).order_by(_pg.c.doc_id.desc())
        conn = session.connection()
        if within is None:
            return [int(i) for i in conn.scalars(base.limit(limit))]
        # Typical filters pass most documents; a much larger LIMIT can tip PostgreSQL from walking
        # the newest rows to visiting every match.
        wanted = limit + limit // 4 + 1
        first = conn.execute(base.add_columns(_pg.c.ref_id).limit(wanted)).all()
        if not first:
            return []
        # The allowed ones among these: the domain's SELECT restricted to their ref_ids, which
        # PostgreSQL turns into primary-key lookups (a join would scan every allowed row).
        allowed_ids = within.subquery("search_within")
        key = next(iter(allowed_ids.c))
        refs = sorted({int(r[1]) for r in first})
        refs_param = bindparam("search_refs", refs, type_=postgresql.ARRAY(Integer))
        allowed = {int(i) for i in conn.scalars(select(key).where(key == any_(refs_param)))}
        passed = [int(doc_id) for doc_id, ref_id in first if int(ref_id) in allowed][:limit]
        if len(passed) >= limit or len(first) < wanted:
            return passed  # enough, or `first` held every match
        return [int(i) for i in conn.scalars(base.where(within_clause(within, _pg.c.ref_id)).limit(limit))]

    def candidates(
        self,
        session: Session,
        *,
        kind: str,
        terms: Sequence[str],
        any_term: bool,
        within: Select | None,
        limit: int,
    ) -> list[int]:
        return self._newest(
            session, "tsv", kind=kind, terms=terms, any_term=any_term, within=within, limit=limit
        )

    def title_candidates(
        self,
        session: Session,
        *,
        kind: str,
        terms: Sequence[str],
        any_term: bool,
        within: Select | None,
        limit: int,
    ) -> list[int]:
        return self._newest(
            session, "title_tsv", kind=kind, terms=terms, any_term=any_term, within=within, limit=limit
        )

    def scores(
        self, session: Session, *, terms: Sequence[str], any_term: bool, doc_ids: Sequence[int]
    ) -> dict[int, float]:
        if not doc_ids:
            return {}
        q = tsquery_sql(terms, any_term=any_term)
        stmt = select(_pg.c.doc_id, func.ts_rank(_pg.c.tsv, q, 1)).where(_pg.c.doc_id.in_(list(doc_ids)))
        return {int(i): float(r) for i, r in session.connection().execute(stmt)}


_BACKENDS: dict[str, Backend] = {"sqlite": SqliteBackend(), "postgresql": PostgresBackend()}


def for_session(session: Session) -> Backend:
    """The backend of the database `session` is bound to."""
    name = session.get_bind().dialect.name
    try:
        return _BACKENDS[name]
    except KeyError:
        raise RuntimeError(f"full-text search is not available on {name!r}") from None
