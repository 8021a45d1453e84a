"""The domain dictionary (搜索词典): words jieba must keep whole — 机顶盒, 欠费停机, 海事卫星 …

Every change checks the actor's permission, validates (a `FieldError` naming the field), writes the
audit row, gives the dictionary a new version, and — when the transaction commits — makes this
process rebuild its segmenter and enqueues the re-segmentation of the documents that contain a
changed word. Other processes see the new version within `text.CHECK_INTERVAL` seconds.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock, jobs, permissions
from kefu.core.errors import FieldError, NotFound, PermissionDenied
from kefu.core.search import dictionary_store
from kefu.core.search import jobs as search_jobs
from kefu.core.search import text as textmod
from kefu.core.search.models import TAG_MAX, WORD_MAX, SearchWord

if TYPE_CHECKING:
    from kefu.core.permissions import Actor

FUNCTION = "search.dictionary"
permissions.register(FUNCTION, "Search dictionary", ("view", "create", "edit", "delete"), area="admin")

WEIGHT_MIN, WEIGHT_MAX = 1, 10_000_000
NOTE_MAX = 200
TEXT_PREVIEW_MAX = 2000
POS_RE = re.compile(rf"[a-z]{{1,{TAG_MAX}}}")
FIELDS = ("word", "weight", "pos", "enabled", "note")
_CHANGED = "kefu_search_dictionary_changed"


def _require(actor: Actor, operation: str) -> None:
    if not actor.can(f"{FUNCTION}.{operation}"):
        raise PermissionDenied()


def clean_word(value: str | None) -> str:
    """The word as stored: NFKC (full-width → half-width), trimmed; letters, digits and a few joiners."""
    word = unicodedata.normalize("NFKC", value or "").strip()
    if not word:
        raise FieldError("word", "This field is required")
    if len(word) > WORD_MAX:
        raise FieldError("word", "Enter at most %(n)s characters", n=WORD_MAX)
    if any(ch.isspace() for ch in word):
        raise FieldError("word", "A word cannot contain spaces")
    if len(word) < 2:
        raise FieldError("word", "A word has at least two characters")
    if not any(unicodedata.category(ch)[0] in "LN" for ch in word):
        raise FieldError("word", "A word needs letters or digits")
    return word


def _clean_weight(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not WEIGHT_MIN <= value <= WEIGHT_MAX:
        raise FieldError("weight", "Enter a whole number from %(lo)s to %(hi)s", lo=WEIGHT_MIN, hi=WEIGHT_MAX)
    return value


def _clean_pos(value: str | None) -> str:
    pos = (value or "").strip().lower()
    if pos and not POS_RE.fullmatch(pos):
        raise FieldError("pos", "Use a part-of-speech tag such as n, nz, v or vn")
    return pos


def _clean_note(value: str | None) -> str:
    note = (value or "").strip()
    if len(note) > NOTE_MAX:
        raise FieldError("note", "Enter at most %(n)s characters", n=NOTE_MAX)
    return note


def _unique(session: Session, word: str, *, exclude_id: int | None = None) -> None:
    stmt = select(SearchWord.id).where(SearchWord.word == word)
    if exclude_id is not None:
        stmt = stmt.where(SearchWord.id != exclude_id)
    if session.scalar(stmt) is not None:
        raise FieldError("word", "This word is already in the dictionary")


@dataclass(frozen=True)
class WordList:
    total: int
    items: list[SearchWord]


def list_words(
    session: Session, *, q: str = "", enabled: bool | None = None, limit: int = 50, offset: int = 0
) -> WordList:
    """Words matching `q` (part of the word or note), newest first."""
    stmt = select(SearchWord)
    text = unicodedata.normalize("NFKC", q or "").strip()
    if text:
        stmt = stmt.where(
            or_(
                SearchWord.word.contains(text, autoescape=True),
                SearchWord.note.contains(text, autoescape=True),
            )
        )
    if enabled is not None:
        stmt = stmt.where(SearchWord.enabled.is_(enabled))
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    limit = max(1, min(limit, 500))
    items = list(session.scalars(stmt.order_by(SearchWord.id.desc()).limit(limit).offset(max(0, offset))))
    return WordList(total=total, items=items)


def get_word(session: Session, word_id: int) -> SearchWord:
    word = session.get(SearchWord, word_id)
    if word is None:
        raise NotFound()
    return word


def add_word(
    session: Session,
    *,
    actor: Actor,
    word: str,
    weight: int | None = None,
    pos: str = "",
    enabled: bool = True,
    note: str = "",
) -> SearchWord:
    """Add a word; documents containing it are re-segmented after commit."""
    _require(actor, "create")
    cleaned = clean_word(word)
    row = SearchWord(
        word=cleaned,
        weight=_clean_weight(weight),
        pos=_clean_pos(pos),
        enabled=bool(enabled),
        note=_clean_note(note),
        created_by_id=actor.user.id,
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    _unique(session, cleaned)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="search_word.create",
        function=FUNCTION,
        target=row,
        target_label=cleaned,
        after=audit.snapshot(row, FIELDS),
    )
    _changed(session, [cleaned])
    return row


UNSET: Any = object()


def update_word(
    session: Session,
    *,
    actor: Actor,
    word: SearchWord,
    new_word: str | None = None,
    weight: int | None = UNSET,
    pos: str | None = None,
    enabled: bool | None = None,
    note: str | None = None,
) -> SearchWord:
    """Change a word; arguments left out (None; for `weight`, not given) stay as they are."""
    _require(actor, "edit")
    before = audit.snapshot(word, FIELDS)
    old = word.word
    if new_word is not None:
        cleaned = clean_word(new_word)
        _unique(session, cleaned, exclude_id=word.id)
        word.word = cleaned
    if weight is not UNSET:
        word.weight = _clean_weight(weight)
    if pos is not None:
        word.pos = _clean_pos(pos)
    if enabled is not None:
        word.enabled = bool(enabled)
    if note is not None:
        word.note = _clean_note(note)
    b, a = audit.diff(before, audit.snapshot(word, FIELDS))
    if not a:
        return word
    word.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="search_word.update",
        function=FUNCTION,
        target=word,
        target_label=word.word,
        before=b,
        after=a,
    )
    _changed(session, sorted({old, word.word}))
    return word


def delete_word(session: Session, *, actor: Actor, word: SearchWord) -> None:
    """Remove a word; documents containing it are re-segmented after commit."""
    _require(actor, "delete")
    audit.record(
        session,
        actor=actor,
        action="search_word.delete",
        function=FUNCTION,
        target=word,
        target_label=word.word,
        before=audit.snapshot(word, FIELDS),
    )
    text = word.word
    session.delete(word)
    session.flush()
    _changed(session, [text])


def request_reindex(session: Session, *, actor: Actor) -> None:
    """Re-build the whole index in the background (after commit)."""
    _require(actor, "edit")
    audit.record(
        session,
        actor=actor,
        action="search.reindex",
        function=FUNCTION,
        target_type="search_index",
        target_label="all",
        summary="Re-index requested",
    )
    jobs.enqueue_on_commit(session, search_jobs.reindex_task)


@dataclass(frozen=True)
class Preview:
    text: str
    normalized: str
    document_terms: list[str]
    query_terms: list[str]


def preview(session: Session, text: str) -> Preview:
    """How `text` is segmented with the dictionary as committed: as a document and as a query."""
    text = (text or "")[:TEXT_PREVIEW_MAX]
    seg = textmod.current(session)
    return Preview(
        text=text,
        normalized=textmod.normalize(text),
        document_terms=seg.document_terms(text),
        query_terms=seg.query_terms(text),
    )


def _changed(session: Session, words: list[str]) -> None:
    dictionary_store.bump(session)
    session.info[_CHANGED] = True
    jobs.enqueue_on_commit(session, search_jobs.retokenize_task, words=words)


@sa_event.listens_for(Session, "after_commit")
def _reload_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    if session.info.pop(_CHANGED, None):
        textmod.invalidate()


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_CHANGED, None)
