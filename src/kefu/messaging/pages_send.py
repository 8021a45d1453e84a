"""Sending an ordinary SMS or e-mail (普通短信 / 邮件, CON-4) from a page: typed, or from a template
whose notice values the agent fills in, with a live preview of what the customer receives.

Choosing the channel or the template re-renders the form's variable part over htmx (with the
preview, out of band); typing re-renders the preview only. Do-not-disturb (CON-5) refuses with the
message on the recipient, or warns and asks for a confirmation; the form keeps what was typed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from jinja2 import TemplateSyntaxError
from sqlalchemy.orm import Session

from kefu.core import i18n
from kefu.core.errors import FieldError, KefuError
from kefu.core.permissions import Actor
from kefu.customers import access as customer_access
from kefu.customers.models import Customer, PhoneKind
from kefu.messaging import gateways, outbox, render
from kefu.messaging import pages_common as pc
from kefu.messaging import templates as template_service
from kefu.messaging.models import Channel, Implementation, MessageTemplate, TemplateKind
from kefu.messaging.permissions import LOG_VIEW, SEND
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import FormDep, optional_int
from kefu.web.templating import render as render_page

router = APIRouter(prefix="/messaging", include_in_schema=False)
# Knowledge and ticket templates need an article or a ticket: they are sent from there.
SENDABLE_KINDS = tuple(k for k in TemplateKind if k not in (TemplateKind.KNOWLEDGE, TemplateKind.TICKET))
VARIABLE_PREFIX = "variables."


def _channels(session: Session) -> list[Channel]:
    """The channels whose gateway is on."""
    return [c for c in Channel if gateways.load(session, c).implementation is not Implementation.OFF]


def _channel(raw: str | None, offered: list[Channel]) -> Channel:
    try:
        return Channel(raw or "")
    except ValueError:
        return offered[0] if offered else Channel.SMS


def _customer(session: Session, actor: Actor, raw: str | None) -> Customer | None:
    """The customer the message is for (404 when the actor may not see them)."""
    customer_id = optional_int(raw)
    return customer_access.customer(session, actor, customer_id) if customer_id is not None else None


def address_of(customer: Customer | None, channel: Channel) -> str:
    """The customer's primary mobile number or e-mail address ("" when they have none)."""
    if customer is None:
        return ""
    if channel is Channel.SMS:
        mobiles = [p for p in customer.phones if p.kind is PhoneKind.MOBILE]
        chosen = next((p for p in mobiles if p.is_primary), mobiles[0] if mobiles else None)
        return chosen.number if chosen is not None else ""
    emails = list(customer.emails)
    mail = next((e for e in emails if e.is_primary), emails[0] if emails else None)
    return mail.address if mail is not None else ""


def _variables(values: dict[str, str]) -> dict[str, str]:
    return {
        key[len(VARIABLE_PREFIX) :]: value
        for key, value in values.items()
        if key.startswith(VARIABLE_PREFIX) and value.strip()
    }


def _fields(template: MessageTemplate | None) -> list[str]:
    """The notice values the template uses, in the order of the variable list."""
    if template is None:
        return []
    try:
        used = render.variables(template.body) | render.variables(template.subject or "")
    except TemplateSyntaxError:
        return []
    return [name for name in render.NOTICE_FIELDS if name in used]


def _preview(
    session: Session,
    actor: Actor,
    *,
    channel: Channel,
    template: MessageTemplate | None,
    customer: Customer | None,
    values: dict[str, str],
) -> dict[str, Any]:
    """The message as the customer receives it (signature included), its length and SMS parts."""
    sign = gateways.load(session, Channel.SMS).sign if channel is Channel.SMS else ""
    try:
        if template is not None:
            shown = template_service.preview(
                session,
                actor,
                channel=channel,
                kind=template.kind,
                subject=template.subject,
                body=template.body,
                customer_id=customer.id if customer is not None else None,
                variables=_variables(values),
            )
            subject, body = shown["subject"], shown["body"]
        else:
            subject, body = values.get("subject", "").strip(), values.get("body", "").strip()
    except KefuError as exc:
        return {"error": exc.render(i18n.gettext)}
    if not body:
        return {"empty": True}
    length = render.sms_length(sign + body)
    return {
        "subject": subject if channel is Channel.EMAIL else "",
        "body": sign + body,
        "characters": length.characters,
        "parts": length.parts if channel is Channel.SMS else 0,
        "sms": channel is Channel.SMS,
    }


