"""Messaging over HTTP: send and the send log, templates with preview, do-not-disturb, the callers'
blacklist and the gateways' configuration."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import func, or_, select

from kefu.core.errors import FieldError, NotFound
from kefu.customers import phones
from kefu.messaging import access, blacklist, dnd, gateways, outbox, render, templates
from kefu.messaging.models import (
    BlacklistEntry,
    Channel,
    DndEntry,
    Message,
    MessageStatus,
    MessageTemplate,
    Source,
)
from kefu.messaging.permissions import (
    BLACKLIST_EDIT,
    BLACKLIST_VIEW,
    CONFIG_EDIT,
    CONFIG_VIEW,
    DND_EDIT,
    DND_VIEW,
    LOG_VIEW,
    SEND,
    TEMPLATE_EDIT,
    TEMPLATE_VIEW,
)
from kefu.messaging.schemas import (
    BlacklistChange,
    BlacklistIn,
    BlacklistPage,
    BlacklistRead,
    DndCheckRead,
    DndImport,
    DndImported,
    DndIn,
    DndPage,
    DndRead,
    GatewayRead,
    GatewayTest,
    MessagePage,
    MessageRead,
    PreviewIn,
    PreviewRead,
    SendIn,
    TemplateIn,
    TemplateRead,
)
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/messaging", tags=["messaging"])

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0)]


# --- sending and the send log -----------------------------------------------------------------------


@router.post("/messages", response_model=MessageRead, status_code=201)
def send(session: SessionDep, actor: Requires(SEND), body: SendIn) -> Message:
    """Send an ordinary SMS or e-mail (普通短信 / 邮件), typed or from a template. Do-not-disturb
    refuses (422 on `to`) or warns (422 on `confirm_dnd` until the sender confirms)."""
    return outbox.send(
        session,
        actor,
        channel=body.channel,
        to=body.to,
        body=body.body,
        subject=body.subject,
        template_id=body.template_id,
        variables=body.variables,
        customer_id=body.customer_id,
        ticket_id=body.ticket_id,
        business_category_id=body.business_category_id,
        confirm_dnd=body.confirm_dnd,
    )


@router.get("/messages", response_model=MessagePage)
def messages(
    session: SessionDep,
    actor: Requires(LOG_VIEW),
    channel: Channel | None = None,
    status: MessageStatus | None = None,
    source: Source | None = None,
    to: str | None = Query(default=None, max_length=200),
    customer_id: int | None = None,
    batch_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> MessagePage:
    """The send log (发送记录) within the actor's data scope, newest first."""
    stmt = access.restrict_messages(select(Message), actor)
    if channel is not None:
        stmt = stmt.where(Message.channel == channel)
    if status is not None:
        stmt = stmt.where(Message.status == status)
    if source is not None:
        stmt = stmt.where(Message.source == source)
    if to:
        key = phones.lookup_key(to) if "@" not in to else to.strip().lower()
        stmt = stmt.where(or_(Message.recipient_key == key, Message.recipient == to.strip()))
    if customer_id is not None:
        stmt = stmt.where(Message.customer_id == customer_id)
    if batch_id is not None:
        stmt = stmt.where(Message.batch_id == batch_id)
    if since is not None:
        stmt = stmt.where(Message.created_at >= since)
    if until is not None:
        stmt = stmt.where(Message.created_at < until)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Message.id.desc()).limit(limit).offset(offset)).all()
    return MessagePage(items=[MessageRead.model_validate(r) for r in rows], total=total)


@router.get("/messages/{message_id}", response_model=MessageRead)
def message(session: SessionDep, actor: Requires(LOG_VIEW), message_id: int) -> Message:
    return access.message(session, actor, message_id)


@router.post("/messages/{message_id}/retry", response_model=MessageRead)
def retry(session: SessionDep, actor: Requires(SEND), message_id: int) -> Message:
    """Send a failed message again; the message must lie in the sender's send-log scope
    (`messaging.message.view`), else 404."""
    return outbox.retry(session, actor, message_id)


