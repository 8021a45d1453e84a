"""SMS and e-mail templates (知识短信模板 / 短信模板, CON-4): add, edit, delete, preview.

A template is checked when saved: it must parse and use only the variables of its kind, so an
agent never sends "{{ custmer.name }}" to a customer. A template a batch used is kept (disable it
instead); deleting it is refused with that message.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock
from kefu.core.errors import Conflict, FieldError, FieldErrors, NotFound
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.customers.models import Customer
from kefu.messaging import render
from kefu.messaging.models import Batch, Channel, MessageTemplate, TemplateKind
from kefu.messaging.permissions import FUNCTION
from kefu.tickets.models import BusinessCategory
from kefu.tickets.setup.service.common import CODE_RE

REQUIRED = lazy("This field is required")
CODE_FORMAT = lazy("Use a letter first, then letters, digits, '_' or '-'")
CODE_TAKEN = lazy("This code is already in use")
CHOOSE = lazy("Choose one of the offered values")
TOO_LONG = lazy("At most %(max)s characters")
USED_BY_BATCH = lazy("A proactive-service batch used this template; disable it instead")

FIELDS = ("code", "name", "channel", "kind", "business_category_id", "subject", "body", "enabled")


def _clean(session: Session, data: dict[str, Any], current: MessageTemplate | None) -> dict[str, Any]:
    errors: list[FieldError] = []
    found: dict[str, Any] = {}
    code = str(data.get("code") or "").strip()
    if not code:
        errors.append(FieldError("code", REQUIRED))
    elif not CODE_RE.fullmatch(code):
        errors.append(FieldError("code", CODE_FORMAT))
    else:
        clash = session.scalar(select(MessageTemplate.id).where(MessageTemplate.code == code))
        if clash is not None and (current is None or clash != current.id):
            errors.append(FieldError("code", CODE_TAKEN))
    found["code"] = code
    name = str(data.get("name") or "").strip()
    if not name:
        errors.append(FieldError("name", REQUIRED))
    elif len(name) > 100:
        errors.append(FieldError("name", TOO_LONG, max=100))
    found["name"] = name
    try:
        channel = Channel(str(data.get("channel") or ""))
    except ValueError:
        errors.append(FieldError("channel", CHOOSE))
        channel = Channel.SMS
    found["channel"] = channel
    try:
        kind = TemplateKind(str(data.get("kind") or TemplateKind.GENERAL.value))
    except ValueError:
        errors.append(FieldError("kind", CHOOSE))
        kind = TemplateKind.GENERAL
    found["kind"] = kind
    category = data.get("business_category_id")
    if category in (None, ""):
        found["business_category_id"] = None
    else:
        try:
            category_id = int(str(category))
        except ValueError:
            category_id = 0
        if session.get(BusinessCategory, category_id) is None:
            errors.append(FieldError("business_category_id", CHOOSE))
        found["business_category_id"] = category_id
    subject = str(data.get("subject") or "").strip()
    body = str(data.get("body") or "").strip()
    limit = render.BODY_MAX if channel is Channel.SMS else render.EMAIL_BODY_MAX
    if channel is Channel.EMAIL:
        if not subject:
            errors.append(FieldError("subject", REQUIRED))
        elif len(subject) > 200:
            errors.append(FieldError("subject", TOO_LONG, max=200))
        else:
            try:
                render.check(kind, "subject", subject)
            except FieldError as exc:
                errors.append(exc)
    else:
        subject = ""
    if not body:
        errors.append(FieldError("body", REQUIRED))
    elif len(body) > limit:
        errors.append(FieldError("body", TOO_LONG, max=limit))
    else:
        try:
            render.check(kind, "body", body)
        except FieldError as exc:
            errors.append(exc)
    found["subject"], found["body"] = subject, body
    enabled = data.get("enabled", True)
    found["enabled"] = enabled if isinstance(enabled, bool) else str(enabled).lower() in ("1", "true", "on")
    if errors:
        raise FieldErrors(errors)
    return found


def create(session: Session, actor: Actor, data: dict[str, Any]) -> MessageTemplate:
    values = _clean(session, data, None)
    template = MessageTemplate(**values, updated_by_id=actor.user.id, updated_at=clock.now())
    session.add(template)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="messaging.template.create",
        function=FUNCTION,
        target=template,
        target_label=f"{template.code} {template.name}",
        after={k: str(v) for k, v in values.items()},
    )
    return template


def update(session: Session, actor: Actor, template_id: int, data: dict[str, Any]) -> MessageTemplate:
    template = session.get(MessageTemplate, template_id)
    if template is None:
        raise NotFound()
    values = _clean(session, data, template)
    before = {k: str(getattr(template, k)) for k in FIELDS}
    for name, value in values.items():
        setattr(template, name, value)
    template.updated_by_id, template.updated_at = actor.user.id, clock.now()
    session.flush()
    after = {k: str(getattr(template, k)) for k in FIELDS}
    audit.record(
        session,
        actor=actor,
        action="messaging.template.update",
        function=FUNCTION,
        target=template,
        target_label=f"{template.code} {template.name}",
        before={k: v for k, v in before.items() if after[k] != v},
        after={k: v for k, v in after.items() if before[k] != v},
    )
    return template


def delete(session: Session, actor: Actor, template_id: int) -> None:
    template = session.get(MessageTemplate, template_id)
    if template is None:
        raise NotFound()
    if session.scalar(select(Batch.id).where(Batch.template_id == template_id).limit(1)) is not None:
        raise Conflict(USED_BY_BATCH)
    audit.record(
        session,
        actor=actor,
        action="messaging.template.delete",
        function=FUNCTION,
        target=template,
        target_label=f"{template.code} {template.name}",
    )
    session.delete(template)
    session.flush()


def usable(
    session: Session, channel: Channel | None = None, kinds: tuple[TemplateKind, ...] = ()
) -> list[MessageTemplate]:
    stmt = select(MessageTemplate).where(MessageTemplate.enabled.is_(True))
    if channel is not None:
        stmt = stmt.where(MessageTemplate.channel == channel)
    if kinds:
        stmt = stmt.where(MessageTemplate.kind.in_(kinds))
    return list(session.scalars(stmt.order_by(MessageTemplate.code)))


def preview(
    session: Session,
    actor: Actor,
    *,
    channel: Channel,
    kind: TemplateKind,
    subject: str,
    body: str,
    customer_id: int | None = None,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The text as a customer would receive it: sample values, overridden by a real customer the
    actor may see and by `variables`. Errors name the field (`body`, `subject`, `variables.x`)."""
    from kefu.customers import access as customer_access

    render.check(kind, "body", body)
    if channel is Channel.EMAIL:
        render.check(kind, "subject", subject)
    values = dict(render.SAMPLE)
    if customer_id is not None:
        customer: Customer = customer_access.customer(session, actor, customer_id)
        values["customer"] = {"name": customer.name, "code": customer.code or "", "tier": customer.tier or ""}
    values["agent"] = {"name": actor.user.name, "number": actor.user.username}
    for name, value in (variables or {}).items():
        if name in render.allowed(kind) and value not in (None, ""):
            values[name] = value
    text = render.render(body, values)
    title = render.render(subject, values, field="subject") if channel is Channel.EMAIL else ""
    sign = ""
    if channel is Channel.SMS:
        from kefu.messaging import gateways

        sign = gateways.load(session, Channel.SMS).sign
    length = render.sms_length(sign + text)
    return {
        "subject": title,
        "body": text,
        "characters": length.characters,
        "parts": length.parts if channel is Channel.SMS else 0,
        "variables": sorted(render.variables(body) | (render.variables(subject) if subject else set())),
    }
