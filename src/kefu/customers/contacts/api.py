"""Contact records over HTTP (CON-2): record an interaction, link tickets, the contact list, and a
customer's timeline."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query

from kefu.core.errors import FieldError
from kefu.customers import access
from kefu.customers.contacts import service
from kefu.customers.contacts.schemas import ContactCreate, ContactRead, LinkTickets
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/customers", tags=["contacts"])
VIEW, CREATE = service.VIEW, service.CREATE


@router.get("/contacts", response_model=list[ContactRead])
def list_contacts(
    session: SessionDep,
    actor: Requires(VIEW),
    agent_id: int | None = None,
    channel: str | None = None,
    direction: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    remote: str | None = Query(default=None, max_length=200, description="A number or address"),
    before_id: int | None = None,
    limit: int = Query(default=50, ge=1, le=200),
) -> list[ContactRead]:
    """Interactions within your data scope (by the handling agent and their department), newest
    first; page with `before_id` = the last id shown."""
    found = service.list_records(
        session,
        actor,
        agent_id=agent_id,
        channel=channel,
        direction=direction,
        since=since,
        until=until,
        remote=remote,
        before_id=before_id,
        limit=limit,
    )
    return [ContactRead.of(v) for v in found]


@router.post("/contacts", response_model=ContactRead, status_code=201)
def record(session: SessionDep, actor: Requires(CREATE), body: ContactCreate) -> ContactRead:
    """Record an interaction on any channel, optionally linked to tickets. A `call_id` recorded
    before answers with that record (201 all the same: retries are safe)."""
    if body.customer_id is not None and not access.can(session, actor, body.customer_id, access.VIEW):
        raise FieldError("customer_id", service.NO_SUCH_CUSTOMER)
    found = service.record_contact(session, actor, **body.model_dump())
    return ContactRead.of(service.views(session, [found])[0])


@router.get("/contacts/{record_id}", response_model=ContactRead)
def get_contact(session: SessionDep, actor: Requires(VIEW), record_id: int) -> ContactRead:
    """One interaction: within your contact scope or on a customer you can see."""
    return ContactRead.of(service.views(session, [service.load(session, actor, record_id)])[0])


@router.post("/contacts/{record_id}/tickets", response_model=ContactRead)
def link_tickets(
    session: SessionDep, actor: Requires(CREATE), record_id: int, body: LinkTickets
) -> ContactRead:
    """Link tickets to an interaction (e.g. the ticket registered during the call)."""
    found = service.link_tickets(
        session, actor, record=service.load(session, actor, record_id), ticket_ids=body.ticket_ids
    )
    return ContactRead.of(service.views(session, [found])[0])


@router.get("/{customer_id}/contacts", response_model=list[ContactRead])
def customer_timeline(
    session: SessionDep,
    actor: Requires(VIEW),
    customer_id: int,
    before_id: int | None = None,
    channel: str | None = None,
    limit: int = Query(default=20, ge=1, le=100),
) -> list[ContactRead]:
    """A customer's timeline across every channel, newest first (anyone who may see the customer
    and read contact records sees all of its interactions)."""
    customer = access.customer(session, actor, customer_id)
    found = service.timeline(session, customer=customer, before_id=before_id, limit=limit, channel=channel)
    return [ContactRead.of(v) for v in found]
