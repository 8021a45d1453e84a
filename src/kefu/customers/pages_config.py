"""Pages of contact records and of the customer configuration: the contact list (接触记录查询), the
subscriber kinds with their attributes, and the business systems (业务系统接口) with a connection test."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from kefu.core import i18n
from kefu.core.errors import KefuError, NotFound
from kefu.core.i18n import lazy
from kefu.customers import kinds, page_forms
from kefu.customers.adapters import registry
from kefu.customers.adapters.base import OPERATIONS, SOURCE_LABELS, CustomerRef, SourceError, SourceKind
from kefu.customers.adapters.models import Implementation
from kefu.customers.contacts import service as contacts
from kefu.customers.models import AttributeType, NumberFormat
from kefu.customers.pages import FormDep
from kefu.web import nav
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import field_errors
from kefu.web.templating import render

router = APIRouter(prefix="/customers", include_in_schema=False)
CONFIG_VIEW, CONFIG_EDIT = "customers.config.view", "customers.config.edit"
nav.register(
    nav.NavItem(
        "customers", "Contact records", "/customers/contacts", "bi-chat-left-text", (contacts.VIEW,), 20
    )
)
nav.register(
    nav.NavItem("admin", "Subscriber kinds", "/customers/kinds", "bi-sim", (CONFIG_VIEW, CONFIG_EDIT), 60)
)
nav.register(
    nav.NavItem(
        "admin", "Business systems", "/customers/business-systems", "bi-plug", (CONFIG_VIEW, CONFIG_EDIT), 62
    )
)
IMPLEMENTATION_LABELS = {
    Implementation.OFF: lazy("Off"),
    Implementation.DEMO: lazy("Demo data"),
    Implementation.HTTP: lazy("HTTP/JSON interface"),
}
TYPE_LABELS = {
    AttributeType.TEXT: lazy("Text"),
    AttributeType.INTEGER: lazy("Whole number"),
    AttributeType.DECIMAL: lazy("Decimal number"),
    AttributeType.DATE: lazy("Date"),
    AttributeType.BOOL: lazy("Yes / no"),
    AttributeType.CHOICE: lazy("Choice from a dictionary"),
    AttributeType.PHONE: lazy("Phone number"),
    AttributeType.EMAIL: lazy("Email"),
}
FORMAT_LABELS = {
    NumberFormat.PHONE: lazy("Phone number"),
    NumberFormat.DIGITS: lazy("Digits"),
    NumberFormat.TEXT: lazy("Letters and digits"),
}


@router.get("/contacts")
def contact_list(
    request: Request,
    session: SessionDep,
    actor: Requires(contacts.VIEW),
    channel: str = "",
    direction: str = "",
    remote: str = "",
    before_id: int | None = None,
) -> Response:
    """Interactions within one's contact scope, newest first."""
    rows = contacts.list_records(
        session,
        actor,
        channel=channel or None,
        direction=direction or None,
        remote=remote.strip()[:200] or None,
        before_id=before_id,
        limit=51,
    )
    from kefu.customers.page_360 import _channel_labels

    context = {
        "rows": rows[:50],
        "more_before": rows[49].record.id if len(rows) > 50 else None,
        "channel": channel,
        "direction": direction,
        "remote": remote,
        "channel_labels": _channel_labels(session),
        "direction_labels": dict(page_forms.translated(page_forms.DIRECTION_LABELS)),
    }
    return render(request, "customers/contacts.html", context)


# --- subscriber kinds --------------------------------------------------------------------------------


def _kinds_page(
    request: Request,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    form_of: str = "",
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "kinds": kinds.list_kinds(session),
        "errors": errors or {},
        "form_of": form_of,
        "values": values or {},
        "types": page_forms.translated(TYPE_LABELS),
        "formats": page_forms.translated(FORMAT_LABELS),
        "type_labels": dict(page_forms.translated(TYPE_LABELS)),
        "format_labels": dict(page_forms.translated(FORMAT_LABELS)),
    }
    return render(request, "customers/kinds.html", context, status_code=status)


@router.get("/kinds")
def kinds_page(request: Request, session: SessionDep, actor: Requires(CONFIG_VIEW, CONFIG_EDIT)) -> Response:
    return _kinds_page(request, session)


@router.post("/kinds")
def add_kind(request: Request, session: SessionDep, actor: Requires(CONFIG_EDIT), form: FormDep) -> Response:
    values = {
        k: page_forms.text(form, k)
        for k in ("code", "name", "number_label", "number_format", "number_pattern")
    }
    try:
        kinds.create_kind(session, actor=actor, **values)
    except KefuError as exc:
        if exc.status_code not in (409, 422):
            raise
        session.rollback()
        return _kinds_page(
            request,
            session,
            errors=field_errors(exc),
            form_of="new",
            values=values,
            status=exc.status_code,
        )
    return RedirectResponse("/customers/kinds", status_code=303)


