"""Customers (CON-1): create, change, close / reopen and delete, each checked, audited and announced.

Every function takes the session first and the rest by keyword, never commits, and leaves nothing
written when it refuses: all input is checked (`profile.clean_profile`) before the first change.
`customer.created` / `customer.changed` go out on the events interface after commit (INT-3).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock, events
from kefu.core.errors import Conflict, FieldError, FieldErrors, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.customers import access, names
from kefu.customers.models import (
    Account,
    Customer,
    CustomerAddress,
    CustomerEmail,
    CustomerNameKey,
    CustomerPhone,
    CustomerStatus,
    Subscriber,
    SubscriberStatus,
)
from kefu.customers.profile import Cleaned, clean_profile, id_taken

FUNCTION = "customers.customer"
CUSTOMER_CREATED = "customer.created"
CUSTOMER_CHANGED = "customer.changed"
MAX_DEPTH = 10
FIELDS = (
    "code",
    "kind",
    "name",
    "status",
    "tier",
    "parent_id",
    "id_type",
    "id_number",
    "contact_person",
    "note",
    "department_id",
    "manager_id",
)
STALE = lazy("The customer was changed by someone else meanwhile: reload it and try again")
CODE_TAKEN = lazy("This code is already in use")
ID_TAKEN = lazy("This document is already registered for another customer")
NO_SUCH_CUSTOMER = lazy("No such customer")
OWN_PARENT = lazy("A customer cannot be its own parent customer, directly or through others")
TOO_DEEP = lazy("Parent customers may be nested at most %(max)s levels deep")
OUT_OF_SCOPE = lazy("You could not see this customer afterwards: choose a department within your data scope")
HAS_ACTIVE = lazy("Close or move the customer's active subscribers first")
HAS_HISTORY = lazy(
    "This customer has subscribers, accounts, contacts, tickets or child customers: close it instead"
)
ALREADY_CLOSED = lazy("The customer is already closed")
ALREADY_ACTIVE = lazy("The customer is already active")


def _snapshot(customer: Customer) -> dict[str, Any]:
    return audit.snapshot(customer, FIELDS)


def _check_parent(session: Session, actor: Actor, customer: Customer | None, parent_id: int | None) -> None:
    if parent_id is None:
        return
    if not isinstance(parent_id, int) or not access.can(session, actor, parent_id, access.VIEW):
        raise FieldError("parent_id", NO_SUCH_CUSTOMER)
    seen, current, depth = set(), parent_id, 1
    while current is not None:
        if customer is not None and current == customer.id:
            raise FieldError("parent_id", OWN_PARENT)
        if current in seen:  # an old cycle written around the service: refuse to extend it
            raise FieldError("parent_id", OWN_PARENT)
        seen.add(current)
        depth += 1
        if depth > MAX_DEPTH:
            raise FieldError("parent_id", TOO_DEEP, max=MAX_DEPTH)
        current = session.scalar(select(Customer.parent_id).where(Customer.id == current))


def _check_unique(session: Session, cleaned: Cleaned, customer: Customer | None) -> None:
    errors: list[FieldError] = []
    other = customer.id if customer else None
    code = cleaned.values.get("code")
    if code:
        taken = session.scalar(select(Customer.id).where(Customer.code == code))
        if taken is not None and taken != other:
            errors.append(FieldError("code", CODE_TAKEN))
    id_type = cleaned.values.get("id_type")
    id_number = cleaned.values.get("id_number")
    if id_type and id_number and id_taken(session, id_type, id_number, other_than=other):
        errors.append(FieldError("id_number", ID_TAKEN))
    if errors:
        raise FieldErrors(errors)


def _apply(customer: Customer, cleaned: Cleaned) -> None:
    for key, value in cleaned.values.items():
        setattr(customer, key, value)
    if cleaned.phones is not None:
        customer.phones = [CustomerPhone(**p) for p in cleaned.phones]
    if cleaned.emails is not None:
        customer.emails = [CustomerEmail(**e) for e in cleaned.emails]
    if cleaned.addresses is not None:
        customer.addresses = [CustomerAddress(**a) for a in cleaned.addresses]
    customer.pinyin = names.display_pinyin(customer.name, person=customer.is_person)
    wanted = names.search_keys(customer.name, person=customer.is_person)
    have = {(k.kind, k.key): k for k in customer.name_keys}
    for pair, row in have.items():
        if pair not in wanted:
            customer.name_keys.remove(row)
    for kind, key in sorted(wanted - have.keys()):
        customer.name_keys.append(CustomerNameKey(kind=kind, key=key))


def _details(cleaned: Cleaned) -> dict[str, Any]:
    """What the audit row keeps of the lists (numbers, addresses) besides the plain fields."""
    out: dict[str, Any] = {}
    if cleaned.phones is not None:
        out["phones"] = [p["e164"] for p in cleaned.phones]
    if cleaned.emails is not None:
        out["emails"] = [e["address"] for e in cleaned.emails]
    if cleaned.addresses is not None:
        out["addresses"] = [f"{a['region']} {a['detail']}".strip() for a in cleaned.addresses]
    return out


def _announce(session: Session, customer: Customer, event_type: str) -> None:
    events.on_commit(
        session,
        events.Event(type=event_type, data={"id": customer.id, "code": customer.code, "name": customer.name}),
    )


def _checked(session: Session, actor: Actor, data: dict[str, Any], customer: Customer | None) -> Cleaned:
    """Every check at once: the fields, the parent (no cycles), unique code and document."""
    errors: list[FieldError] = []
    cleaned: Cleaned | None = None
    try:
        cleaned = clean_profile(session, data, customer=customer)
    except FieldErrors as exc:
        errors.extend(exc.errors)
    if "parent_id" in data:
        try:
            _check_parent(session, actor, customer, data.get("parent_id") or None)
        except FieldError as exc:
            errors.append(exc)
    if cleaned is not None:
        try:
            _check_unique(session, cleaned, customer)
        except FieldErrors as exc:
            errors.extend(exc.errors)
    if errors or cleaned is None:
        raise FieldErrors(errors)
    return cleaned


def create(session: Session, *, actor: Actor, data: dict[str, Any]) -> Customer:
    """Register a customer. `data` holds the profile fields (see `profile.clean_profile`) and may
    hold `phones`, `emails` and `addresses` lists. The new customer belongs to the actor's department
    unless `department_id` says otherwise, and must lie within the actor's data scope."""
    if not actor.can(access.CREATE):
        raise PermissionDenied()
    data = dict(data)
    data.setdefault("department_id", actor.user.department_id)
    cleaned = _checked(session, actor, data, None)
    customer = Customer(created_by_id=actor.user.id, status=CustomerStatus.ACTIVE)
    _apply(customer, cleaned)
    session.add(customer)
    session.flush()
    if not customer.code:
        customer.code = f"KH{customer.id:08d}"
    session.flush()
    if not access.can(session, actor, customer.id, access.CREATE):
        raise FieldError("department_id", OUT_OF_SCOPE)
    audit.record(
        session,
        actor=actor,
        action="customer.create",
        function=FUNCTION,
        target=customer,
        after={**_snapshot(customer), **_details(cleaned)},
    )
    _announce(session, customer, CUSTOMER_CREATED)
    return customer


