"""Message templates (短信 / 邮件模板, CON-4): the list, the editor with the variables of the chosen
kind as chips that insert `{{ name }}`, a live preview with the SMS length and parts, and delete
(refused, with the reason, for a template a proactive-service batch used)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kefu.core import i18n
from kefu.core.errors import KefuError, NotFound
from kefu.core.permissions import Actor
from kefu.messaging import templates
from kefu.messaging.models import Channel, MessageTemplate, TemplateKind
from kefu.messaging.pages_common import (
    CHANNEL_LABELS,
    KIND_LABELS,
    business_type_names,
    business_types,
    chips,
    labels,
    messages,
    shown_again,
    text,
    translated,
)
from kefu.messaging.pages_common import values as form_values
from kefu.messaging.permissions import TEMPLATE_EDIT, TEMPLATE_VIEW
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import FormDep
from kefu.web.templating import render

router = APIRouter(prefix="/messaging", include_in_schema=False)
Reader = Requires(TEMPLATE_VIEW, TEMPLATE_EDIT)
Editor = Requires(TEMPLATE_EDIT)


def _list_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    channel: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    stmt = select(MessageTemplate).order_by(MessageTemplate.code)
    if channel in {c.value for c in Channel}:
        stmt = stmt.where(MessageTemplate.channel == Channel(channel))
    rows = list(session.scalars(stmt))
    context = {
        "rows": rows,
        "channel": channel,
        "channels": translated(CHANNEL_LABELS),
        "business_type_names": business_type_names(session),
        "can_edit": actor.can(TEMPLATE_EDIT),
        "errors": errors or {},
        **labels(),
    }
    return render(request, "messaging/messaging/templates.html", context, status_code=status)


@router.get("/templates")
def template_list(request: Request, session: SessionDep, actor: Reader, channel: str = "") -> Response:
    return _list_page(request, session, actor, channel=channel)


def _editor(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    template: MessageTemplate | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    channel = values.get("channel")
    kind = values.get("kind")
    context = {
        "template": template,
        "values": values,
        # Validated: they go into the editor's script.
        "current_channel": channel if channel in {c.value for c in Channel} else Channel.SMS.value,
        "current_kind": kind if kind in {k.value for k in TemplateKind} else TemplateKind.GENERAL.value,
        "preview": _preview(session, actor, {"channel": "", "kind": "", **values}),
        "errors": errors or {},
        "channels": translated(CHANNEL_LABELS),
        "kinds": translated(KIND_LABELS),
        "variables_by_kind": {kind.value: chips(kind) for kind in TemplateKind},
        "business_types": business_types(session),
        "can_edit": actor.can(TEMPLATE_EDIT),
        **labels(),
    }
    return render(request, "messaging/messaging/template_form.html", context, status_code=status)


def _data(form: FormData) -> dict[str, Any]:
    """The form as the template service takes it (an unticked box is a "no")."""
    return {
        "code": text(form, "code"),
        "name": text(form, "name"),
        "channel": text(form, "channel"),
        "kind": text(form, "kind"),
        "business_category_id": text(form, "business_category_id") or None,
        "subject": text(form, "subject"),
        "body": text(form, "body"),
        "enabled": text(form, "enabled") == "1",
    }


@router.get("/templates/new")
def new_template(request: Request, session: SessionDep, actor: Editor) -> Response:
    values = {"channel": Channel.SMS.value, "kind": TemplateKind.GENERAL.value, "enabled": "1"}
    return _editor(request, session, actor, template=None, values=values)


@router.post("/templates/new")
def create(request: Request, session: SessionDep, actor: Editor, form: FormDep) -> Response:
    try:
        templates.create(session, actor, _data(form))
    except KefuError as exc:
        if not shown_again(exc):
            raise
        errors = messages(session, exc)
        values = form_values(form)
        return _editor(
            request, session, actor, template=None, values=values, errors=errors, status=exc.status_code
        )
    return RedirectResponse("/messaging/templates", status_code=303)


def _preview(session: Session, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """The text with sample values, its length and SMS parts; `error` when it cannot be rendered."""
    channel = Channel(data["channel"]) if data["channel"] in {c.value for c in Channel} else Channel.SMS
    kinds = {k.value for k in TemplateKind}
    kind = TemplateKind(data["kind"]) if data["kind"] in kinds else TemplateKind.GENERAL
    if not str(data.get("body") or "").strip():
        return {"sms": channel is Channel.SMS}
    try:
        result = templates.preview(
            session,
            actor,
            channel=channel,
            kind=kind,
            subject=str(data.get("subject") or ""),
            body=str(data.get("body") or ""),
        )
    except KefuError as exc:
        result = {"error": exc.render(i18n.gettext)}
    return {**result, "sms": channel is Channel.SMS}


# Before "/templates/{template_id}": a preview is not a template.
@router.post("/templates/preview")
def preview(request: Request, session: SessionDep, actor: Reader, form: FormDep) -> Response:
    """The text with sample values, its length and SMS parts (htmx, as the editor is typed in)."""
    context = {"preview": _preview(session, actor, _data(form))}
    return render(request, "messaging/messaging/_template_preview.html", context)


def _values_of(template: MessageTemplate) -> dict[str, Any]:
    return {
        "code": template.code,
        "name": template.name,
        "channel": template.channel.value,
        "kind": template.kind.value,
        "business_category_id": str(template.business_category_id or ""),
        "subject": template.subject,
        "body": template.body,
        "enabled": "1" if template.enabled else "",
    }


def _load(session: Session, template_id: int) -> MessageTemplate:
    template = session.get(MessageTemplate, template_id)
    if template is None:
        raise NotFound()
    return template


@router.get("/templates/{template_id}")
def edit_template(request: Request, session: SessionDep, actor: Reader, template_id: int) -> Response:
    """The editor (read-only for readers who may not edit)."""
    template = _load(session, template_id)
    return _editor(request, session, actor, template=template, values=_values_of(template))


@router.post("/templates/{template_id}")
def save(request: Request, session: SessionDep, actor: Editor, template_id: int, form: FormDep) -> Response:
    _load(session, template_id)
    try:
        templates.update(session, actor, template_id, _data(form))
    except KefuError as exc:
        if not shown_again(exc):
            raise
        errors = messages(session, exc)
        return _editor(
            request,
            session,
            actor,
            template=_load(session, template_id),
            values=form_values(form),
            errors=errors,
            status=exc.status_code,
        )
    return RedirectResponse("/messaging/templates", status_code=303)


@router.post("/templates/{template_id}/delete")
def delete(request: Request, session: SessionDep, actor: Editor, template_id: int) -> Response:
    try:
        templates.delete(session, actor, template_id)
    except KefuError as exc:
        if not shown_again(exc):
            raise
        errors = messages(session, exc)
        return _list_page(request, session, actor, errors=errors, status=exc.status_code)
    return RedirectResponse("/messaging/templates", status_code=303)
