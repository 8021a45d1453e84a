"""Which implementation answers each kind, its configuration (administrators, `customers.config.edit`)
and the one call the 360 view and the API make: `ask(session, customer, kind)`.

Breakers live per process, keyed by the configuration row and its `updated_at`: changing a system's
configuration starts it with a closed circuit.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock
from kefu.core.errors import FieldError, FieldErrors, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.customers.adapters.base import OPERATIONS, CustomerRef, SourceError, SourceKind
from kefu.customers.adapters.breaker import CircuitBreaker
from kefu.customers.adapters.demo import DemoSource
from kefu.customers.adapters.http import PLACEHOLDERS, HttpConfig, HttpSource
from kefu.customers.adapters.models import BusinessSystem, Implementation
from kefu.customers.models import Account, Customer, Subscriber, SubscriberKind
from kefu.customers.values import text

FUNCTION = "customers.config"
EDIT = "customers.config.edit"
DEFAULT_PATHS = {
    SourceKind.CUSTOMER_INFO: "/customers/{customer_code}",
    SourceKind.SUBSCRIBER: "/customers/{customer_code}/services",
    SourceKind.BILLING: "/customers/{customer_code}/billing",
    SourceKind.METER: "/customers/{customer_code}/meter-readings",
    SourceKind.INSTALLATION: "/customers/{customer_code}/installations",
}
FIELDS = (
    "implementation",
    "base_url",
    "path",
    "timeout_seconds",
    "retries",
    "auth_header",
    "failure_threshold",
    "cooldown_seconds",
)
ENTER_URL = lazy("Enter an http:// or https:// address")
BAD_PATH = lazy("Start with / and use only the placeholders %(names)s")
OUT_OF_RANGE = lazy("Must be between %(lo)s and %(hi)s")
CHOOSE_OFFERED = lazy("Choose one of the offered values")
_HEADER = re.compile(r"[A-Za-z0-9-]{1,100}")

_breakers: dict[tuple[str, str], CircuitBreaker] = {}
_lock = threading.Lock()


def breaker_for(system: BusinessSystem) -> CircuitBreaker:
    key = (system.kind, system.updated_at.isoformat())
    with _lock:
        found = _breakers.get(key)
        if found is None:
            for old in [k for k in _breakers if k[0] == system.kind]:
                del _breakers[old]
            found = _breakers[key] = CircuitBreaker(
                threshold=system.failure_threshold, cooldown=float(system.cooldown_seconds)
            )
        return found


def reset_breakers() -> None:
    with _lock:
        _breakers.clear()


def systems(session: Session) -> dict[SourceKind, BusinessSystem]:
    """The configuration of every kind (unsaved defaults, implementation off, where none is stored)."""
    stored = {s.kind: s for s in session.scalars(select(BusinessSystem))}
    return {
        kind: stored.get(kind.value)
        or BusinessSystem(
            kind=kind.value,
            implementation=Implementation.OFF.value,
            base_url="",
            path=DEFAULT_PATHS[kind],
            timeout_seconds=3.0,
            retries=1,
            auth_header="Authorization",
            auth_value="",
            failure_threshold=5,
            cooldown_seconds=30,
            updated_at=clock.now(),
        )
        for kind in SourceKind
    }


def source_for(session: Session, kind: SourceKind) -> Any | None:
    """The implementation of `kind`'s interface, or None when the kind is switched off."""
    system = session.scalar(select(BusinessSystem).where(BusinessSystem.kind == kind.value))
    if system is None or system.implementation == Implementation.OFF:
        return None
    if system.implementation == Implementation.DEMO:
        return DemoSource()
    config = HttpConfig(
        base_url=system.base_url,
        path=system.path or DEFAULT_PATHS[kind],
        timeout=system.timeout_seconds,
        retries=system.retries,
        auth_header=system.auth_header,
        auth_value=system.auth_value,
    )
    return HttpSource(kind, config, breaker_for(system))


