"""Reading business acceptance orders: the list with its filters and state counts, and one order as the
API and the pages show it. Every read is limited to the tickets the reader may see (`tickets.access`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from kefu.core import clock, i18n
from kefu.org.models import Department, User
from kefu.tickets import acceptance, access
from kefu.tickets import acceptance_values as values
from kefu.tickets.acceptance_models import AcceptanceState, PaymentMode, TicketAcceptance
from kefu.tickets.models import Ticket


@dataclass
class Filters:
    state: AcceptanceState | None = None
    kind: str | None = None
    payment_mode: PaymentMode | None = None
    date_from: date | None = None  # registered on or after (local day)
    date_to: date | None = None  # registered on or before (local day)
    department_id: int | None = None  # handling department (承办部门)
    customer_id: int | None = None
    customer: str = ""  # a customer name (part of it), phone, service number or serial


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=clock.local_tz())


def _base(actor: Any, filters: Filters, *, with_state: bool) -> Select[Any]:
    stmt = (
        select(Ticket, TicketAcceptance)
        .join(TicketAcceptance, TicketAcceptance.ticket_id == Ticket.id)
        .where(access.condition(actor))
    )
    if with_state and filters.state is not None:
        stmt = stmt.where(TicketAcceptance.state == filters.state)
    if filters.kind:
        stmt = stmt.where(TicketAcceptance.kind == filters.kind)
    if filters.payment_mode is not None:
        stmt = stmt.where(TicketAcceptance.payment_mode == filters.payment_mode)
    if filters.date_from is not None:
        stmt = stmt.where(Ticket.created_at >= _start_of(filters.date_from))
    if filters.date_to is not None:
        stmt = stmt.where(Ticket.created_at < _start_of(filters.date_to + timedelta(days=1)))
    if filters.department_id is not None:
        stmt = stmt.where(Ticket.department_id == filters.department_id)
    if filters.customer_id is not None:
        stmt = stmt.where(Ticket.customer_id == filters.customer_id)
    text = filters.customer.strip()[:100]
    if text:
        stmt = stmt.where(
            or_(
                Ticket.customer_name.contains(text, autoescape=True),
                Ticket.customer_phone == text,
                TicketAcceptance.service_no == text,
                Ticket.serial == text,
            )
        )
    return stmt


def listing(
    session: Session, actor: Any, filters: Filters, *, limit: int = 50, offset: int = 0
) -> tuple[list[tuple[Ticket, TicketAcceptance]], int]:
    """One page of orders (newest first) and how many match."""
    stmt = _base(actor, filters, with_state=True)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page = stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit).offset(offset)
    return [(t, row) for t, row in session.execute(page).tuples()], int(total)


def counts(session: Session, actor: Any, filters: Filters) -> dict[str, int]:
    """How many orders of each state match the other filters (the state tabs' badges)."""
    inner = _base(actor, filters, with_state=False).with_only_columns(TicketAcceptance.state).subquery()
    stmt = select(inner.c.state, func.count()).group_by(inner.c.state)
    found = {state.value: 0 for state in AcceptanceState}
    for state, n in session.execute(stmt).tuples():
        found[getattr(state, "value", state)] = int(n)
    return found


def names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(wanted))).tuples().all())


def departments(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    stmt = select(Department.id, Department.name).where(Department.id.in_(wanted))
    return dict(session.execute(stmt).tuples().all())


def summary(
    ticket: Ticket,
    row: TicketAcceptance,
    *,
    kinds: dict[str, str],
    people: dict[int, str],
    depts: dict[int, str],
) -> dict[str, Any]:
    """An order as lists and the API show it (labels in the reader's language)."""
    return {
        "ticket_id": ticket.id,
        "serial": ticket.serial,
        "subject": ticket.subject,
        "type_id": ticket.type_id,
        "version": ticket.lock_version,
        "ticket_status": ticket.status.value,
        "stage": ticket.stage,
        "kind": row.kind,
        "kind_label": kinds.get(row.kind, row.kind),
        "payment_mode": row.payment_mode.value,
        "payment_mode_label": i18n.gettext(values.MODE_LABELS[row.payment_mode]),
        "state": row.state.value,
        "state_label": i18n.gettext(values.STATE_LABELS[row.state]),
        "customer_id": ticket.customer_id,
        "customer_name": ticket.customer_name,
        "customer_phone": ticket.customer_phone,
        "subscriber_id": row.subscriber_id,
        "service_no": row.service_no,
        "address": row.address,
        "appointment_date": row.appointment_date,
        "appointment_window": row.appointment_window.value,
        "appointment_window_label": i18n.gettext(values.WINDOW_LABELS[row.appointment_window]),
        "fee": row.fee,
        "paid_amount": row.paid_amount,
        "paid_at": row.paid_at,
        "payment_ref": row.payment_ref,
        "payment_confirmed_by": people.get(row.payment_confirmed_by_id or 0, ""),
        "locked_by_id": row.locked_by_id,
        "locked_by": people.get(row.locked_by_id or 0, ""),
        "locked_at": row.locked_at,
        "reply": row.reply,
        "business_ref": row.business_ref,
        "replied_at": row.replied_at,
        "replied_by": people.get(row.replied_by_id or 0, ""),
        "reject_reason": row.reject_reason,
        "rejected_at": row.rejected_at,
        "rejected_by": people.get(row.rejected_by_id or 0, ""),
        "resubmit_count": row.resubmit_count,
        "department_id": ticket.department_id,
        "department": depts.get(ticket.department_id or 0, ""),
        "handler_id": ticket.handler_id,
        "handler": people.get(ticket.handler_id or 0, ""),
        "creator": people.get(ticket.creator_id or 0, ""),
        "created_at": ticket.created_at,
        "updated_at": row.updated_at,
    }


def _people_of(rows: list[tuple[Ticket, TicketAcceptance]]) -> set[int | None]:
    found: set[int | None] = set()
    for ticket, row in rows:
        found |= {ticket.handler_id, ticket.creator_id, row.locked_by_id}
        found |= {row.payment_confirmed_by_id, row.replied_by_id, row.rejected_by_id}
    return found


def summaries(session: Session, rows: list[tuple[Ticket, TicketAcceptance]]) -> list[dict[str, Any]]:
    """Many orders at once: one query each for the people and departments they name."""
    kinds = values.kind_labels(session, i18n.get_locale())
    people = names(session, _people_of(rows))
    depts = departments(session, {t.department_id for t, _ in rows})
    return [summary(t, row, kinds=kinds, people=people, depts=depts) for t, row in rows]


def detail(session: Session, actor: Any, ticket: Ticket, row: TicketAcceptance) -> dict[str, Any]:
    """One order with the actions its reader may take now."""
    session.flush()
    found = summaries(session, [(ticket, row)])[0]
    found["actions"] = acceptance.actions(session, actor, ticket, row)
    return found
