"""The customer 360 view (CON-3): what an agent sees at once when a customer calls — the profile,
subscriptions and accounts, recent contacts, open tickets — gathered in a fixed number of queries.
The business systems' panels (bills, arrears, meter readings, installation progress) are *not* asked
here: each is loaded on its own (`adapters.registry.ask`), so a slow system delays only its panel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from kefu.core.permissions import Actor
from kefu.customers import phones
from kefu.customers.adapters.base import SOURCE_LABELS, SourceKind
from kefu.customers.adapters.models import BusinessSystem, Implementation
from kefu.customers.contacts import service as contacts
from kefu.customers.models import Account, Customer, NumberFormat, Subscriber, SubscriberKind

RECENT_CONTACTS = 10
OPEN_TICKETS = 20


@dataclass
class OpenTicket:
    id: int
    serial: str
    subject: str
    status: str
    stage: str
    created_at: datetime


@dataclass
class View360:
    customer: Customer
    parent: Customer | None = None
    children: int = 0
    subscribers: list[Subscriber] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    recent: list[contacts.ContactView] = field(default_factory=list)
    open_tickets: list[OpenTicket] = field(default_factory=list)
    hidden_open_tickets: int = 0
    panels: list[tuple[str, str]] = field(default_factory=list)  # (kind, label) of the configured systems


def ticket_phones(customer: Customer, subscribers: list[Subscriber]) -> list[str]:
    """The customer's numbers in the form tickets keep them (`13800138000`, `010-12345678`)."""
    keys = [p.e164 for p in customer.phones]
    keys += [s.number_key for s in subscribers if s.kind.number_format is NumberFormat.PHONE]
    return sorted({form for key in keys if (form := phones.ticket_form(key))})


def open_tickets_for(
    session: Session, actor: Actor, *, customer_id: int | None, phone_forms: list[str]
) -> tuple[list[OpenTicket], int]:
    """Open tickets of the customer (linked by id, or registered with one of its numbers and no
    customer id): those the actor may see, and how many more there are beyond the actor's view."""
    from kefu.tickets import access as ticket_access
    from kefu.tickets.models import Ticket, TicketStatus

    matches = []
    if customer_id is not None:
        matches.append(Ticket.customer_id == customer_id)
    if phone_forms:
        matches.append((Ticket.customer_phone.in_(phone_forms)) & Ticket.customer_id.is_(None))
    if not matches:
        return [], 0
    active = Ticket.status.in_([TicketStatus.OPEN, TicketStatus.SUSPENDED])
    base = select(Ticket).where(active, or_(*matches))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    stmt = ticket_access.restrict(base, actor).order_by(Ticket.created_at.desc()).limit(OPEN_TICKETS)
    visible = [
        OpenTicket(t.id, t.serial, t.subject, t.status.value, t.stage, t.created_at)
        for t in session.scalars(stmt)
    ]
    hidden_stmt = select(func.count()).select_from(ticket_access.restrict(base, actor).subquery())
    hidden = total - (session.scalar(hidden_stmt) or 0)
    return visible, hidden


def panels(session: Session) -> list[tuple[str, str]]:
    """The business-system panels to show: the kinds with an implementation switched on."""
    on = set(
        session.scalars(
            select(BusinessSystem.kind).where(BusinessSystem.implementation != Implementation.OFF.value)
        )
    )
    return [(kind.value, SOURCE_LABELS[kind]) for kind in SourceKind if kind.value in on]


def build(session: Session, actor: Actor, customer: Customer) -> View360:
    """Everything of the 360 view but the business systems' panels. The caller has checked that the
    actor may see the customer."""
    view = View360(customer=customer)
    if customer.parent_id is not None:
        view.parent = session.get(Customer, customer.parent_id)
    view.children = session.scalar(select(func.count()).where(Customer.parent_id == customer.id)) or 0
    view.subscribers = list(
        session.scalars(
            select(Subscriber)
            .where(Subscriber.customer_id == customer.id)
            .options(
                selectinload(Subscriber.attributes),
                selectinload(Subscriber.kind).selectinload(SubscriberKind.attributes),
            )
            .order_by(Subscriber.status, Subscriber.id)
        )
    )
    view.accounts = list(
        session.scalars(select(Account).where(Account.customer_id == customer.id).order_by(Account.id))
    )
    if actor.can(contacts.VIEW):
        view.recent = contacts.timeline(session, customer=customer, limit=RECENT_CONTACTS)
    if actor.can_function("tickets.ticket"):
        view.open_tickets, view.hidden_open_tickets = open_tickets_for(
            session, actor, customer_id=customer.id, phone_forms=ticket_phones(customer, view.subscribers)
        )
    if actor.can("customers.business.view"):
        view.panels = panels(session)
    return view
