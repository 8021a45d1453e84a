"""The read side of the data dictionary: a per-process cache of detached item views for forms.

- A change made in this process clears the changed types when its transaction commits (Session hooks
  below; writers call `mark_changed`).
- A change made in another app process arrives as a `dictionary.changed` event: `follow_changes()`,
  run as a background task for the life of the app, passes it to `invalidate()`.
- Entries expire after `CACHE_TTL` seconds anyway, so a lost event heals on its own.

A session that has changed the dictionary and not yet committed reads past the cache (it sees its own
changes, and uncommitted rows never enter the cache); a load is stored only if nothing was invalidated
since the loading session's transaction began, so an old snapshot is never cached.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session, SessionTransaction

from kefu.core import events
from kefu.core.errors import NotFound
from kefu.org.config.models import DictItem, DictType

DICTIONARY_CHANGED = "dictionary.changed"
CACHE_TTL = 300.0
_PENDING = "kefu_dictionary_changed"  # session.info: type codes changed in the open transaction
_GENERATION = "kefu_dictionary_generation"  # session.info: cache generation when the transaction began


@dataclass(frozen=True)
class DictItemView:
    """A dictionary item as forms read it: detached from any session, safe to cache and share."""

    id: int
    code: str
    label: str
    label_en: str
    sort: int
    enabled: bool

    def text(self, locale: str) -> str:
        """The label in `locale`; English falls back to the Chinese label when none was given."""
        return self.label_en if locale == "en" and self.label_en else self.label


class _Cache:
    """Type code → all its items (enabled or not), with an expiry; thread-safe."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, tuple[DictItemView, ...]]] = {}
        self._lock = threading.Lock()
        self.generation = 0  # bumped by every invalidation

    def get(self, code: str) -> tuple[DictItemView, ...] | None:
        with self._lock:
            entry = self._entries.get(code)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, code: str, views: tuple[DictItemView, ...], *, loaded_at_generation: int) -> None:
        with self._lock:
            if loaded_at_generation == self.generation:
                self._entries[code] = (time.monotonic() + CACHE_TTL, views)

    def invalidate(self, code: str | None) -> None:
        with self._lock:
            self.generation += 1
            if code is None:
                self._entries.clear()
            else:
                self._entries.pop(code, None)


_cache = _Cache()


def invalidate(type_code: str | None = None) -> None:
    """Forget the cached items of `type_code` (of every type when None). Safe from any thread."""
    _cache.invalidate(type_code)


def on_event(event: events.Event) -> None:
    """Feed every event heard from the hub here: a `dictionary.changed` from any process drops the entry."""
    if event.type == DICTIONARY_CHANGED:
        code = event.data.get("type")
        invalidate(code if isinstance(code, str) else None)


async def follow_changes() -> None:
    """Invalidate this process's cache on every `dictionary.changed` event, from any app process."""
    async for event in events.hub.subscribe([DICTIONARY_CHANGED]):
        on_event(event)


def mark_changed(session: Session, *type_codes: str) -> None:
    """Note that `type_codes` changed in `session`'s transaction: the cache is cleared after commit
    in this process, and the other processes hear `dictionary.changed`."""
    pending: set[str] = session.info.setdefault(_PENDING, set())
    for code in type_codes:
        pending.add(code)
        events.on_commit(session, events.Event(type=DICTIONARY_CHANGED, data={"type": code}))


@sa_event.listens_for(Session, "after_begin")
def _remember_generation(session: Session, transaction: SessionTransaction, connection: Any) -> None:
    session.info.setdefault(_GENERATION, _cache.generation)


@sa_event.listens_for(Session, "after_commit")
def _invalidate_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the outer transaction may still roll back
    for code in session.info.get(_PENDING, ()):
        invalidate(code)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_transaction(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_GENERATION, None)


def _load(session: Session, type_code: str) -> tuple[DictItemView, ...] | None:
    stmt = (
        select(DictType.id, DictItem.id, DictItem.code, DictItem.label)
        .add_columns(DictItem.label_en, DictItem.sort, DictItem.enabled)
        .outerjoin(DictItem, DictItem.type_id == DictType.id)
        .where(DictType.code == type_code)
        .order_by(DictItem.sort, DictItem.id)
    )
    rows = session.execute(stmt).all()
    if not rows:
        return None
    return tuple(
        DictItemView(id=r[1], code=r[2], label=r[3], label_en=r[4], sort=r[5], enabled=r[6])
        for r in rows
        if r[1] is not None
    )


def _views(session: Session, type_code: str) -> tuple[DictItemView, ...]:
    if session.info.get(_PENDING):
        views = _load(session, type_code)
    else:
        views = _cache.get(type_code)
        if views is None:
            generation = session.info.get(_GENERATION, _cache.generation)
            views = _load(session, type_code)
            if views is not None:
                _cache.put(type_code, views, loaded_at_generation=generation)
    if views is None:
        raise NotFound("No such dictionary: %(code)s", code=type_code)
    return views


def items(session: Session, type_code: str, *, include_disabled: bool = False) -> list[DictItemView]:
    """The items of a dictionary in display order (enabled ones only unless asked); NotFound if no such type.

    Served from the per-process cache; a change is visible here as soon as its transaction commits.
    """
    views = _views(session, type_code)
    return [v for v in views if include_disabled or v.enabled]


def label(session: Session, type_code: str, item_code: str, locale: str) -> str:
    """The label of `item_code` in `locale`, disabled items included; the code itself if unknown."""
    try:
        views = _views(session, type_code)
    except NotFound:
        return item_code
    for view in views:
        if view.code == item_code:
            return view.text(locale)
    return item_code
