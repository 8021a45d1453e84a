"""The customer 360 data (CON-3) and the business queries (CON-8) over HTTP."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from kefu.core.errors import KefuError, NotFound
from kefu.customers import access, search, view360
from kefu.customers.adapters import registry
from kefu.customers.adapters.base import SourceError, SourceKind
from kefu.customers.api import read, subscriber_reads
from kefu.customers.contacts import service as contacts
from kefu.customers.contacts.schemas import ContactRead
from kefu.customers.schemas import AccountRead, CustomerListItem, CustomerRead, SubscriberRead
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])
BUSINESS = "customers.business.view"


class BusinessSystemFailed(KefuError):
    """A business system could not answer: 504 on a timeout, 503 while its circuit is open, 502 else."""

    code = "business_system_failed"

    def __init__(self, error: SourceError) -> None:
        super().__init__(error.message)
        self.status_code = {"timeout": 504, "circuit_open": 503, "not_configured": 404}.get(error.reason, 502)


class OpenTicketRead(BaseModel):
    id: int
    serial: str
    subject: str
    status: str
    stage: str


class PanelRead(BaseModel):
    kind: str
    label: str
    url: str


class View360Read(BaseModel):
    customer: CustomerRead
    parent: CustomerListItem | None
    children: int
    subscribers: list[SubscriberRead]
    accounts: list[AccountRead]
    recent_contacts: list[ContactRead]
    open_tickets: list[OpenTicketRead]
    hidden_open_tickets: int
    panels: list[PanelRead]


class PhoneLookup(BaseModel):
    phone: str
    customers: list[CustomerListItem]
    open_tickets: list[OpenTicketRead]
    hidden_open_tickets: int


@router.get("/360", response_model=PhoneLookup)
def by_caller(
    session: SessionDep, actor: Requires(access.VIEW), phone: str = Query(min_length=1, max_length=60)
) -> PhoneLookup:
    """What an incoming number points at: its customers and the open tickets registered with it."""
    from kefu.customers import phones

    found = search.find_by_phone(session, phone, actor=actor)
    key = phones.lookup_key(phone)
    form = phones.ticket_form(key) if key else None
    tickets: list[view360.OpenTicket] = []
    hidden = 0
    if len(found) != 1 and form and actor.can_function("tickets.ticket"):
        tickets, hidden = view360.open_tickets_for(session, actor, customer_id=None, phone_forms=[form])
    return PhoneLookup(
        phone=phone,
        customers=[CustomerListItem.of(c) for c in found],
        open_tickets=[OpenTicketRead.model_validate(dataclasses.asdict(t)) for t in tickets],
        hidden_open_tickets=hidden,
    )


@router.get("/{customer_id}/360", response_model=View360Read)
def customer_360(session: SessionDep, actor: Requires(access.VIEW), customer_id: int) -> View360Read:
    """Profile, subscriptions, accounts, recent contacts, open tickets and the business panels to load."""
    customer = access.customer(session, actor, customer_id)
    view = view360.build(session, actor, customer)
    return View360Read(
        customer=read(session, customer, actor),
        parent=CustomerListItem.of(view.parent) if view.parent is not None else None,
        children=view.children,
        subscribers=subscriber_reads(session, customer),
        accounts=[AccountRead.model_validate(a) for a in view.accounts],
        recent_contacts=[ContactRead.of(v) for v in view.recent],
        open_tickets=[OpenTicketRead.model_validate(dataclasses.asdict(t)) for t in view.open_tickets],
        hidden_open_tickets=view.hidden_open_tickets,
        panels=[
            PanelRead(kind=k, label=label, url=f"/api/v1/customers/{customer.id}/business/{k}")
            for k, label in view.panels
        ],
    )


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


@router.get("/{customer_id}/business/{kind}")
def business_query(session: SessionDep, actor: Requires(BUSINESS), customer_id: int, kind: str) -> Any:
    """Ask a business system about the customer (业务查询): `customer_info`, `subscriber`, `billing`,
    `meter`, `installation`. A system that cannot answer gives 502/503/504 with the reason."""
    try:
        source_kind = SourceKind(kind)
    except ValueError:
        raise NotFound() from None
    customer = access.customer(session, actor, customer_id)
    try:
        return _jsonable(registry.ask(session, customer, source_kind))
    except SourceError as exc:
        raise BusinessSystemFailed(exc) from None


__all__ = ["contacts", "router"]
