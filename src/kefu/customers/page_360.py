"""The customer 360 page (CON-3) and its parts: the business-system panels loaded one by one (htmx,
each with its own timeout, so a slow system degrades only its own panel), the contact timeline a
page at a time, recording a contact, and the subscriber form whose attributes follow the kind."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from kefu.core import clock, i18n
from kefu.core.errors import KefuError, NotFound
from kefu.core.permissions import Actor
from kefu.customers import access, identity, kinds, page_forms, subscribers, view360
from kefu.customers.adapters import registry
from kefu.customers.adapters.base import SOURCE_LABELS, SourceError, SourceKind
from kefu.customers.contacts import service as contacts
from kefu.customers.models import Customer, Subscriber, SubscriberKind
from kefu.customers.pages import FormDep
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import field_errors
from kefu.web.templating import render

log = logging.getLogger(__name__)
router = APIRouter(prefix="/customers", include_in_schema=False)
TIMELINE_PAGE = 10
BUSINESS = "customers.business.view"


def _labels(session: Session) -> dict[str, Any]:
    return {
        "tier_labels": page_forms.tier_labels(session),
        "id_type_labels": {t.value: i18n.gettext(label) for t, label in identity.ID_TYPE_LABELS.items()},
        "kind_labels": dict(page_forms.translated(page_forms.KIND_LABELS)),
        "status_labels": dict(page_forms.translated(page_forms.STATUS_LABELS)),
        "phone_labels": dict(page_forms.translated(page_forms.PHONE_LABELS)),
        "address_labels": dict(page_forms.translated(page_forms.ADDRESS_LABELS)),
        "subscriber_status_labels": dict(page_forms.translated(page_forms.SUBSCRIBER_STATUS_LABELS)),
        "pay_method_labels": dict(page_forms.translated(page_forms.PAY_METHOD_LABELS)),
        "channel_labels": _channel_labels(session),
        "direction_labels": dict(page_forms.translated(page_forms.DIRECTION_LABELS)),
        "gender_labels": dict(page_forms.translated(page_forms.GENDER_LABELS)),
    }


def _channel_labels(session: Session) -> dict[str, str]:
    labels = dict(page_forms.translated(page_forms.CHANNEL_LABELS))
    from kefu.org.config import dictionary

    try:
        for item in dictionary.items(session, "channel", include_disabled=True):
            labels.setdefault(item.code, item.text(i18n.get_locale()))
    except NotFound:
        pass
    return labels


def _timeline_context(session: Session, customer: Customer, before_id: int | None) -> dict[str, Any]:
    items = contacts.timeline(session, customer=customer, before_id=before_id, limit=TIMELINE_PAGE + 1)
    return {
        "customer": customer,
        "contacts": items[:TIMELINE_PAGE],
        "more_before": items[TIMELINE_PAGE - 1].record.id if len(items) > TIMELINE_PAGE else None,
    }


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    customer: Customer,
    *,
    contact_errors: dict[str, str] | None = None,
    contact_values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    view = view360.build(session, actor, customer)
    context = {
        "view": view,
        "customer": customer,
        "phone": request.query_params.get("phone", ""),
        "masked_id": identity.mask(customer.id_number),
        "can_edit": actor.can(access.EDIT) and access.can(session, actor, customer.id, access.EDIT),
        "can_record": actor.can(contacts.CREATE),
        "can_contacts": actor.can(contacts.VIEW),
        "contact_errors": contact_errors or {},
        "contact_values": contact_values or {"channel": "phone", "direction": "inbound", "summary": ""},
        "channels": [
            (c, label)
            for c, label in _channel_labels(session).items()
            if c in contacts.channel_codes(session)
        ],
        **(
            _timeline_context(session, customer, None)
            if actor.can(contacts.VIEW)
            else {"contacts": [], "more_before": None}
        ),
        **_labels(session),
    }
    return render(request, "customers/detail.html", context, status_code=status)


@router.get("/{customer_id}")
def detail(request: Request, session: SessionDep, actor: Requires(access.VIEW), customer_id: int) -> Response:
    """The 360 page: profile, subscriptions, accounts, open tickets, the timeline, business panels."""
    return _page(request, session, actor, access.customer(session, actor, customer_id))


@router.get("/{customer_id}/panels/{kind}")
def panel(
    request: Request, session: SessionDep, actor: Requires(BUSINESS), customer_id: int, kind: str
) -> Response:
    """One business-system panel (htmx). A system that fails or is slow gives the panel a message —
    always a 200, so the page around it never breaks."""
    try:
        source_kind = SourceKind(kind)
    except ValueError:
        raise NotFound() from None
    customer = access.customer(session, actor, customer_id)
    started = clock.now()
    data, error = None, None
    try:
        data = registry.ask(session, customer, source_kind)
    except SourceError as exc:
        log.warning("business system %s failed for customer %s: %s", kind, customer.id, exc)
        error = i18n.gettext(exc.message)
    context = {
        "kind": kind,
        "label": SOURCE_LABELS[source_kind],
        "customer": customer,
        "data": data,
        "error": error,
        "asked_at": started,
    }
    return render(request, "customers/_panel.html", context)


@router.get("/{customer_id}/contacts")
def timeline(
    request: Request,
    session: SessionDep,
    actor: Requires(contacts.VIEW),
    customer_id: int,
    before_id: int | None = None,
) -> Response:
    """A page of the customer's contact timeline (the "earlier" button loads the next)."""
    customer = access.customer(session, actor, customer_id)
    context = {**_timeline_context(session, customer, before_id), **_labels(session)}
    return render(request, "customers/_timeline.html", context)


