"""The inbox page (消息)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kefu.notices import service
from kefu.web.deps import CurrentActor, SessionDep
from kefu.web.nav import NavItem, register
from kefu.web.templating import render

router = APIRouter(include_in_schema=False)
register(NavItem("workbench", "Messages", "/inbox", "bi-bell", order=20))
register(NavItem("workbench", "Start", "/", "bi-house", order=10))


@router.get("/inbox")
def inbox_page(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    unread_only: bool = False,
    before_id: int | None = None,
) -> Response:
    items = service.inbox(
        session, user_id=actor.user.id, unread_only=unread_only, before_id=before_id, limit=50
    )
    ctx = {
        "items": items,
        "unread_only": unread_only,
        "unread_count": service.unread_count(session, actor.user.id),
        "next_before": items[-1].id if len(items) == 50 else None,
    }
    return render(request, "notices/inbox.html", ctx)


@router.post("/inbox/read")
def mark_read_page(
    session: SessionDep, actor: CurrentActor, ids: Annotated[list[int] | None, Form()] = None
) -> Response:
    service.mark_read(session, actor=actor, ids=ids or None)
    return RedirectResponse("/inbox", status_code=303)


@router.get("/inbox/{notification_id}/open")
def open_message(session: SessionDep, actor: CurrentActor, notification_id: int) -> Response:
    """Mark one message read and go to what it is about."""
    row = service.get_own(session, actor=actor, notification_id=notification_id)
    if row.read_at is None:
        service.mark_read(session, actor=actor, ids=[row.id])
    return RedirectResponse(row.link or "/inbox", status_code=303)
