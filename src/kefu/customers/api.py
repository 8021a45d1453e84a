"""Customers over HTTP (CON-1): search, the screen-pop lookup by phone, the profile, accounts and
subscribers. Contact records, subscriber kinds, the 360 data and the business queries have routers of
their own (`contacts.api`, `kinds_api`, `view360_api`)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kefu.core.errors import FieldError
from kefu.core.permissions import Actor
from kefu.customers import access, identity, search, service, subscribers
from kefu.customers.models import Account, Customer, CustomerKind, CustomerStatus, Subscriber, SubscriberKind
from kefu.customers.schemas import (
    AccountIn,
    AccountRead,
    AccountUpdate,
    CustomerCreate,
    CustomerListItem,
    CustomerRead,
    CustomerUpdate,
    StatusChange,
    SubscriberIn,
    SubscriberRead,
    SubscriberUpdate,
)
from kefu.customers.values import CHOOSE_OFFERED
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])
VIEW, CREATE, EDIT, DELETE = access.VIEW, access.CREATE, access.EDIT, access.DELETE


def read(session: Session, customer: Customer, actor: Actor) -> CustomerRead:
    """The customer as the API shows it: the identity number in full only to those who may edit."""
    session.flush()
    session.refresh(customer)
    shown = CustomerRead.model_validate(customer)
    if not actor.can(EDIT):
        shown.id_number = identity.mask(shown.id_number) or None
    return shown


def _filters(kind: str | None, tier: str | None, status: str | None) -> search.Filters:
    if kind and kind not in {k.value for k in CustomerKind}:
        raise FieldError("kind", CHOOSE_OFFERED)
    if status and status not in {s.value for s in CustomerStatus}:
        raise FieldError("status", CHOOSE_OFFERED)
    return search.Filters(
        kind=CustomerKind(kind) if kind else None,
        tier=tier or None,
        status=CustomerStatus(status) if status else None,
    )


@router.get("", response_model=list[CustomerListItem])
def search_customers(
    session: SessionDep,
    actor: Requires(VIEW),
    q: str = Query(default="", max_length=100, description="Name, pinyin, initials, phone, ID or number"),
    kind: str | None = None,
    tier: str | None = None,
    status: str | None = None,
    limit: int = Query(default=20, ge=1, le=200),
    offset: int = Query(default=0, ge=0),
) -> list[CustomerListItem]:
    """Find customers by name, pinyin or initials (张三: zhangsan, zs), a phone number in any format,
    an identity number, the customer code, an account number, a service number or a searchable
    subscriber attribute (IMSI, ICCID, meter number …)."""
    found = search.search(session, actor, q, filters=_filters(kind, tier, status), limit=limit, offset=offset)
    return [CustomerListItem.of(c) for c in found]


@router.get("/by-phone", response_model=list[CustomerListItem])
def by_phone(
    session: SessionDep, actor: Requires(VIEW), phone: str = Query(min_length=1, max_length=60)
) -> list[CustomerListItem]:
    """The customers a caller's number belongs to (the screen pop), active ones first."""
    return [CustomerListItem.of(c) for c in search.find_by_phone(session, phone, actor=actor)]


@router.post("", response_model=CustomerRead, status_code=201)
def create_customer(session: SessionDep, actor: Requires(CREATE), body: CustomerCreate) -> CustomerRead:
    """Register a customer with phones, emails and addresses."""
    customer = service.create(session, actor=actor, data=body.model_dump(exclude_unset=True))
    return read(session, customer, actor)


@router.get("/{customer_id}", response_model=CustomerRead)
def get_customer(session: SessionDep, actor: Requires(VIEW), customer_id: int) -> CustomerRead:
    return read(session, access.customer(session, actor, customer_id), actor)


@router.patch("/{customer_id}", response_model=CustomerRead)
def update_customer(
    session: SessionDep, actor: Requires(EDIT), customer_id: int, body: CustomerUpdate
) -> CustomerRead:
    """Change a customer; the `version` read last is required (409 when someone changed it since)."""
    customer = access.customer(session, actor, customer_id, EDIT)
    data = body.model_dump(exclude_unset=True, exclude={"version"})
    customer = service.update(session, actor=actor, customer=customer, version=body.version, data=data)
    return read(session, customer, actor)


@router.post("/{customer_id}/status", response_model=CustomerRead)
def change_status(
    session: SessionDep, actor: Requires(EDIT), customer_id: int, body: StatusChange
) -> CustomerRead:
    """Close (销户) or reopen a customer."""
    customer = access.customer(session, actor, customer_id, EDIT)
    try:
        status = CustomerStatus(body.status)
    except ValueError:
        raise FieldError("status", CHOOSE_OFFERED) from None
    customer = service.set_status(
        session, actor=actor, customer=customer, version=body.version, status=status
    )
    return read(session, customer, actor)


