"""Accounts (账户) and subscribers (用户 / 业务号码) of a customer, with their typed attributes.

Editing them is editing the customer: `customers.customer.edit` on a customer within scope.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock
from kefu.core.errors import Conflict, FieldError, FieldErrors, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.customers import access
from kefu.customers.models import (
    Account,
    AccountStatus,
    Customer,
    CustomerStatus,
    PayMethod,
    Subscriber,
    SubscriberAttribute,
    SubscriberKind,
    SubscriberStatus,
)
from kefu.customers.values import CHOOSE_OFFERED, clean_attributes, clean_service_number, fold_number, text

FUNCTION = "customers.customer"
NUMBER_TAKEN = lazy("This service number is already registered")
ACCOUNT_TAKEN = lazy("This account number is already in use")
NO_SUCH_KIND = lazy("No such subscriber kind")
NO_SUCH_ACCOUNT = lazy("No such account of this customer")
CUSTOMER_CLOSED = lazy("The customer is closed: reopen it first")
ENTER_DATE = lazy("Enter a date as YYYY-MM-DD")
ENDS_BEFORE = lazy("The end must not be before the start")
STALE = lazy("The subscriber was changed by someone else meanwhile: reload it and try again")
ACCOUNT_IN_USE = lazy("Subscribers are billed to this account: move them first")
SUBSCRIBER_FIELDS = (
    "service_number",
    "kind_id",
    "account_id",
    "status",
    "product",
    "opened_on",
    "expires_on",
    "address",
    "note",
)
ACCOUNT_FIELDS = ("account_no", "name", "pay_method", "bank_name", "bank_account", "status")


def _require_edit(session: Session, actor: Actor, customer: Customer) -> None:
    if not actor.can(access.EDIT) or not access.can(session, actor, customer.id, access.EDIT):
        raise PermissionDenied()


def _enum(field: str, cls: Any, value: Any) -> Any:
    try:
        return cls(value)
    except ValueError:
        raise FieldError(field, CHOOSE_OFFERED) from None


def _date(field: str, value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise FieldError(field, ENTER_DATE) from None


class _Errors(list[FieldError]):
    def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FieldErrors as exc:
            self.extend(exc.errors)
        except FieldError as exc:
            self.append(exc)
        return None


# --- accounts -----------------------------------------------------------------------------------------


def _account_values(session: Session, data: dict[str, Any], account: Account | None) -> dict[str, Any]:
    errors = _Errors()
    out: dict[str, Any] = {}
    if "account_no" in data or account is None:
        number = errors.run(text, "account_no", data.get("account_no"), max_len=40, required=True)
        if number:
            number = fold_number(number)
            taken = session.scalar(select(Account.id).where(Account.account_no == number))
            if taken is not None and (account is None or taken != account.id):
                errors.append(FieldError("account_no", ACCOUNT_TAKEN))
            out["account_no"] = number
    if "name" in data or account is None:
        out["name"] = errors.run(text, "name", data.get("name"), max_len=200, required=True)
    if "pay_method" in data:
        out["pay_method"] = errors.run(_enum, "pay_method", PayMethod, data.get("pay_method") or "cash")
    if "status" in data:
        out["status"] = errors.run(_enum, "status", AccountStatus, data.get("status") or "active")
    for key, size in (("bank_name", 100), ("bank_account", 40)):
        if key in data:
            out[key] = errors.run(text, key, data.get(key), max_len=size)
    if errors:
        raise FieldErrors(errors)
    return out


def add_account(session: Session, *, actor: Actor, customer: Customer, data: dict[str, Any]) -> Account:
    _require_edit(session, actor, customer)
    data = {"name": customer.name, **data}
    account = Account(customer_id=customer.id, **_account_values(session, data, None))
    session.add(account)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="customer.account.create",
        function=FUNCTION,
        target=account,
        target_label=account.account_no,
        after={"customer_id": customer.id, **audit.snapshot(account, ACCOUNT_FIELDS)},
    )
    return account


def update_account(
    session: Session, *, actor: Actor, customer: Customer, account: Account, data: dict[str, Any]
) -> Account:
    _require_edit(session, actor, customer)
    before = audit.snapshot(account, ACCOUNT_FIELDS)
    for key, value in _account_values(session, data, account).items():
        setattr(account, key, value)
    session.flush()
    old, new = audit.diff(before, audit.snapshot(account, ACCOUNT_FIELDS))
    audit.record(
        session,
        actor=actor,
        action="customer.account.update",
        function=FUNCTION,
        target=account,
        target_label=account.account_no,
        before=old,
        after=new,
    )
    return account


def delete_account(session: Session, *, actor: Actor, customer: Customer, account: Account) -> None:
    _require_edit(session, actor, customer)
    if session.scalar(select(Subscriber.id).where(Subscriber.account_id == account.id).limit(1)):
        raise Conflict(ACCOUNT_IN_USE)
    audit.record(
        session,
        actor=actor,
        action="customer.account.delete",
        function=FUNCTION,
        target=account,
        target_label=account.account_no,
        before=audit.snapshot(account, ACCOUNT_FIELDS),
    )
    session.delete(account)
    session.flush()


def get_account(session: Session, customer: Customer, account_id: int) -> Account:
    from kefu.core.errors import NotFound

    account = session.get(Account, account_id)
    if account is None or account.customer_id != customer.id:
        raise NotFound()
    return account


# --- subscribers --------------------------------------------------------------------------------------


def _kind(session: Session, value: Any) -> SubscriberKind:
    kind = None
    if isinstance(value, int):
        kind = session.get(SubscriberKind, value)
    elif isinstance(value, str) and value:
        kind = session.scalar(select(SubscriberKind).where(SubscriberKind.code == value))
    if kind is None or not kind.enabled:
        raise FieldError("kind", NO_SUCH_KIND)
    return kind


def _subscriber_values(
    session: Session, customer: Customer, data: dict[str, Any], subscriber: Subscriber | None
) -> tuple[dict[str, Any], dict[int, tuple[str, str]] | None]:
    errors = _Errors()
    out: dict[str, Any] = {}
    kind = subscriber.kind if subscriber else None
    if "kind" in data or subscriber is None:
        kind = errors.run(_kind, session, data.get("kind"))
        if kind is not None:
            out["kind_id"] = kind.id
    if kind is not None and ("service_number" in data or "kind_id" in out):
        raw = data.get("service_number", subscriber.service_number if subscriber else None)
        shown_key = errors.run(clean_service_number, kind, raw)
        if shown_key:
            out["service_number"], out["number_key"] = shown_key
            clash = select(Subscriber.id).where(
                Subscriber.kind_id == kind.id, Subscriber.number_key == shown_key[1]
            )
            taken = session.scalar(clash)
            if taken is not None and (subscriber is None or taken != subscriber.id):
                errors.append(FieldError("service_number", NUMBER_TAKEN))
    if "account_id" in data:
        account_id = data.get("account_id") or None
        if account_id is not None:
            account = session.get(Account, account_id) if isinstance(account_id, int) else None
            if account is None or account.customer_id != customer.id:
                errors.append(FieldError("account_id", NO_SUCH_ACCOUNT))
        out["account_id"] = account_id
    if "status" in data:
        out["status"] = errors.run(_enum, "status", SubscriberStatus, data.get("status") or "active")
    for key, size in (("product", 100), ("address", 300), ("note", 4000)):
        if key in data:
            out[key] = errors.run(text, key, data.get(key), max_len=size)
    for key in ("opened_on", "expires_on"):
        if key in data:
            out[key] = errors.run(_date, key, data.get(key))
    opened = out.get("opened_on", subscriber.opened_on if subscriber else None)
    expires = out.get("expires_on", subscriber.expires_on if subscriber else None)
    if opened and expires and expires < opened:
        errors.append(FieldError("expires_on", ENDS_BEFORE))
    attributes = None
    if kind is not None and ("attributes" in data or subscriber is None or "kind_id" in out):
        same_kind = subscriber is not None and subscriber.kind_id == kind.id
        current = (
            {a.definition.code: a.value for a in subscriber.attributes} if same_kind and subscriber else {}
        )
        attributes = errors.run(
            clean_attributes, session, kind, data.get("attributes") or {}, current=current
        )
    if errors:
        raise FieldErrors(errors)
    return out, attributes


def _set_attributes(subscriber: Subscriber, cleaned: dict[int, tuple[str, str]]) -> None:
    existing = {a.definition_id: a for a in subscriber.attributes}
    for definition_id, row in existing.items():
        if definition_id not in cleaned:
            subscriber.attributes.remove(row)
    for definition_id, (value, key) in cleaned.items():
        found = existing.get(definition_id)
        if found is None:
            subscriber.attributes.append(
                SubscriberAttribute(definition_id=definition_id, value=value, key=key)
            )
        else:
            found.value, found.key = value, key


def _attribute_snapshot(subscriber: Subscriber) -> dict[str, str]:
    return {str(a.definition_id): a.value for a in subscriber.attributes}


def add_subscriber(session: Session, *, actor: Actor, customer: Customer, data: dict[str, Any]) -> Subscriber:
    """A new subscriber of `customer`: `kind` (code or id), `service_number`, `account_id`, `product`,
    `opened_on`, `expires_on`, `address`, `note`, `attributes` {code: value}."""
    _require_edit(session, actor, customer)
    if customer.status is CustomerStatus.CLOSED:
        raise Conflict(CUSTOMER_CLOSED)
    values, attributes = _subscriber_values(session, customer, data, None)
    subscriber = Subscriber(customer_id=customer.id, **values)
    session.add(subscriber)
    _set_attributes(subscriber, attributes or {})
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="customer.subscriber.create",
        function=FUNCTION,
        target=subscriber,
        target_label=subscriber.service_number,
        after={
            "customer_id": customer.id,
            **audit.snapshot(subscriber, SUBSCRIBER_FIELDS),
            "attributes": _attribute_snapshot(subscriber),
        },
    )
    return subscriber


def update_subscriber(
    session: Session,
    *,
    actor: Actor,
    customer: Customer,
    subscriber: Subscriber,
    version: int,
    data: dict[str, Any],
) -> Subscriber:
    _require_edit(session, actor, customer)
    if version != subscriber.lock_version:
        raise Conflict(STALE)
    values, attributes = _subscriber_values(session, customer, data, subscriber)
    before = {**audit.snapshot(subscriber, SUBSCRIBER_FIELDS), "attributes": _attribute_snapshot(subscriber)}
    for key, value in values.items():
        setattr(subscriber, key, value)
    if attributes is not None:
        _set_attributes(subscriber, attributes)
    subscriber.updated_at = clock.now()
    session.flush()
    after = {**audit.snapshot(subscriber, SUBSCRIBER_FIELDS), "attributes": _attribute_snapshot(subscriber)}
    old, new = audit.diff(before, after)
    audit.record(
        session,
        actor=actor,
        action="customer.subscriber.update",
        function=FUNCTION,
        target=subscriber,
        target_label=subscriber.service_number,
        before=old,
        after=new,
    )
    return subscriber


def delete_subscriber(session: Session, *, actor: Actor, customer: Customer, subscriber: Subscriber) -> None:
    """Remove a subscriber entered by mistake (a real one is closed: status `closed`)."""
    _require_edit(session, actor, customer)
    audit.record(
        session,
        actor=actor,
        action="customer.subscriber.delete",
        function=FUNCTION,
        target=subscriber,
        target_label=subscriber.service_number,
        before={
            **audit.snapshot(subscriber, SUBSCRIBER_FIELDS),
            "attributes": _attribute_snapshot(subscriber),
        },
    )
    session.delete(subscriber)
    session.flush()
