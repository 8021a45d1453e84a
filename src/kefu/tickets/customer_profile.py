"""What a known customer's profile supplies to a ticket being registered (TKT-4)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from kefu.core.errors import NotFound
from kefu.core.permissions import Actor
from kefu.customers import access as customer_access
from kefu.customers.contacts import service as contacts
from kefu.customers.contacts.models import ContactRecord, ContactTicket
from kefu.customers.models import Customer
from kefu.customers.phones import ticket_form


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str  # in the tickets' own phone format
    email: str


def contact_of(session: Session, actor: Actor, customer_id: int) -> Contact | None:
    """The customer's name, primary phone and email — None if the registering person may not see the
    customer (for them it does not exist)."""
    try:
        customer = customer_access.customer(session, actor, customer_id)
    except NotFound:
        return None
    return Contact(name=customer.name, phone=_primary_phone(customer), email=_primary_email(customer))


def _primary_phone(customer: Customer) -> str:
    for phone in sorted(customer.phones, key=lambda p: not p.is_primary):
        found = ticket_form(phone.e164)
        if found:
            return found
    return ""


def _primary_email(customer: Customer) -> str:
    return next((e.address for e in sorted(customer.emails, key=lambda e: not e.is_primary)), "")


def contact_record(session: Session, actor: Actor, contact_id: int) -> ContactRecord | None:
    """The interaction a ticket is registered from (the call being handled): one the registering
    person handled, or may see; None otherwise (for them it does not exist)."""
    record = session.get(ContactRecord, contact_id)
    if record is None:
        return None
    if record.agent_id == actor.user.id:
        return record
    try:
        return contacts.load(session, actor, contact_id)
    except NotFound:
        return None


def link_contact(session: Session, *, record: ContactRecord, ticket_id: int) -> None:
    """Note on the interaction that it produced the ticket (the ticket's own audit covers it)."""
    if all(link.ticket_id != ticket_id for link in record.tickets):
        record.tickets.append(ContactTicket(ticket_id=ticket_id))
        session.flush()
