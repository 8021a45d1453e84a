"""The send log (发送记录): every message within the reader's data scope, filtered and a page at a
time, and one message with its fate — attempts, error, do-not-disturb note — and, for a failed one,
sending it again."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kefu.audit.query import parse_local_time
from kefu.core import i18n
from kefu.core.errors import FieldError, KefuError, PermissionDenied
from kefu.core.permissions import Actor
from kefu.customers import access as customer_access
from kefu.customers import phones
from kefu.customers.models import Customer
from kefu.messaging import access, outbox
from kefu.messaging import pages_common as pc
from kefu.messaging.models import Channel, Message, MessageStatus, MessageTemplate, Source
from kefu.messaging.permissions import LOG_VIEW, SEND
from kefu.org.models import User
from kefu.web.deps import Requires, SessionDep
from kefu.web.templating import render

router = APIRouter(prefix="/messaging", include_in_schema=False)
PAGE_SIZE = 30
FILTERS = ("channel", "status", "source", "to", "since", "until")


def _enum_filter(raw: str, enum: type[Any]) -> Any:
    return enum(raw) if raw in {e.value for e in enum} else None


def _sender_names(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).tuples().all())


@router.get("/log")
def log_page(request: Request, session: SessionDep, actor: Requires(LOG_VIEW), offset: int = 0) -> Response:
    """The send log, newest first; the result list alone for htmx."""
    raw = {key: request.query_params.get(key, "").strip()[:200] for key in FILTERS}
    offset = max(0, min(offset, 1_000_000))
    errors: dict[str, str] = {}
    stmt = access.restrict_messages(select(Message), actor)
    channel = _enum_filter(raw["channel"], Channel)
    status = _enum_filter(raw["status"], MessageStatus)
    source = _enum_filter(raw["source"], Source)
    if channel is not None:
        stmt = stmt.where(Message.channel == channel)
    if status is not None:
        stmt = stmt.where(Message.status == status)
    if source is not None:
        stmt = stmt.where(Message.source == source)
    if raw["to"]:
        to = raw["to"]
        key = to.lower() if "@" in to else phones.lookup_key(to)
        stmt = stmt.where(or_(Message.recipient == to, Message.recipient_key == (key or to)))
    for name, end in (("since", False), ("until", True)):
        try:
            bound = parse_local_time(raw[name], field=name, end=end)
        except FieldError as exc:
            errors[name] = exc.render(i18n.gettext)
            continue
        if bound is not None:
            stmt = stmt.where(Message.created_at >= bound if not end else Message.created_at < bound)
    rows: list[Message] = []
    total = 0
    if not errors:
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = list(session.scalars(stmt.order_by(Message.id.desc()).limit(PAGE_SIZE).offset(offset)))
    context = {
        "raw": raw,
        "errors": errors,
        "rows": rows,
        "total": total,
        "offset": offset,
        "page_size": PAGE_SIZE,
        "query_string": urlencode({k: v for k, v in raw.items() if v}),
        "senders": _sender_names(session, {r.created_by_id for r in rows if r.created_by_id}),
        "channels": pc.translated(pc.CHANNEL_LABELS),
        "statuses": pc.translated(pc.STATUS_LABELS),
        "sources": pc.translated(pc.SOURCE_LABELS),
        **pc.labels(),
    }
    fragment = pc.is_htmx(request.headers) and request.headers.get("hx-target") == "log-results"
    template = "messaging/messaging/_log_results.html" if fragment else "messaging/messaging/log.html"
    return render(request, template, context, status_code=422 if errors and not fragment else 200)


def _detail(
    request: Request,
    session: Session,
    actor: Actor,
    message: Message,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    customer = None
    if message.customer_id is not None and customer_access.can(
        session, actor, message.customer_id, customer_access.VIEW
    ):
        customer = session.get(Customer, message.customer_id)
    template = session.get(MessageTemplate, message.template_id) if message.template_id else None
    context = {
        "message": message,
        "customer": customer,
        "template": template,
        "business_type": pc.business_type_names(session).get(message.business_category_id or 0, ""),
        "sender": _sender_names(session, {message.created_by_id} if message.created_by_id else set()).get(
            message.created_by_id or 0, ""
        ),
        "can_retry": actor.can(SEND) and message.status is MessageStatus.FAILED,
        "errors": errors or {},
        **pc.labels(),
    }
    return render(request, "messaging/messaging/message.html", context, status_code=status)


@router.get("/log/{message_id}")
def message_page(
    request: Request, session: SessionDep, actor: Requires(LOG_VIEW), message_id: int
) -> Response:
    return _detail(request, session, actor, access.message(session, actor, message_id))


@router.post("/log/{message_id}/retry")
def retry(request: Request, session: SessionDep, actor: Requires(LOG_VIEW), message_id: int) -> Response:
    """Send a failed message again (needs the right to send, too)."""
    if not actor.can(SEND):
        raise PermissionDenied()
    try:
        outbox.retry(session, actor, message_id)
    except KefuError as exc:
        if exc.status_code != 409:
            raise
        errors = pc.messages(session, exc)
        message = access.message(session, actor, message_id)
        return _detail(request, session, actor, message, errors=errors, status=409)
    return RedirectResponse(f"/messaging/log/{message_id}", status_code=303)
