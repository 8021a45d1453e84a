"""Fault and cutover notices (故障信息通告 / 割接通知, NTC-3): written by the network desk, shown to
agents when a caller from an affected area calls, read to customers on request, and linked to the
fault reports registered in their areas while they are active."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock
from kefu.core.errors import FieldError, FieldErrors, NotFound
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.org.config import dictionary_cache
from kefu.tickets.fault_models import FaultNotice, FaultNoticeTicket, NoticeKind, NoticeStatus
from kefu.tickets.models import Ticket

FUNCTION = "tickets.notice"
VIEW, MANAGE = f"{FUNCTION}.view", f"{FUNCTION}.manage"
PUBLIC_FALLBACK = lazy("%(title)s. Expected to last until %(ends)s. We apologise for the inconvenience.")
FIELDS = ("kind", "title", "content", "public_text", "areas", "services", "starts_at", "ends_at", "status")


def area_codes(session: Session) -> list[str]:
    try:
        return [item.code for item in dictionary_cache.items(session, "area")]
    except NotFound:
        return []


def _clean(session: Session, values: Mapping[str, Any], current: FaultNotice | None) -> dict[str, Any]:
    errors: list[FieldError] = []
    out: dict[str, Any] = {}

    def pick(name: str) -> Any:
        return values[name] if name in values else (getattr(current, name) if current is not None else None)

    kind = pick("kind") or NoticeKind.FAULT
    try:
        out["kind"] = NoticeKind(kind)
    except ValueError:
        errors.append(FieldError("kind", "Choose one of the offered values"))
    status = pick("status") or NoticeStatus.DRAFT
    try:
        out["status"] = NoticeStatus(status)
    except ValueError:
        errors.append(FieldError("status", "Choose one of the offered values"))
    title = str(pick("title") or "").strip()
    if not title:
        errors.append(FieldError("title", "This field is required"))
    elif len(title) > 200:
        errors.append(FieldError("title", "Enter at most %(n)s characters", n=200))
    out["title"] = title
    out["content"] = str(pick("content") or "").strip()[:20000]
    out["public_text"] = str(pick("public_text") or "").strip()[:1000]
    known = area_codes(session)
    areas = [str(a).strip() for a in (pick("areas") or []) if str(a).strip()]
    if not areas:
        errors.append(FieldError("areas", "Choose at least one area"))
    elif known and any(a not in known for a in areas):
        errors.append(FieldError("areas", "Choose one of the offered values"))
    out["areas"] = list(dict.fromkeys(areas))
    out["services"] = [str(s).strip()[:100] for s in (pick("services") or []) if str(s).strip()][:20]
    starts, ends = pick("starts_at"), pick("ends_at")
    if not isinstance(starts, datetime):
        errors.append(FieldError("starts_at", "This field is required"))
    if not isinstance(ends, datetime):
        errors.append(FieldError("ends_at", "This field is required"))
    if isinstance(starts, datetime) and isinstance(ends, datetime):
        # Naive times are the deployment's local time (what a datetime-local field sends).
        if starts.tzinfo is None:
            starts = starts.replace(tzinfo=clock.local_tz())
        if ends.tzinfo is None:
            ends = ends.replace(tzinfo=clock.local_tz())
        if ends <= starts:
            errors.append(FieldError("ends_at", "The end must be after the start"))
    out["starts_at"], out["ends_at"] = starts, ends
    if errors:
        raise FieldErrors(errors)
    return out


def _audit(session: Session, actor: Actor, notice: FaultNotice, action: str, **kw: Any) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"fault_notice.{action}",
        function=FUNCTION,
        target=notice,
        target_label=notice.title,
        **kw,
    )


def create(session: Session, *, actor: Actor, values: Mapping[str, Any]) -> FaultNotice:
    data = _clean(session, values, None)
    now = clock.now()
    notice = FaultNotice(**data, created_by_id=actor.user.id, created_at=now, updated_at=now)
    session.add(notice)
    session.flush()
    _audit(session, actor, notice, "create", after={"status": notice.status.value, "areas": notice.areas})
    return notice


def update(session: Session, *, actor: Actor, notice: FaultNotice, values: Mapping[str, Any]) -> FaultNotice:
    before = {"status": notice.status.value, "areas": list(notice.areas or [])}
    data = _clean(session, values, notice)
    for name, value in data.items():
        setattr(notice, name, value)
    notice.updated_at = clock.now()
    session.flush()
    _audit(session, actor, notice, "update", before=before, after={"status": notice.status.value})
    return notice


def delete(session: Session, *, actor: Actor, notice: FaultNotice) -> None:
    _audit(session, actor, notice, "delete", before={"status": notice.status.value})
    session.delete(notice)
    session.flush()


def get(session: Session, notice_id: int) -> FaultNotice:
    found = session.get(FaultNotice, notice_id)
    if found is None:
        raise NotFound()
    return found


def listing(session: Session, *, status: str | None = None, limit: int = 200) -> list[FaultNotice]:
    stmt = select(FaultNotice).order_by(FaultNotice.starts_at.desc(), FaultNotice.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(FaultNotice.status == status)
    return list(session.scalars(stmt))


def active(session: Session, area: str | None = None, *, at: datetime | None = None) -> list[FaultNotice]:
    """Published notices whose window covers `at` (now), of `area` when given."""
    at = at or clock.now()
    stmt = (
        select(FaultNotice)
        .where(
            FaultNotice.status == NoticeStatus.PUBLISHED,
            FaultNotice.starts_at <= at,
            FaultNotice.ends_at > at,
        )
        .order_by(FaultNotice.starts_at, FaultNotice.id)
    )
    # Areas are a JSON list: filtered here, the active notices of a moment are few.
    return [n for n in session.scalars(stmt) if area is None or area in (n.areas or [])]


def public_text(notice: FaultNotice) -> str:
    """What a customer is told (IVR prompt, SMS on request): the notice's own text, else a summary."""
    if notice.public_text:
        return notice.public_text
    from kefu.core import i18n

    ends = clock.to_local(notice.ends_at).strftime("%Y-%m-%d %H:%M")
    return i18n.gettext(PUBLIC_FALLBACK) % {"title": notice.title, "ends": ends}