@router.post("/{customer_id}/contacts")
def record_contact(
    request: Request, session: SessionDep, actor: Requires(contacts.CREATE), customer_id: int, form: FormDep
) -> Response:
    """Record an interaction from the 360 page (e.g. the call just taken, a visit, a letter)."""
    customer = access.customer(session, actor, customer_id)
    values = {
        k: page_forms.text(form, k)
        for k in ("channel", "direction", "summary", "remote_address", "ticket_ids")
    }
    ticket_ids = [int(t) for t in values["ticket_ids"].replace("，", ",").split(",") if t.strip().isdigit()]
    try:
        contacts.record_contact(
            session,
            actor,
            customer_id=customer.id,
            channel=values["channel"],
            direction=values["direction"],
            summary=values["summary"],
            remote_address=values["remote_address"],
            ticket_ids=ticket_ids,
        )
    except KefuError as exc:
        if exc.status_code not in (409, 422):
            raise
        session.rollback()
        customer = access.customer(session, actor, customer_id)
        return _page(
            request,
            session,
            actor,
            customer,
            contact_errors=field_errors(exc),
            contact_values=values,
            status=422,
        )
    return RedirectResponse(f"/customers/{customer.id}#contacts", status_code=303)


# --- subscribers --------------------------------------------------------------------------------------


