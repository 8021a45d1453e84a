"""Which customers an actor may see or change; missing and forbidden look the same (404)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kefu.core import permissions as core_permissions
from kefu.core.errors import NotFound
from kefu.core.permissions import Actor
from kefu.customers import permissions as _permissions  # noqa: F401 — registers customers.*
from kefu.customers.models import Customer, Subscriber

VIEW = "customers.customer.view"
CREATE = "customers.customer.create"
EDIT = "customers.customer.edit"
DELETE = "customers.customer.delete"


def restrict(stmt: Select[Any], actor: Actor, permission: str = VIEW) -> Select[Any]:
    """`stmt` (over customers) limited to the customers `permission`'s data scope reaches."""
    return core_permissions.restrict(
        stmt, actor, permission, owner=Customer.manager_id, department=Customer.department_id
    )


def visible_ids(actor: Actor, permission: str = VIEW) -> Select[Any]:
    return restrict(select(Customer.id), actor, permission)


def customer(session: Session, actor: Actor, customer_id: int, permission: str = VIEW) -> Customer:
    """The customer if `permission` reaches it, else 404."""
    stmt = restrict(select(Customer).where(Customer.id == customer_id), actor, permission)
    found = session.scalars(stmt).first()
    if found is None:
        raise NotFound()
    return found


def can(session: Session, actor: Actor, customer_id: int, permission: str) -> bool:
    stmt = restrict(select(Customer.id).where(Customer.id == customer_id), actor, permission)
    return session.scalar(stmt) is not None


def subscriber(session: Session, actor: Actor, customer: Customer, subscriber_id: int) -> Subscriber:
    found = session.get(Subscriber, subscriber_id)
    if found is None or found.customer_id != customer.id:
        raise NotFound()
    return found
