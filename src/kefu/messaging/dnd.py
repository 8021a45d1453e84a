"""Do-not-disturb (免打扰, CON-5): numbers × business types, each entry refusing or warning.

Every send passes `check` — by hand, with knowledge, in a batch or a campaign. An entry for a
business type covers its sub-types; an entry without one covers every business. Entries may be
limited to a validity window. Staff alerts are not customer messages and are not checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock
from kefu.core.errors import FieldError, FieldErrors, NotFound
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.customers import phones
from kefu.messaging.models import DndEntry, DndMode
from kefu.messaging.permissions import FUNCTION
from kefu.tickets.models import BusinessCategory

ALREADY_LISTED = lazy("This number is already on the do-not-disturb list for this business")
UNTIL_BEFORE_FROM = lazy("The end must be after the start")
UNKNOWN_CATEGORY = lazy("Choose one of the offered values")
IMPORT_MAX = 5000
TOO_MANY_LINES = lazy("At most %(max)s numbers at a time")
NOTHING_TO_IMPORT = lazy("Enter at least one number")


@dataclass(frozen=True)
class Verdict:
    """What do-not-disturb says about one message: nothing, a warning, or a refusal, with why."""

    mode: DndMode | None
    entries: tuple[DndEntry, ...] = ()

    @property
    def refused(self) -> bool:
        return self.mode is DndMode.REFUSE

    @property
    def warned(self) -> bool:
        return self.mode is DndMode.WARN

    def reason(self) -> str:
        """The entries' own words, e.g. "客户要求不接收营销短信 (业务推广)"."""
        return "; ".join(e.reason or e.number for e in self.entries)


def _covering(session: Session, category_id: int | None) -> list[int]:
    """The category and its ancestors: the business types whose entries cover `category_id`."""
    if category_id is None:
        return []
    path = session.scalar(select(BusinessCategory.path).where(BusinessCategory.id == category_id))
    ids = {int(part) for part in (path or "").split("/") if part.isdigit()}
    ids.add(category_id)
    return sorted(ids)


def check(
    session: Session, number_key: str, category_id: int | None, *, at: datetime | None = None
) -> Verdict:
    """Do-not-disturb for one number (E.164) and business type. A message without a business type
    meets only the entries that cover every business."""
    at = at or clock.now()
    covering = _covering(session, category_id)
    category_match = DndEntry.business_category_id.is_(None)
    if covering:
        category_match = or_(category_match, DndEntry.business_category_id.in_(covering))
    rows = session.scalars(
        select(DndEntry)
        .where(DndEntry.number_key == number_key, category_match)
        .where(or_(DndEntry.valid_from.is_(None), DndEntry.valid_from <= at))
        .where(or_(DndEntry.valid_until.is_(None), DndEntry.valid_until > at))
        .order_by(DndEntry.id)
    ).all()
    if not rows:
        return Verdict(None)
    refusing = tuple(r for r in rows if r.mode is DndMode.REFUSE)
    if refusing:
        return Verdict(DndMode.REFUSE, refusing)
    return Verdict(DndMode.WARN, tuple(rows))


def check_category(session: Session, category_id: int | None, field: str = "business_category_id") -> None:
    if category_id is not None and session.get(BusinessCategory, category_id) is None:
        raise FieldError(field, UNKNOWN_CATEGORY)


def _number(raw: str | None, field: str = "number") -> phones.Phone:
    try:
        return phones.normalise(raw or "")
    except phones.InvalidPhone:
        raise FieldError(field, phones.ENTER_PHONE) from None


def _window(valid_from: datetime | None, valid_until: datetime | None) -> None:
    if valid_from and valid_until and valid_until <= valid_from:
        raise FieldError("valid_until", UNTIL_BEFORE_FROM)


def _duplicate(session: Session, number_key: str, category_id: int | None) -> bool:
    match = (
        DndEntry.business_category_id.is_(None)
        if category_id is None
        else DndEntry.business_category_id == category_id
    )
    now = clock.now()
    return (
        session.scalar(
            select(DndEntry.id)
            .where(DndEntry.number_key == number_key, match)
            .where(or_(DndEntry.valid_until.is_(None), DndEntry.valid_until > now))
        )
        is not None
    )