# --- templates --------------------------------------------------------------------------------------


def _template_read(template: MessageTemplate) -> TemplateRead:
    read = TemplateRead.model_validate(template)
    read.variables = sorted(render.variables(template.body) | render.variables(template.subject or ""))
    return read


@router.get("/templates", response_model=list[TemplateRead])
def template_list(
    session: SessionDep,
    actor: Requires(TEMPLATE_VIEW),
    channel: Channel | None = None,
    enabled_only: bool = False,
) -> list[TemplateRead]:
    stmt = select(MessageTemplate)
    if channel is not None:
        stmt = stmt.where(MessageTemplate.channel == channel)
    if enabled_only:
        stmt = stmt.where(MessageTemplate.enabled.is_(True))
    return [_template_read(t) for t in session.scalars(stmt.order_by(MessageTemplate.code))]


@router.get("/templates/usable", response_model=list[TemplateRead])
def template_usable(
    session: SessionDep, actor: Requires(SEND), channel: Channel | None = None
) -> list[TemplateRead]:
    """The enabled templates an agent may send from."""
    return [_template_read(t) for t in templates.usable(session, channel)]


@router.post("/templates", response_model=TemplateRead, status_code=201)
def template_create(session: SessionDep, actor: Requires(TEMPLATE_EDIT), body: TemplateIn) -> TemplateRead:
    return _template_read(templates.create(session, actor, body.model_dump()))


@router.post("/templates/preview", response_model=PreviewRead)
def template_preview(
    session: SessionDep, actor: Requires(TEMPLATE_VIEW), body: PreviewIn
) -> dict[str, object]:
    """Render a template text with sample values (or a customer's and given values), with the SMS
    length and parts."""
    return templates.preview(
        session,
        actor,
        channel=body.channel,
        kind=body.kind,
        subject=body.subject,
        body=body.body,
        customer_id=body.customer_id,
        variables=body.variables,
    )


@router.get("/templates/{template_id}", response_model=TemplateRead)
def template_get(session: SessionDep, actor: Requires(TEMPLATE_VIEW), template_id: int) -> TemplateRead:
    template = session.get(MessageTemplate, template_id)
    if template is None:
        raise NotFound()
    return _template_read(template)


@router.put("/templates/{template_id}", response_model=TemplateRead)
def template_update(
    session: SessionDep, actor: Requires(TEMPLATE_EDIT), template_id: int, body: TemplateIn
) -> TemplateRead:
    return _template_read(templates.update(session, actor, template_id, body.model_dump()))


@router.delete("/templates/{template_id}", status_code=204)
def template_delete(session: SessionDep, actor: Requires(TEMPLATE_EDIT), template_id: int) -> Response:
    templates.delete(session, actor, template_id)
    return Response(status_code=204)


# --- do-not-disturb ---------------------------------------------------------------------------------