@router.delete("/{customer_id}", status_code=204)
def delete_customer(session: SessionDep, actor: Requires(DELETE), customer_id: int) -> Response:
    """Remove a customer registered by mistake; one with history answers 409 (close it instead)."""
    service.delete(session, actor=actor, customer=access.customer(session, actor, customer_id, DELETE))
    return Response(status_code=204)


@router.get("/{customer_id}/children", response_model=list[CustomerListItem])
def children(session: SessionDep, actor: Requires(VIEW), customer_id: int) -> list[CustomerListItem]:
    """The customers whose parent customer (上级客户) this is, within scope."""
    parent = access.customer(session, actor, customer_id)
    stmt = access.restrict(select(Customer).where(Customer.parent_id == parent.id), actor)
    stmt = stmt.options(selectinload(Customer.phones)).order_by(Customer.name).limit(500)
    return [CustomerListItem.of(c) for c in session.scalars(stmt)]


# --- accounts -----------------------------------------------------------------------------------------


@router.get("/{customer_id}/accounts", response_model=list[AccountRead])
def list_accounts(session: SessionDep, actor: Requires(VIEW), customer_id: int) -> list[Account]:
    customer = access.customer(session, actor, customer_id)
    return list(
        session.scalars(select(Account).where(Account.customer_id == customer.id).order_by(Account.id))
    )


@router.post("/{customer_id}/accounts", response_model=AccountRead, status_code=201)
def add_account(session: SessionDep, actor: Requires(EDIT), customer_id: int, body: AccountIn) -> Account:
    customer = access.customer(session, actor, customer_id, EDIT)
    return subscribers.add_account(
        session, actor=actor, customer=customer, data=body.model_dump(exclude_unset=True)
    )


@router.patch("/{customer_id}/accounts/{account_id}", response_model=AccountRead)
def update_account(
    session: SessionDep, actor: Requires(EDIT), customer_id: int, account_id: int, body: AccountUpdate
) -> Account:
    customer = access.customer(session, actor, customer_id, EDIT)
    account = subscribers.get_account(session, customer, account_id)
    data = body.model_dump(exclude_unset=True)
    return subscribers.update_account(session, actor=actor, customer=customer, account=account, data=data)


@router.delete("/{customer_id}/accounts/{account_id}", status_code=204)
def delete_account(session: SessionDep, actor: Requires(EDIT), customer_id: int, account_id: int) -> Response:
    customer = access.customer(session, actor, customer_id, EDIT)
    account = subscribers.get_account(session, customer, account_id)
    subscribers.delete_account(session, actor=actor, customer=customer, account=account)
    return Response(status_code=204)


# --- subscribers --------------------------------------------------------------------------------------


def _subscriber_options():  # type: ignore[no-untyped-def]
    return (
        selectinload(Subscriber.attributes),
        selectinload(Subscriber.kind).selectinload(SubscriberKind.attributes),
    )


def subscriber_reads(session: Session, customer: Customer) -> list[SubscriberRead]:
    stmt = (
        select(Subscriber)
        .where(Subscriber.customer_id == customer.id)
        .options(*_subscriber_options())
        .order_by(Subscriber.status, Subscriber.id)
    )
    return [SubscriberRead.of(s) for s in session.scalars(stmt)]


@router.get("/{customer_id}/subscribers", response_model=list[SubscriberRead])
def list_subscribers(session: SessionDep, actor: Requires(VIEW), customer_id: int) -> list[SubscriberRead]:
    """The customer's subscribers / service numbers with their attributes."""
    return subscriber_reads(session, access.customer(session, actor, customer_id))


@router.post("/{customer_id}/subscribers", response_model=SubscriberRead, status_code=201)
def add_subscriber(
    session: SessionDep, actor: Requires(EDIT), customer_id: int, body: SubscriberIn
) -> SubscriberRead:
    customer = access.customer(session, actor, customer_id, EDIT)
    found = subscribers.add_subscriber(session, actor=actor, customer=customer, data=body.model_dump())
    session.refresh(found)
    return SubscriberRead.of(found)


@router.patch("/{customer_id}/subscribers/{subscriber_id}", response_model=SubscriberRead)
def update_subscriber(
    session: SessionDep, actor: Requires(EDIT), customer_id: int, subscriber_id: int, body: SubscriberUpdate
) -> SubscriberRead:
    customer = access.customer(session, actor, customer_id, EDIT)
    found = access.subscriber(session, actor, customer, subscriber_id)
    data = body.model_dump(exclude_unset=True, exclude={"version"})
    found = subscribers.update_subscriber(
        session, actor=actor, customer=customer, subscriber=found, version=body.version, data=data
    )
    session.refresh(found)
    return SubscriberRead.of(found)


@router.delete("/{customer_id}/subscribers/{subscriber_id}", status_code=204)
def delete_subscriber(
    session: SessionDep, actor: Requires(EDIT), customer_id: int, subscriber_id: int
) -> Response:
    customer = access.customer(session, actor, customer_id, EDIT)
    found = access.subscriber(session, actor, customer, subscriber_id)
    subscribers.delete_subscriber(session, actor=actor, customer=customer, subscriber=found)
    return Response(status_code=204)
