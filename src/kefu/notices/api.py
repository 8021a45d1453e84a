"""Personal messages over HTTP, and the live stream that pushes them to open browsers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from sse_starlette.sse import EventSourceResponse

from kefu.core import events
from kefu.db import db
from kefu.notices import announcement_stream, service
from kefu.notices.models import Notification
from kefu.notices.schemas import InboxPage, MarkRead, MarkReadResult, MessageSend, NotificationRead
from kefu.web.deps import CurrentActor, Requires, SessionDep

router = APIRouter(prefix="/api/v1/notifications", tags=["messages"])


@router.get("", response_model=InboxPage)
def list_notifications(
    session: SessionDep,
    actor: CurrentActor,
    unread_only: bool = False,
    before_id: int | None = None,
    limit: int = 50,
) -> InboxPage:
    """My messages, newest first."""
    items = service.inbox(
        session,
        user_id=actor.user.id,
        unread_only=unread_only,
        before_id=before_id,
        limit=max(1, min(limit, 200)),
    )
    return InboxPage(
        unread=service.unread_count(session, actor.user.id),
        items=[NotificationRead.model_validate(i) for i in items],
    )


@router.post("/read", response_model=MarkReadResult)
def mark_read(session: SessionDep, actor: CurrentActor, body: MarkRead) -> MarkReadResult:
    """Mark some or all of my messages read."""
    changed = service.mark_read(session, actor=actor, ids=body.ids)
    return MarkReadResult(changed=changed, unread=service.unread_count(session, actor.user.id))


@router.post("/send", response_model=list[NotificationRead], status_code=201)
def send(
    session: SessionDep, actor: Requires("notices.messages.send"), body: MessageSend
) -> list[Notification]:
    """Send a message to colleagues."""
    return service.send_message(
        session, actor=actor, to_user_ids=body.to_user_ids, title=body.title, body=body.body, link=body.link
    )


def _unread(user_id: int) -> int:
    with db.unit_of_work() as s:
        return service.unread_count(s, user_id)


@router.get("/stream", include_in_schema=True)
async def stream(request: Request, actor: CurrentActor) -> EventSourceResponse:
    """Server-sent events: `notification` when a message arrives, `unread` when the count changes;
    announcements as `announcement_stream` describes."""
    user_id = actor.user.id

    async def generate() -> AsyncIterator[dict[str, str]]:
        yield await announcement_stream.opening(user_id)
        yield {"event": "unread", "data": json.dumps({"unread": await asyncio.to_thread(_unread, user_id)})}
        wanted = {*announcement_stream.TYPES, service.NOTIFICATION_CREATED, service.NOTIFICATIONS_READ}
        async for event in events.hub.subscribe(wanted, accept=lambda event: event.reaches(user_id)):
            if event.type in announcement_stream.TYPES:
                message = await announcement_stream.relay(event, user_id)
                if message is not None:
                    yield message
                continue
            if event.type == service.NOTIFICATION_CREATED:
                unread = await asyncio.to_thread(_unread, user_id)
                yield {
                    "event": "notification",
                    "data": json.dumps({**event.data, "unread": unread}, ensure_ascii=False),
                }
            elif event.type == service.NOTIFICATIONS_READ:
                yield {
                    "event": "unread",
                    "data": json.dumps({"unread": await asyncio.to_thread(_unread, user_id)}),
                }

    return EventSourceResponse(generate(), ping=15)