@router.get("/dnd", response_model=DndPage)
def dnd_list(
    session: SessionDep,
    actor: Requires(DND_VIEW),
    number: str | None = Query(default=None, max_length=60),
    business_category_id: int | None = None,
    include_expired: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> DndPage:
    rows, total = dnd.search(
        session,
        number=number,
        business_category_id=business_category_id,
        active_only=not include_expired,
        limit=limit,
        offset=offset,
    )
    return DndPage(items=[DndRead.model_validate(r) for r in rows], total=total)


@router.get("/dnd/check", response_model=DndCheckRead)
def dnd_check(
    session: SessionDep,
    actor: Requires(SEND),
    number: str = Query(max_length=60),
    business_category_id: int | None = None,
) -> DndCheckRead:
    """What a send to `number` for a business type would meet: allowed, a warning, or a refusal."""
    key = phones.lookup_key(number)
    if key is None:
        raise FieldError("number", phones.ENTER_PHONE)
    verdict = dnd.check(session, key, business_category_id)
    answer = "refuse" if verdict.refused else "warn" if verdict.warned else "allowed"
    return DndCheckRead(
        number=number, business_category_id=business_category_id, verdict=answer, reason=verdict.reason()
    )


@router.post("/dnd", response_model=DndRead, status_code=201)
def dnd_add(session: SessionDep, actor: Requires(DND_EDIT), body: DndIn) -> DndEntry:
    return dnd.add(session, actor, **body.model_dump())


@router.post("/dnd/import", response_model=DndImported)
def dnd_import(session: SessionDep, actor: Requires(DND_EDIT), body: DndImport) -> DndImported:
    """Add many numbers at once, one per line; all or nothing (a bad line is named: `lines.N`)."""
    added, passed = dnd.bulk_add(
        session,
        actor,
        body.lines,
        business_category_id=body.business_category_id,
        mode=body.mode,
        valid_until=body.valid_until,
        reason=body.reason,
    )
    return DndImported(added=len(added), already_listed=passed)


@router.delete("/dnd/{entry_id}", status_code=204)
def dnd_remove(session: SessionDep, actor: Requires(DND_EDIT), entry_id: int) -> Response:
    dnd.remove(session, actor, entry_id)
    return Response(status_code=204)


# --- blacklist --------------------------------------------------------------------------------------


@router.get("/blacklist", response_model=BlacklistPage)
def blacklist_list(
    session: SessionDep,
    actor: Requires(BLACKLIST_VIEW),
    number: str | None = Query(default=None, max_length=60),
    limit: Limit = 50,
    offset: Offset = 0,
) -> BlacklistPage:
    rows, total = blacklist.search(session, number=number, limit=limit, offset=offset)
    return BlacklistPage(items=[BlacklistRead.model_validate(r) for r in rows], total=total)


@router.post("/blacklist", response_model=BlacklistRead, status_code=201)
def blacklist_add(session: SessionDep, actor: Requires(BLACKLIST_EDIT), body: BlacklistIn) -> BlacklistEntry:
    return blacklist.add(session, actor, **body.model_dump())


@router.put("/blacklist/{entry_id}", response_model=BlacklistRead)
def blacklist_change(
    session: SessionDep, actor: Requires(BLACKLIST_EDIT), entry_id: int, body: BlacklistChange
) -> BlacklistEntry:
    return blacklist.change(session, actor, entry_id, **body.model_dump())


@router.delete("/blacklist/{entry_id}", status_code=204)
def blacklist_remove(session: SessionDep, actor: Requires(BLACKLIST_EDIT), entry_id: int) -> Response:
    blacklist.remove(session, actor, entry_id)
    return Response(status_code=204)


# --- gateways ---------------------------------------------------------------------------------------


def _gateway_read(gateway: gateways.Gateway) -> GatewayRead:
    read = GatewayRead.model_validate(gateway, from_attributes=True)
    read.auth_value_set = bool(gateway.auth_value)
    read.smtp_password_set = bool(gateway.smtp_password)
    read.imap_password_set = bool(gateway.imap_password)
    return read


@router.get("/gateways", response_model=list[GatewayRead])
def gateway_list(session: SessionDep, actor: Requires(CONFIG_VIEW)) -> list[GatewayRead]:
    return [_gateway_read(gateways.load(session, c)) for c in Channel]


@router.put("/gateways/{channel}", response_model=GatewayRead)
def gateway_configure(
    session: SessionDep, actor: Requires(CONFIG_EDIT), channel: Channel, body: dict[str, object]
) -> GatewayRead:
    """Configure the channel's gateway. Secrets sent empty keep the stored value."""
    return _gateway_read(gateways.configure(session, actor, channel, body))


@router.post("/gateways/{channel}/test", response_model=MessageRead, status_code=201)
def gateway_test(
    session: SessionDep, actor: Requires(CONFIG_EDIT), channel: Channel, body: GatewayTest
) -> Message:
    """Send a test message through the channel's gateway to an address of the administrator's
    choosing; its fate shows in the send log like any message's."""
    return outbox.send_test(session, actor, channel, body.to)