def customer_ref(session: Session, customer: Customer) -> CustomerRef:
    rows = session.execute(
        select(Subscriber.service_number, Subscriber.kind_id)
        .where(Subscriber.customer_id == customer.id)
        .order_by(Subscriber.id)
    ).all()
    kinds = dict(session.execute(select(SubscriberKind.id, SubscriberKind.code)).tuples().all())
    accounts = session.scalars(select(Account.account_no).where(Account.customer_id == customer.id)).all()
    return CustomerRef(
        id=customer.id,
        code=customer.code or str(customer.id),
        name=customer.name,
        service_numbers=tuple(re.sub(r"[\s\-]", "", r.service_number) for r in rows),
        subscriber_kinds=tuple(kinds.get(r.kind_id, "") for r in rows),
        account_nos=tuple(accounts),
    )


def ask(session: Session, customer: Customer, kind: SourceKind) -> Any:
    """The answer of `kind`'s system about `customer`; SourceError when it cannot answer."""
    source = source_for(session, kind)
    if source is None:
        raise SourceError(SourceError.NOT_CONFIGURED, reason="not_configured")
    ref = customer_ref(session, customer)
    return getattr(source, OPERATIONS[kind])(ref)


# --- configuration ----------------------------------------------------------------------------------


def _number(field: str, value: Any, lo: float, hi: float, cast: type) -> Any:
    try:
        number = cast(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not lo <= number <= hi:
        raise FieldError(field, OUT_OF_RANGE, lo=lo, hi=hi)
    return number


def _url(value: Any) -> str:
    url = text("base_url", value, max_len=300)
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FieldError("base_url", ENTER_URL)
    return url


def _path(value: Any) -> str:
    path = text("path", value, max_len=300, required=True)
    names = set(re.findall(r"\{([^{}]*)\}", path))
    if not path.startswith("/") or not names <= set(PLACEHOLDERS) or path.count("{") != path.count("}"):
        raise FieldError("path", BAD_PATH, names=", ".join("{" + n + "}" for n in PLACEHOLDERS))
    return path


def configure(session: Session, *, actor: Actor, kind: SourceKind, data: dict[str, Any]) -> BusinessSystem:
    """Set `kind`'s implementation and connection settings. `auth_value` None keeps the stored secret."""
    if not actor.can(EDIT):
        raise PermissionDenied()
    system = session.scalar(select(BusinessSystem).where(BusinessSystem.kind == kind.value))
    is_new = system is None
    if system is None:
        system = systems(session)[kind]
    before = audit.snapshot(system, FIELDS) if not is_new else {}
    errors: list[FieldError] = []

    def run(key: str, fn: Any, *args: Any) -> None:
        if key not in data:
            return
        try:
            setattr(system, key, fn(*args))
        except FieldError as exc:
            errors.append(exc)

    implementation = data.get("implementation", system.implementation)
    if implementation not in {i.value for i in Implementation}:
        errors.append(FieldError("implementation", CHOOSE_OFFERED))
    else:
        system.implementation = implementation
    run("base_url", _url, data.get("base_url"))
    run("path", _path, data.get("path"))
    run("timeout_seconds", _number, "timeout_seconds", data.get("timeout_seconds"), 0.1, 60, float)
    run("retries", _number, "retries", data.get("retries"), 0, 5, int)
    run("failure_threshold", _number, "failure_threshold", data.get("failure_threshold"), 1, 100, int)
    run("cooldown_seconds", _number, "cooldown_seconds", data.get("cooldown_seconds"), 1, 3600, int)
    if "auth_header" in data:
        header = (data.get("auth_header") or "").strip() or "Authorization"
        if not _HEADER.fullmatch(header):
            errors.append(FieldError("auth_header", CHOOSE_OFFERED))
        system.auth_header = header
    secret_changed = data.get("auth_value") is not None
    if secret_changed:
        try:
            system.auth_value = text("auth_value", data["auth_value"], max_len=500)
        except FieldError as exc:
            errors.append(exc)
    if system.implementation == Implementation.HTTP and not system.base_url:
        errors.append(FieldError("base_url", ENTER_URL))
    if errors:
        if not is_new:
            session.expire(system)
        raise FieldErrors(errors)
    system.updated_at = clock.now()
    if is_new:
        session.add(system)
    session.flush()
    old, new = audit.diff(before, audit.snapshot(system, FIELDS))
    audit.record(
        session,
        actor=actor,
        action="customers.business_system.configure",
        function=FUNCTION,
        target=system,
        target_label=kind.value,
        before=old,
        after={**new, **({"auth_value": "(changed)"} if secret_changed else {})},
    )
    return system