def _subscriber_page(
    request: Request,
    session: Session,
    *,
    customer: Customer,
    subscriber: Subscriber | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    all_kinds = kinds.list_kinds(session, enabled_only=True)
    chosen = next((k for k in all_kinds if k.code == values.get("kind")), all_kinds[0] if all_kinds else None)
    from sqlalchemy import select

    from kefu.customers.models import Account

    accounts = list(
        session.scalars(select(Account).where(Account.customer_id == customer.id).order_by(Account.id))
    )
    context = {
        "customer": customer,
        "subscriber": subscriber,
        "values": values,
        "errors": errors or {},
        "kinds": all_kinds,
        "kind": chosen,
        "accounts": accounts,
        "statuses": page_forms.translated(page_forms.SUBSCRIBER_STATUS_LABELS),
    }
    fragment = request.headers.get("hx-target") == "subscriber-form"
    return render(
        request,
        "customers/_subscriber_form.html" if fragment else "customers/subscriber.html",
        context,
        status_code=status,
    )


_SUB_KEYS = (
    "kind",
    "service_number",
    "account_id",
    "status",
    "product",
    "opened_on",
    "expires_on",
    "address",
    "note",
)


def _subscriber_values(form: Any, kind: SubscriberKind | None) -> dict[str, Any]:
    values: dict[str, Any] = {k: page_forms.text(form, k) for k in _SUB_KEYS}
    values["attributes"] = {
        key[len("attr-") :]: page_forms.text(form, key)
        for key in form
        if isinstance(key, str) and key.startswith("attr-")
    }
    return values


def _subscriber_data(values: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in values.items() if k != "attributes"}
    data["account_id"] = page_forms.number(values["account_id"])
    data["attributes"] = values["attributes"]
    return data


@router.get("/{customer_id}/subscribers/new")
def new_subscriber(
    request: Request, session: SessionDep, actor: Requires(access.EDIT), customer_id: int
) -> Response:
    customer = access.customer(session, actor, customer_id, access.EDIT)
    values = _subscriber_values(request.query_params, None)
    values["status"] = values["status"] or "active"
    return _subscriber_page(request, session, customer=customer, subscriber=None, values=values)


@router.post("/{customer_id}/subscribers/new")
def add_subscriber(
    request: Request, session: SessionDep, actor: Requires(access.EDIT), customer_id: int, form: FormDep
) -> Response:
    customer = access.customer(session, actor, customer_id, access.EDIT)
    values = _subscriber_values(form, None)
    try:
        subscribers.add_subscriber(session, actor=actor, customer=customer, data=_subscriber_data(values))
    except KefuError as exc:
        if exc.status_code not in (409, 422):
            raise
        session.rollback()
        customer = access.customer(session, actor, customer_id, access.EDIT)
        errors = field_errors(exc)
        return _subscriber_page(
            request,
            session,
            customer=customer,
            subscriber=None,
            values=values,
            errors=errors,
            status=exc.status_code,
        )
    return RedirectResponse(f"/customers/{customer.id}#subscribers", status_code=303)


@router.get("/{customer_id}/subscribers/{subscriber_id}/edit")
def edit_subscriber(
    request: Request, session: SessionDep, actor: Requires(access.EDIT), customer_id: int, subscriber_id: int
) -> Response:
    customer = access.customer(session, actor, customer_id, access.EDIT)
    found = access.subscriber(session, actor, customer, subscriber_id)
    values: dict[str, Any] = {
        "kind": request.query_params.get("kind") or found.kind.code,
        "service_number": found.service_number,
        "account_id": str(found.account_id or ""),
        "status": found.status.value,
        "product": found.product,
        "opened_on": found.opened_on.isoformat() if found.opened_on else "",
        "expires_on": found.expires_on.isoformat() if found.expires_on else "",
        "address": found.address,
        "note": found.note,
        "attributes": {a.definition.code: a.value for a in found.attributes},
    }
    return _subscriber_page(request, session, customer=customer, subscriber=found, values=values)


@router.post("/{customer_id}/subscribers/{subscriber_id}/edit")
def update_subscriber(
    request: Request,
    session: SessionDep,
    actor: Requires(access.EDIT),
    customer_id: int,
    subscriber_id: int,
    form: FormDep,
) -> Response:
    customer = access.customer(session, actor, customer_id, access.EDIT)
    found = access.subscriber(session, actor, customer, subscriber_id)
    values = _subscriber_values(form, None)
    version = page_forms.number(page_forms.text(form, "version")) or 0
    try:
        subscribers.update_subscriber(
            session,
            actor=actor,
            customer=customer,
            subscriber=found,
            version=version,
            data=_subscriber_data(values),
        )
    except KefuError as exc:
        if exc.status_code not in (409, 422):
            raise
        session.rollback()
        customer = access.customer(session, actor, customer_id, access.EDIT)
        found = access.subscriber(session, actor, customer, subscriber_id)
        errors = field_errors(exc)
        return _subscriber_page(
            request,
            session,
            customer=customer,
            subscriber=found,
            values=values,
            errors=errors,
            status=exc.status_code,
        )
    return RedirectResponse(f"/customers/{customer.id}#subscribers", status_code=303)