@router.post("/kinds/{code}/attributes")
def add_attribute(
    request: Request, session: SessionDep, actor: Requires(CONFIG_EDIT), code: str, form: FormDep
) -> Response:
    kind = kinds.get_kind(session, code)
    values = {
        k: page_forms.text(form, k)
        for k in ("code", "label", "type", "pattern", "check", "dictionary", "help_text")
    }
    data: dict[str, Any] = {
        **values,
        "required": form.get("required") == "true",
        "searchable": form.get("searchable") == "true",
    }
    try:
        kinds.add_attribute(session, actor=actor, kind=kind, **data)
    except KefuError as exc:
        if exc.status_code not in (409, 422):
            raise
        session.rollback()
        return _kinds_page(
            request,
            session,
            errors=field_errors(exc),
            form_of=code,
            values=values,
            status=exc.status_code,
        )
    return RedirectResponse(f"/customers/kinds#kind-{code}", status_code=303)


@router.post("/kinds/{code}/attributes/{attribute_id}/toggle")
def toggle_attribute(
    session: SessionDep, actor: Requires(CONFIG_EDIT), code: str, attribute_id: int
) -> Response:
    definition = kinds.get_attribute(kinds.get_kind(session, code), attribute_id)
    kinds.update_attribute(session, actor=actor, definition=definition, enabled=not definition.enabled)
    return RedirectResponse(f"/customers/kinds#kind-{code}", status_code=303)


# --- business systems --------------------------------------------------------------------------------

_SYSTEM_KEYS = (
    "implementation",
    "base_url",
    "path",
    "timeout_seconds",
    "retries",
    "auth_header",
    "failure_threshold",
    "cooldown_seconds",
)


def _systems_page(
    request: Request,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    form_of: str = "",
    values: dict[str, str] | None = None,
    probe: tuple[str, bool, str, int] | None = None,
    status: int = 200,
) -> Response:
    systems = registry.systems(session)
    context = {
        "systems": [
            (
                kind.value,
                i18n.gettext(SOURCE_LABELS[kind]),
                s,
                registry.breaker_for(s).state.value if s.id else "closed",
            )
            for kind, s in systems.items()
        ],
        "implementations": page_forms.translated(IMPLEMENTATION_LABELS),
        "errors": errors or {},
        "form_of": form_of,
        "values": values or {},
        "probe": probe,
    }
    return render(request, "customers/business_systems.html", context, status_code=status)


def _source_kind(kind: str) -> SourceKind:
    try:
        return SourceKind(kind)
    except ValueError:
        raise NotFound() from None


@router.get("/business-systems")
def systems_page(
    request: Request, session: SessionDep, actor: Requires(CONFIG_VIEW, CONFIG_EDIT)
) -> Response:
    return _systems_page(request, session)


@router.post("/business-systems/{kind}")
def configure(
    request: Request, session: SessionDep, actor: Requires(CONFIG_EDIT), kind: str, form: FormDep
) -> Response:
    source_kind = _source_kind(kind)
    values = {k: page_forms.text(form, k) for k in _SYSTEM_KEYS}
    data: dict[str, Any] = dict(values)
    secret = page_forms.text(form, "auth_value")
    data["auth_value"] = secret if secret or form.get("clear_auth") == "true" else None
    try:
        registry.configure(session, actor=actor, kind=source_kind, data=data)
    except KefuError as exc:
        if exc.status_code not in (409, 422):
            raise
        session.rollback()
        return _systems_page(
            request,
            session,
            errors=field_errors(exc),
            form_of=kind,
            values=values,
            status=exc.status_code,
        )
    return RedirectResponse(f"/customers/business-systems#system-{kind}", status_code=303)


@router.post("/business-systems/{kind}/probe")
def probe(
    request: Request, session: SessionDep, actor: Requires(CONFIG_EDIT), kind: str, form: FormDep
) -> Response:
    """Ask the system once about a customer code and show how it went."""
    from kefu.audit import service as audit

    source_kind = _source_kind(kind)
    code = page_forms.text(form, "customer_code") or "PROBE"
    source = registry.source_for(session, source_kind)
    started = time.monotonic()
    ok, message = True, i18n.gettext("The system answered.")
    if source is None:
        ok, message = False, i18n.gettext(SourceError.NOT_CONFIGURED)
    else:
        try:
            getattr(source, OPERATIONS[source_kind])(CustomerRef(id=0, code=code, name=""))
        except SourceError as exc:
            ok, message = False, f"{i18n.gettext(exc.message)} ({exc.reason})"
    elapsed = int((time.monotonic() - started) * 1000)
    audit.record(
        session,
        actor=actor,
        action="customers.business_system.probe",
        function=registry.FUNCTION,
        target_type="business_system",
        target_id=kind,
        summary=f"{'ok' if ok else 'failed'} in {elapsed} ms",
    )
    return _systems_page(request, session, probe=(kind, ok, message, elapsed))