def link_ticket(session: Session, ticket: Ticket) -> list[FaultNotice]:
    """Link a fault report to the active notices of its area; returns the notices linked."""
    if not ticket.area:
        return []
    found = active(session, ticket.area)
    for notice in found:
        session.add(FaultNoticeTicket(notice_id=notice.id, ticket_id=ticket.id, linked_at=clock.now()))
    if found:
        session.flush()
    return found


def of_ticket(session: Session, ticket_id: int) -> list[FaultNotice]:
    stmt = (
        select(FaultNotice)
        .join(FaultNoticeTicket, FaultNoticeTicket.notice_id == FaultNotice.id)
        .where(FaultNoticeTicket.ticket_id == ticket_id)
        .order_by(FaultNotice.id)
    )
    return list(session.scalars(stmt))


def linked_ticket_ids(session: Session, notice_id: int) -> list[int]:
    stmt = select(FaultNoticeTicket.ticket_id).where(FaultNoticeTicket.notice_id == notice_id)
    return list(session.scalars(stmt.order_by(FaultNoticeTicket.ticket_id)))


def caller_area(
    session: Session, *, ivr: Mapping[str, Any] | None, customer_id: int | None, phone: str
) -> str | None:
    """The area of a caller: what the IVR collected (`area`), else the area of the caller's latest
    ticket that has one (customers carry no area of their own)."""
    if ivr and ivr.get("area"):
        return str(ivr["area"])[:60]
    conditions = []
    if customer_id is not None:
        conditions.append(Ticket.customer_id == customer_id)
    if phone:
        conditions.append(Ticket.customer_phone == phone)
    if not conditions:
        return None
    from sqlalchemy import or_

    stmt = (
        select(Ticket.area)
        .where(Ticket.area.is_not(None), Ticket.area != "", or_(*conditions))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def for_caller(
    session: Session, *, ivr: Mapping[str, Any] | None, customer_id: int | None, phone: str
) -> list[FaultNotice]:
    """The active notices of the caller's area (the screen pop shows them)."""
    area = caller_area(session, ivr=ivr, customer_id=customer_id, phone=phone)
    return active(session, area) if area else []