def _context(
    session: Session,
    actor: Actor,
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    changed: str = "",
    sent: Any = None,
) -> dict[str, Any]:
    offered = _channels(session)
    channel = _channel(values.get("channel"), offered)
    values = {**values, "channel": channel.value}
    customer = _customer(session, actor, values.get("customer_id"))
    usable = template_service.usable(session, channel, SENDABLE_KINDS)
    template = next((t for t in usable if str(t.id) == values.get("template_id")), None)
    values["template_id"] = str(template.id) if template is not None else ""
    if changed == "channel" and customer is not None:
        others = {address_of(customer, c) for c in Channel if c is not channel}
        if values.get("to", "") in others | {""}:
            values["to"] = address_of(customer, channel)
    if changed == "template" and template is not None:
        values["business_category_id"] = str(template.business_category_id or "")
    return {
        "values": values,
        "errors": errors or {},
        "channels": [(c.value, i18n.gettext(pc.CHANNEL_LABELS[c])) for c in offered],
        "channel": channel.value,
        "customer": customer,
        "templates": [(str(t.id), t.name) for t in usable],
        "template": template,
        "fields": _fields(template),
        "business_types": pc.business_types(session),
        "preview": _preview(
            session, actor, channel=channel, template=template, customer=customer, values=values
        ),
        "sent": sent,
        "can_see_log": actor.can(LOG_VIEW),
        **pc.labels(),
    }


@router.get("/send")
def send_form(
    request: Request,
    session: SessionDep,
    actor: Requires(SEND),
    customer_id: str = "",
    to: str = "",
    channel: str = "",
    template_id: str = "",
) -> Response:
    """The send form; `?customer_id=` fills in the customer's mobile number (or e-mail address)."""
    values = {"customer_id": customer_id, "channel": channel, "template_id": template_id}
    context = _context(session, actor, values)
    context["values"]["to"] = to[:200] or address_of(context["customer"], Channel(context["channel"]))
    return render_page(request, "messaging/messaging/send.html", context)


@router.post("/send")
def send(request: Request, session: SessionDep, actor: Requires(SEND), form: FormDep) -> Response:
    values = pc.values(form)
    try:
        channel = Channel(values.get("channel", ""))
    except ValueError:
        error = FieldError("channel", pc.CHOOSE)
        context = _context(session, actor, values, errors=pc.messages(session, error))
        return render_page(request, "messaging/messaging/send.html", context, status_code=422)
    try:
        message = outbox.send(
            session,
            actor,
            channel=channel,
            to=values.get("to"),
            body=values.get("body", ""),
            subject=values.get("subject", ""),
            template_id=optional_int(values.get("template_id")),
            variables=_variables(values),
            customer_id=optional_int(values.get("customer_id")),
            business_category_id=optional_int(values.get("business_category_id")),
            confirm_dnd=values.get("confirm_dnd") == "1",
        )
    except KefuError as exc:
        if exc.status_code != 422:
            raise
        context = _context(session, actor, values, errors=pc.messages(session, exc))
        return render_page(request, "messaging/messaging/send.html", context, status_code=422)
    fresh = {"channel": channel.value, "customer_id": values.get("customer_id", "")}
    context = _context(session, actor, fresh, sent=message)
    context["values"]["to"] = address_of(context["customer"], channel)
    return render_page(request, "messaging/messaging/send.html", context)


@router.post("/send/compose")
def compose(request: Request, session: SessionDep, actor: Requires(SEND), form: FormDep) -> Response:
    """The form's variable part for the chosen channel and template (htmx), the preview out of band."""
    values = pc.values(form)
    context = _context(session, actor, values, changed=values.get("changed", ""))
    return render_page(request, "messaging/messaging/_send_compose.html", {**context, "oob": True})


@router.post("/send/preview")
def preview(request: Request, session: SessionDep, actor: Requires(SEND), form: FormDep) -> Response:
    """The live preview of what the form would send (htmx)."""
    context = _context(session, actor, pc.values(form))
    return render_page(request, "messaging/messaging/_send_preview.html", context)