def add(
    session: Session,
    actor: Actor,
    *,
    number: str,
    business_category_id: int | None = None,
    mode: DndMode = DndMode.REFUSE,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    reason: str = "",
    customer_id: int | None = None,
) -> DndEntry:
    phone = _number(number)
    check_category(session, business_category_id)
    _window(valid_from, valid_until)
    if _duplicate(session, phone.e164, business_category_id):
        raise FieldError("number", ALREADY_LISTED)
    entry = DndEntry(
        number_key=phone.e164,
        number=phone.display,
        business_category_id=business_category_id,
        mode=mode,
        valid_from=valid_from,
        valid_until=valid_until,
        reason=reason.strip()[:300],
        customer_id=customer_id,
        created_by_id=actor.user.id,
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="messaging.dnd.add",
        function=FUNCTION,
        target=entry,
        target_label=entry.number,
        summary=f"{mode.value}: {entry.reason}"[:200],
    )
    return entry


def bulk_add(
    session: Session,
    actor: Actor,
    text: str,
    *,
    business_category_id: int | None = None,
    mode: DndMode = DndMode.REFUSE,
    valid_until: datetime | None = None,
    reason: str = "",
) -> tuple[list[DndEntry], int]:
    """Add one entry per line ("number" or "number, reason"). All or nothing: a bad line is an
    error naming the line (`lines.N`) and nothing is added. Numbers already listed for the business
    are passed over; returns (added, passed over)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise FieldError("lines", NOTHING_TO_IMPORT)
    if len(lines) > IMPORT_MAX:
        raise FieldError("lines", TOO_MANY_LINES, max=IMPORT_MAX)
    check_category(session, business_category_id)
    errors: list[FieldError] = []
    parsed: dict[str, tuple[phones.Phone, str]] = {}
    for i, line in enumerate(lines, start=1):
        raw, _, own_reason = line.replace("，", ",").replace("\t", ",").partition(",")
        try:
            phone = _number(raw.strip(), f"lines.{i}")
        except FieldError as exc:
            errors.append(exc)
            continue
        parsed.setdefault(phone.e164, (phone, own_reason.strip() or reason))
    if errors:
        raise FieldErrors(errors)
    added: list[DndEntry] = []
    for key, (phone, why) in parsed.items():
        if _duplicate(session, key, business_category_id):
            continue
        entry = DndEntry(
            number_key=key,
            number=phone.display,
            business_category_id=business_category_id,
            mode=mode,
            valid_until=valid_until,
            reason=why[:300],
            created_by_id=actor.user.id,
        )
        session.add(entry)
        added.append(entry)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="messaging.dnd.import",
        function=FUNCTION,
        target_type="msg_dnd",
        target_label=f"{len(added)} / {len(lines)}",
        summary=f"{mode.value}: {len(added)} added, {len(parsed) - len(added)} already listed",
    )
    return added, len(parsed) - len(added)


def remove(session: Session, actor: Actor, entry_id: int) -> None:
    entry = session.get(DndEntry, entry_id)
    if entry is None:
        raise NotFound()
    audit.record(
        session,
        actor=actor,
        action="messaging.dnd.remove",
        function=FUNCTION,
        target=entry,
        target_label=entry.number,
        before={"mode": entry.mode.value, "reason": entry.reason},
    )
    session.delete(entry)
    session.flush()


def search(
    session: Session,
    *,
    number: str | None = None,
    business_category_id: int | None = None,
    active_only: bool = True,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[DndEntry], int]:
    stmt = select(DndEntry)
    if number:
        key = phones.lookup_key(number)
        stmt = stmt.where(DndEntry.number_key == key) if key else stmt.where(DndEntry.number.contains(number))
    if business_category_id is not None:
        stmt = stmt.where(DndEntry.business_category_id == business_category_id)
    if active_only:
        stmt = stmt.where(or_(DndEntry.valid_until.is_(None), DndEntry.valid_until > clock.now()))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(DndEntry.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total
