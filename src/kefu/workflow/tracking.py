"""The tracking view (流程跟踪, WF-8): an instance's BPMN diagram with the path taken, the current
node(s) and overdue tasks highlighted, the node history with durations against the limits, and the
interventions a flow manager may make (dispatch, return, suspend/resume, cancel)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import clock, i18n
from kefu.core.errors import KefuError, NotFound
from kefu.core.permissions import Actor
from kefu.org.models import User
from kefu.web.deps import Requires, SessionDep
from kefu.web.templating import render
from kefu.workflow.runtime import access, queries, service
from kefu.workflow.runtime.api import ANY_TASK_RIGHT, DISPATCH, MANAGE

router = APIRouter(prefix="/workflow", include_in_schema=False)


@router.get("/instances/{instance_id}")
def tracking(
    request: Request, session: SessionDep, actor: Requires(*ANY_TASK_RIGHT), instance_id: int
) -> Response:
    return _page(request, session, actor, instance_id)


def _page(
    request: Request, session: Session, actor: Actor, instance_id: int, *, error: str = "", status: int = 200
) -> Response:
    instance = access.load_instance(session, actor, instance_id)
    detail = queries.instance_detail(session, instance)
    now = clock.now()
    open_tasks = [t for t in detail.tasks if t.status in ("open", "claimed")]
    current = sorted({t.node_id for t in open_tasks})
    late = sorted({t.node_id for t in open_tasks if t.due_at is not None and t.due_at < now})
    done = [n for n in dict.fromkeys(detail.path) if n not in current]
    nodes = instance.version.nodes or {}
    # Only user tasks the flow has passed can be returned to (退回).
    returnable = [
        (n, nodes.get(n, {}).get("name", n))
        for n in dict.fromkeys(detail.path)
        if nodes.get(n, {}).get("kind") == "user_task" and n not in current
    ]
    staff: list[User] = []
    if actor.can(DISPATCH):
        staff = list(session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.name)))
    context = {
        "instance": instance,
        "detail": detail,
        "markers": {"done": done, "current": current, "late": late},
        "bpmn_xml": instance.version.bpmn_xml,
        "open_tasks": open_tasks,
        "nodes": nodes,
        "returnable": returnable,
        "staff": staff,
        "error": error,
        "can_manage": actor.can(MANAGE),
        "can_dispatch": actor.can(DISPATCH),
    }
    return render(request, "workflow/tracking.html", context, status_code=status)


def _failed(request: Request, session: Session, actor: Actor, instance_id: int, exc: KefuError) -> Response:
    if exc.status_code in (403, 404):
        raise exc
    session.rollback()
    return _page(request, session, actor, instance_id, error=exc.render(i18n.gettext), status=exc.status_code)


@router.post("/instances/{instance_id}/tasks/{task_id}/assign")
def dispatch(
    request: Request,
    session: SessionDep,
    actor: Requires(DISPATCH),
    instance_id: int,
    task_id: int,
    user_id: Annotated[int, Form()] = 0,
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Dispatch (手动分派) or reassign (改派) one of the flow's current tasks."""
    task = access.load_task(session, actor, task_id, DISPATCH)
    if task.instance_id != instance_id:
        raise NotFound()
    try:
        service.assign_task(session, task=task, user_id=user_id, comment=comment, actor=actor)
    except KefuError as exc:
        return _failed(request, session, actor, instance_id, exc)
    return RedirectResponse(f"/workflow/instances/{instance_id}", status_code=303)


@router.post("/instances/{instance_id}/{action}")
def steer(
    request: Request,
    session: SessionDep,
    actor: Requires(MANAGE),
    instance_id: int,
    action: str,
    node_id: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Return to an earlier node, suspend, resume or cancel the flow (流程干预)."""
    if action not in ("return", "suspend", "resume", "cancel"):
        raise NotFound()
    instance = access.load_instance(session, actor, instance_id, MANAGE)
    try:
        if action == "return":
            service.return_to_node(session, instance=instance, node_id=node_id, comment=comment, actor=actor)
        elif action == "suspend":
            service.suspend_instance(session, instance=instance, comment=comment, actor=actor)
        elif action == "resume":
            service.resume_instance(session, instance=instance, comment=comment, actor=actor)
        else:
            service.cancel_instance(session, instance=instance, comment=comment, actor=actor)
    except KefuError as exc:
        return _failed(request, session, actor, instance_id, exc)
    return RedirectResponse(f"/workflow/instances/{instance_id}", status_code=303)
