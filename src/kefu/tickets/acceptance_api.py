"""Business acceptance orders over HTTP (`/api/v1/tickets/acceptance`): register an order, list and
read them within one's data scope, and lock, unlock, reject, resubmit, confirm the payment and reply.

Every action takes the ticket `version` the client saw (a stale one is a 409) and answers with the
order as it is now, with the actions its reader may take next. An order is also a ticket: the ticket
routes (`/api/v1/tickets/{id}`) show its log, files and flow, and its generic actions (accept = lock,
transfer, dispatch, urge …) apply, subject to the order's lock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from kefu.core.permissions import Actor
from kefu.tickets import acceptance, acceptance_queries
from kefu.tickets import acceptance_values as values
from kefu.tickets.acceptance_flows import acceptance_types
from kefu.tickets.acceptance_models import AcceptanceState, PaymentMode, TicketAcceptance
from kefu.tickets.acceptance_schemas import (
    AcceptanceCreate,
    AcceptanceDetail,
    AcceptancePage,
    CompleteOrder,
    PaymentAction,
    RejectAction,
    ResubmitAction,
    TypeRead,
    TypesSetup,
    UnlockAction,
)
from kefu.tickets.api import ANY_TICKET_RIGHT, CREATE, HANDLE, MANAGE
from kefu.tickets.models import Ticket
from kefu.tickets.schemas import Versioned
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/tickets/acceptance", tags=["tickets"])
CONFIG_EDIT = acceptance.CONFIG_EDIT


def _detail(session: Session, actor: Actor, ticket: Ticket, row: TicketAcceptance) -> AcceptanceDetail:
    return AcceptanceDetail.model_validate(acceptance_queries.detail(session, actor, ticket, row))


@router.get("", response_model=AcceptancePage)
def list_orders(
    session: SessionDep,
    actor: Requires(*ANY_TICKET_RIGHT),
    state: AcceptanceState | None = None,
    kind: str | None = None,
    payment_mode: PaymentMode | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    department_id: int | None = None,
    customer_id: int | None = None,
    customer: str = Query(
        default="", max_length=100, description="Name (part), phone, service number, serial."
    ),
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0),
) -> AcceptancePage:
    """Orders I may see (my own, and those within the data scope of `tickets.ticket.view`), newest
    first, with the number per state for the other filters."""
    filters = acceptance_queries.Filters(
        state=state,
        kind=kind or None,
        payment_mode=payment_mode,
        date_from=date_from,
        date_to=date_to,
        department_id=department_id,
        customer_id=customer_id,
        customer=customer,
    )
    rows, total = acceptance_queries.listing(session, actor, filters, limit=limit, offset=offset)
    return AcceptancePage.model_validate(
        {
            "total": total,
            "counts": acceptance_queries.counts(session, actor, filters),
            "items": acceptance_queries.summaries(session, rows),
        }
    )


@router.get("/types", response_model=list[TypeRead])
def list_types(session: SessionDep, actor: Requires(*ANY_TICKET_RIGHT)) -> list[TypeRead]:
    """The enabled acceptance ticket types with their payment mode."""
    return [
        TypeRead(id=t.id, code=t.code, name=t.name, payment_mode=mode)
        for t, mode in acceptance_types(session)
    ]


@router.post("/types", response_model=list[TypeRead])
def set_up_types(session: SessionDep, actor: Requires(CONFIG_EDIT), body: TypesSetup) -> list[TypeRead]:
    """Set up the two acceptance flows and ticket types where missing (idempotent)."""
    made = acceptance.set_up_types(session, actor=actor, department_id=body.department_id)
    return [TypeRead(id=t.id, code=t.code, name=t.name, payment_mode=PaymentMode(m)) for m, t in made.items()]


@router.post("", response_model=AcceptanceDetail, status_code=201)
def create_order(session: SessionDep, actor: Requires(CREATE), body: AcceptanceCreate) -> AcceptanceDetail:
    """Register an order (受理); 422 names every bad field, and nothing is written."""
    ticket, row = acceptance.create(
        session,
        actor=actor,
        payment_mode=body.payment_mode,
        type_id=body.type_id,
        order=values.OrderValues(
            kind=body.kind,
            subscriber_id=body.subscriber_id,
            service_no=body.service_no,
            address=body.address,
            fee=body.fee,
            appointment_date=body.appointment_date,
            appointment_window=body.appointment_window.value,
        ),
        ticket=values.TicketValues(
            channel=body.channel,
            subject=body.subject,
            description=body.description,
            priority=body.priority,
            customer_id=body.customer_id,
            customer_name=body.customer_name,
            customer_phone=body.customer_phone,
            customer_email=body.customer_email,
            department_id=body.department_id,
            contact_id=body.contact_id,
        ),
    )
    return _detail(session, actor, ticket, row)


@router.get("/{ticket_id}", response_model=AcceptanceDetail)
def get_order(session: SessionDep, actor: Requires(*ANY_TICKET_RIGHT), ticket_id: int) -> AcceptanceDetail:
    """One order (404 for a ticket that is no order, or that I may not see)."""
    ticket, row = acceptance.load(session, actor, ticket_id)
    return _detail(session, actor, ticket, row)


def _act(
    session: Session, actor: Actor, ticket_id: int, step: Callable[[Ticket, TicketAcceptance], Any]
) -> AcceptanceDetail:
    ticket, row = acceptance.load(session, actor, ticket_id)
    step(ticket, row)
    return _detail(session, actor, ticket, row)


@router.post("/{ticket_id}/lock", response_model=AcceptanceDetail)
def lock(session: SessionDep, actor: Requires(HANDLE), ticket_id: int, body: Versioned) -> AcceptanceDetail:
    """Lock (锁定) the order: take its step; nobody else may act on it until it is unlocked or done."""
    return _act(
        session,
        actor,
        ticket_id,
        lambda t, row: acceptance.lock(
            session, actor=actor, ticket=t, row=row, expected_version=body.version
        ),
    )


@router.post("/{ticket_id}/unlock", response_model=AcceptanceDetail)
def unlock(
    session: SessionDep, actor: Requires(HANDLE, MANAGE), ticket_id: int, body: UnlockAction
) -> AcceptanceDetail:
    """Unlock: the holder gives the step back to its pool; a supervisor may do so with a reason."""
    return _act(
        session,
        actor,
        ticket_id,
        lambda t, row: acceptance.unlock(
            session, actor=actor, ticket=t, row=row, expected_version=body.version, comment=body.comment
        ),
    )


@router.post("/{ticket_id}/reject", response_model=AcceptanceDetail)
def reject(
    session: SessionDep, actor: Requires(HANDLE), ticket_id: int, body: RejectAction
) -> AcceptanceDetail:
    """Reject (审核不通过) the order I hold, with a reason; it goes back to the registering agent."""
    return _act(
        session,
        actor,
        ticket_id,
        lambda t, row: acceptance.reject(
            session, actor=actor, ticket=t, row=row, expected_version=body.version, reason=body.reason
        ),
    )


@router.post("/{ticket_id}/resubmit", response_model=AcceptanceDetail)
def resubmit(
    session: SessionDep, actor: Requires(HANDLE), ticket_id: int, body: ResubmitAction
) -> AcceptanceDetail:
    """Correct and resubmit a rejected order (the registering agent); it is pending again."""
    changes = values.OrderValues(
        kind=body.kind,
        fee=body.fee,
        service_no=body.service_no,
        address=body.address,
        appointment_date=body.appointment_date,
        appointment_window=body.appointment_window.value if body.appointment_window is not None else None,
    )
    return _act(
        session,
        actor,
        ticket_id,
        lambda t, row: acceptance.resubmit(
            session,
            actor=actor,
            ticket=t,
            row=row,
            expected_version=body.version,
            comment=body.comment,
            changes=changes,
        ),
    )


@router.post("/{ticket_id}/payment", response_model=AcceptanceDetail)
def confirm_payment(
    session: SessionDep, actor: Requires(HANDLE), ticket_id: int, body: PaymentAction
) -> AcceptanceDetail:
    """Confirm the payment (缴费确认) with the amount and the receipt or transaction number."""
    return _act(
        session,
        actor,
        ticket_id,
        lambda t, row: acceptance.confirm_payment(
            session,
            actor=actor,
            ticket=t,
            row=row,
            expected_version=body.version,
            amount=body.amount,
            reference=body.reference,
            comment=body.comment,
        ),
    )


@router.post("/{ticket_id}/complete", response_model=AcceptanceDetail)
def complete(
    session: SessionDep, actor: Requires(HANDLE), ticket_id: int, body: CompleteOrder
) -> AcceptanceDetail:
    """Reply (回复) the order I hold: the business was carried out (with the back-office number)."""
    return _act(
        session,
        actor,
        ticket_id,
        lambda t, row: acceptance.complete(
            session,
            actor=actor,
            ticket=t,
            row=row,
            expected_version=body.version,
            reply=body.reply,
            business_ref=body.business_ref,
        ),
    )
