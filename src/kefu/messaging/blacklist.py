"""The callers' blacklist (黑名单, CON-10): abusive or harassing numbers the call center consults.

`block` entries are refused before an agent is offered the call (the routing / IVR answer says so);
`flag` entries go through with a warning on the agent's screen pop. Each recognised call counts a hit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock
from kefu.core.errors import FieldError, NotFound
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.customers import phones
from kefu.messaging.models import BlacklistEntry, BlacklistLevel
from kefu.messaging.permissions import FUNCTION

ALREADY_LISTED = lazy("This number is already on the blacklist")
REASON_REQUIRED = lazy("Say why the number is listed")


def lookup(session: Session, number: str | None, *, at: datetime | None = None) -> BlacklistEntry | None:
    """The active entry for a caller's number (typed any way), or None."""
    key = phones.lookup_key(number or "")
    if key is None:
        return None
    at = at or clock.now()
    return session.scalars(
        select(BlacklistEntry).where(
            BlacklistEntry.number_key == key,
            or_(BlacklistEntry.valid_until.is_(None), BlacklistEntry.valid_until > at),
        )
    ).first()


def recognise(session: Session, number: str | None) -> BlacklistEntry | None:
    """`lookup`, counting a hit when the number is listed (one call = one hit)."""
    entry = lookup(session, number)
    if entry is not None:
        session.execute(
            update(BlacklistEntry)
            .where(BlacklistEntry.id == entry.id)
            .values(hits=BlacklistEntry.hits + 1, last_hit_at=clock.now())
        )
    return entry


def add(
    session: Session,
    actor: Actor,
    *,
    number: str,
    reason: str,
    level: BlacklistLevel = BlacklistLevel.FLAG,
    valid_until: datetime | None = None,
) -> BlacklistEntry:
    try:
        phone = phones.normalise(number or "")
    except phones.InvalidPhone:
        raise FieldError("number", phones.ENTER_PHONE) from None
    if not (reason or "").strip():
        raise FieldError("reason", REASON_REQUIRED)
    existing = session.scalars(select(BlacklistEntry).where(BlacklistEntry.number_key == phone.e164)).first()
    if existing is not None:
        if existing.valid_until is None or existing.valid_until > clock.now():
            raise FieldError("number", ALREADY_LISTED)
        session.delete(existing)  # an expired entry makes way for the new one
        session.flush()
    entry = BlacklistEntry(
        number_key=phone.e164,
        number=phone.display,
        level=level,
        reason=reason.strip()[:300],
        valid_until=valid_until,
        created_by_id=actor.user.id,
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="messaging.blacklist.add",
        function=FUNCTION,
        target=entry,
        target_label=entry.number,
        summary=f"{level.value}: {entry.reason}"[:200],
    )
    return entry


def change(
    session: Session,
    actor: Actor,
    entry_id: int,
    *,
    level: BlacklistLevel,
    reason: str,
    valid_until: datetime | None,
) -> BlacklistEntry:
    entry = session.get(BlacklistEntry, entry_id)
    if entry is None:
        raise NotFound()
    if not (reason or "").strip():
        raise FieldError("reason", REASON_REQUIRED)
    before = {"level": entry.level.value, "reason": entry.reason, "valid_until": str(entry.valid_until)}
    entry.level, entry.reason, entry.valid_until = level, reason.strip()[:300], valid_until
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="messaging.blacklist.change",
        function=FUNCTION,
        target=entry,
        target_label=entry.number,
        before=before,
        after={"level": level.value, "reason": entry.reason, "valid_until": str(valid_until)},
    )
    return entry


def remove(session: Session, actor: Actor, entry_id: int) -> None:
    entry = session.get(BlacklistEntry, entry_id)
    if entry is None:
        raise NotFound()
    audit.record(
        session,
        actor=actor,
        action="messaging.blacklist.remove",
        function=FUNCTION,
        target=entry,
        target_label=entry.number,
        before={"level": entry.level.value, "reason": entry.reason},
    )
    session.delete(entry)
    session.flush()


def search(
    session: Session, *, number: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[BlacklistEntry], int]:
    stmt = select(BlacklistEntry)
    if number:
        key = phones.lookup_key(number)
        stmt = (
            stmt.where(BlacklistEntry.number_key == key)
            if key
            else stmt.where(BlacklistEntry.number.contains(number))
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(BlacklistEntry.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total
