"""What a known customer's profile supplies to a ticket being registered (TKT-4)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from kefu.core.errors import NotFound
from kefu.core.permissions import Actor
from kefu.customers import access as customer_access
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
