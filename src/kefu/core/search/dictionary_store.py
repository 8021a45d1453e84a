"""Reading the domain dictionary for the segmenter (the write side is `dictionary`)."""

from __future__ import annotations

import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kefu.core import clock
from kefu.core.search.models import SearchDictionaryState, SearchWord
from kefu.core.search.text import DomainWord

STATE_ID = 1


def version(session: Session) -> str:
    """The committed dictionary version ("" before the first migration seeded it)."""
    return (
        session.scalar(select(SearchDictionaryState.version).where(SearchDictionaryState.id == STATE_ID))
        or ""
    )


def enabled_words(session: Session) -> tuple[DomainWord, ...]:
    rows = session.execute(
        select(SearchWord.word, SearchWord.weight, SearchWord.pos)
        .where(SearchWord.enabled.is_(True))
        .order_by(SearchWord.id)
    ).all()
    return tuple(DomainWord(word=w, weight=f, pos=p or "") for w, f, p in rows)


def bump(session: Session) -> str:
    """Give the dictionary a new version in the caller's transaction."""
    new = secrets.token_hex(8)
    done = session.execute(
        update(SearchDictionaryState)
        .where(SearchDictionaryState.id == STATE_ID)
        .values(version=new, changed_at=clock.now())
    )
    if not getattr(done, "rowcount", 0):
        session.add(SearchDictionaryState(id=STATE_ID, version=new, changed_at=clock.now()))
    return new
