"""Finding customers (CON-1): by name, pinyin or initials (张三 → zhangsan / zs), by a phone number
typed any way, by identity number, customer code, account number, service number or a searchable
subscriber attribute (IMSI, ICCID, meter number …) — and `find_by_phone`, the screen pop's lookup.

Every path is an index lookup: names by a prefix range on `customer_name_key.key` (walked in key
order and cut at the page size), numbers by equality on their folded keys. Results pass through the
actor's data scope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, select, union
from sqlalchemy.orm import Session, selectinload

from kefu.core.permissions import Actor
from kefu.customers import access, names, phones
from kefu.customers.models import (
    Account,
    AttributeDefinition,
    Customer,
    CustomerKind,
    CustomerNameKey,
    CustomerPhone,
    CustomerStatus,
    NumberFormat,
    Subscriber,
    SubscriberAttribute,
    SubscriberKind,
)
from kefu.customers.values import fold_number

_NUMBERISH = re.compile(r"(?=.*[0-9])[0-9A-Za-z+()\-\s./]+")
_PHONEISH = re.compile(r"\+?[0-9()\-\s]{5,}(\s*(转|ext\.?|x)\s*\d+)?", re.IGNORECASE)
MAX_LIMIT = 200


@dataclass(frozen=True)
class Filters:
    kind: CustomerKind | None = None
    tier: str | None = None
    status: CustomerStatus | None = None


def _upper_bound(prefix: str) -> str:
    """The smallest string above every string starting with `prefix` (in code point order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _filtered(stmt: Select[tuple[Customer]], actor: Actor, filters: Filters) -> Select[tuple[Customer]]:
    return _restricted(stmt, actor, filters).options(selectinload(Customer.phones))


def _restricted(stmt: Select[Any], actor: Actor, filters: Filters) -> Select[Any]:
    """`stmt` (which selects from customer) limited by the filters and the actor's data scope."""
    if filters.kind is not None:
        stmt = stmt.where(Customer.kind == filters.kind)
    if filters.tier:
        stmt = stmt.where(Customer.tier == filters.tier)
    if filters.status is not None:
        stmt = stmt.where(Customer.status == filters.status)
    return access.restrict(stmt, actor)


def _by_name(
    session: Session, actor: Actor, key: str, filters: Filters, limit: int, offset: int
) -> list[Customer]:
    # Ids first, in the key index's own order (key, customer_id) so that nothing is sorted before the
    # LIMIT; a customer may match with two keys (name and pinyin), hence the margin and the dedupe.
    # Only the page's customers are then loaded as objects, with their phones.
    ids_stmt = (
        select(CustomerNameKey.customer_id)
        .join(Customer, Customer.id == CustomerNameKey.customer_id)
        .where(CustomerNameKey.key >= key, CustomerNameKey.key < _upper_bound(key))
        .order_by(CustomerNameKey.key, CustomerNameKey.customer_id)
        .limit((offset + limit) * 3 + 10)
    )
    ids = list(dict.fromkeys(session.scalars(_restricted(ids_stmt, actor, filters))))[offset : offset + limit]
    if not ids:
        return []
    rows = session.scalars(
        select(Customer).where(Customer.id.in_(ids)).options(selectinload(Customer.phones))
    )
    by_id = {customer.id: customer for customer in rows}
    return [by_id[i] for i in ids if i in by_id]


def number_matches(key: str, phone_key: str | None, raw: str = "") -> Select[tuple[int]]:
    """Ids of customers a number points at: phone, service number, searchable attribute, identity
    number, customer code or account number."""
    parts: list[Select[tuple[int]]] = [
        select(Subscriber.customer_id).where(Subscriber.number_key == key),
        select(Subscriber.customer_id)
        .join(SubscriberAttribute, SubscriberAttribute.subscriber_id == Subscriber.id)
        .join(AttributeDefinition, AttributeDefinition.id == SubscriberAttribute.definition_id)
        .where(SubscriberAttribute.key == key, AttributeDefinition.searchable.is_(True)),
        select(Customer.id).where(Customer.id_number == key),
        select(Customer.id).where(Customer.code.in_({key, raw or key})),
        select(Account.customer_id).where(Account.account_no == key),
    ]
    if phone_key:
        parts.append(select(CustomerPhone.customer_id).where(CustomerPhone.e164 == phone_key))
        parts.append(select(Subscriber.customer_id).where(Subscriber.number_key == phone_key))
    return union(*parts)  # type: ignore[return-value]


def search(
    session: Session,
    actor: Actor,
    query: str = "",
    *,
    filters: Filters | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[Customer]:
    """Customers matching `query`, phones and tier loaded for lists. An empty query lists the newest."""
    filters = filters or Filters()
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    text = (query or "").strip()[:100]
    if not text:
        stmt = select(Customer).order_by(Customer.id.desc()).offset(offset).limit(limit)
        found = list(session.scalars(_filtered(stmt, actor, filters)))
    elif _NUMBERISH.fullmatch(text):
        phone_key = phones.lookup_key(text) if _PHONEISH.fullmatch(text) else None
        ids = number_matches(fold_number(text), phone_key, text).subquery()
        stmt = select(Customer).where(Customer.id.in_(select(ids.c[0])))
        stmt = stmt.order_by(Customer.name, Customer.id).offset(offset).limit(limit)
        found = list(session.scalars(_filtered(stmt, actor, filters)))
    else:
        key = names.fold(text)
        found = _by_name(session, actor, key, filters, limit, offset) if key else []
    return found


def phone_customer_ids(key: str) -> Select[tuple[int]]:
    """Ids of customers whose phone, or whose subscriber's phone-kind service number, is `key` (E.164)."""
    by_phone = select(CustomerPhone.customer_id).where(CustomerPhone.e164 == key)
    by_line = (
        select(Subscriber.customer_id)
        .join(SubscriberKind, SubscriberKind.id == Subscriber.kind_id)
        .where(Subscriber.number_key == key, SubscriberKind.number_format == NumberFormat.PHONE)
    )
    return union(by_phone, by_line)  # type: ignore[return-value]


def find_by_phone(
    session: Session, phone: str, *, actor: Actor | None = None, limit: int = 20
) -> list[Customer]:
    """The customers a caller's number belongs to (the screen pop, 来电弹屏): active ones first.

    Without `actor` (the call center's own lookup) no data scope applies; with one, the actor's does.
    Any format is accepted; a number that cannot be a phone number finds nobody.
    """
    key = phones.lookup_key(phone)
    if key is None:
        return []
    ids = phone_customer_ids(key).subquery()
    stmt = (
        select(Customer)
        .where(Customer.id.in_(select(ids.c[0])))
        .order_by(case((Customer.status == CustomerStatus.ACTIVE, 0), else_=1), Customer.id)
        .limit(limit)
    )
    if actor is not None:
        stmt = access.restrict(stmt, actor)
    return list(session.scalars(stmt.options(selectinload(Customer.phones))))