def update(
    session: Session, *, actor: Actor, customer: Customer, version: int, data: dict[str, Any]
) -> Customer:
    """Change the fields present in `data`; lists given replace the customer's lists. A stale
    `version` is a 409."""
    if not actor.can(access.EDIT):
        raise PermissionDenied()
    if version != customer.lock_version:
        raise Conflict(STALE)
    cleaned = _checked(session, actor, data, customer)
    before = _snapshot(customer)
    _apply(customer, cleaned)
    customer.updated_at = clock.now()
    session.flush()
    if not access.can(session, actor, customer.id, access.EDIT):
        raise FieldError("department_id", OUT_OF_SCOPE)
    old, new = audit.diff(before, _snapshot(customer))
    audit.record(
        session,
        actor=actor,
        action="customer.update",
        function=FUNCTION,
        target=customer,
        before=old,
        after={**new, **_details(cleaned)},
    )
    _announce(session, customer, CUSTOMER_CHANGED)
    return customer


def set_status(
    session: Session, *, actor: Actor, customer: Customer, version: int, status: CustomerStatus
) -> Customer:
    """Close (销户) or reopen a customer. Closing needs every subscriber closed or suspended first."""
    if not actor.can(access.EDIT):
        raise PermissionDenied()
    if version != customer.lock_version:
        raise Conflict(STALE)
    if customer.status is status:
        raise Conflict(ALREADY_CLOSED if status is CustomerStatus.CLOSED else ALREADY_ACTIVE)
    if status is CustomerStatus.CLOSED:
        active = select(Subscriber.id).where(
            Subscriber.customer_id == customer.id, Subscriber.status == SubscriberStatus.ACTIVE
        )
        if session.scalar(active.limit(1)) is not None:
            raise Conflict(HAS_ACTIVE)
    before = customer.status
    customer.status = status
    customer.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="customer.close" if status is CustomerStatus.CLOSED else "customer.reopen",
        function=FUNCTION,
        target=customer,
        before={"status": before.value},
        after={"status": status.value},
    )
    _announce(session, customer, CUSTOMER_CHANGED)
    return customer


def delete(session: Session, *, actor: Actor, customer: Customer) -> None:
    """Remove a customer registered by mistake. One with any history is closed instead (409)."""
    from kefu.customers.contacts.models import ContactRecord
    from kefu.tickets.models import Ticket

    if not actor.can(access.DELETE):
        raise PermissionDenied()
    history = (
        exists().where(Customer.parent_id == customer.id),
        exists().where(Subscriber.customer_id == customer.id),
        exists().where(Account.customer_id == customer.id),
        exists().where(ContactRecord.customer_id == customer.id),
        exists().where(Ticket.customer_id == customer.id),
    )
    if any(session.scalar(select(e)) for e in history):
        raise Conflict(HAS_HISTORY)
    audit.record(
        session,
        actor=actor,
        action="customer.delete",
        function=FUNCTION,
        target=customer,
        before=_snapshot(customer),
    )
    session.delete(customer)
    session.flush()
