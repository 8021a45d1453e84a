"""Task screens (待办): the boxes, and one task with its action area (claim, complete) and the flow's
history. Each action is the same service call as the API route."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kefu.core import i18n
from kefu.core.errors import KefuError
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.web.deps import Requires, SessionDep
from kefu.web.nav import NavItem, register
from kefu.web.templating import render
from kefu.workflow.runtime import access, queries, service
from kefu.workflow.runtime.api import ANY_TASK_RIGHT, HANDLE

router = APIRouter(prefix="/workflow", include_in_schema=False)
register(NavItem("workflow", "My tasks", "/workflow/tasks", "bi-inbox", ANY_TASK_RIGHT, 5))

BOXES = (
    ("todo", lazy("To do")),
    ("pool", lazy("Task pool")),
    ("done", lazy("Done by me")),
    ("unassigned", lazy("Waiting for dispatch")),
    ("all", lazy("All tasks")),
)


@router.get("/tasks")
def task_list(
    request: Request, session: SessionDep, actor: Requires(*ANY_TASK_RIGHT), box: str = "todo"
) -> Response:
    box = box if box in dict(BOXES) else "todo"
    tasks = queries.list_tasks(session, actor, box=box, limit=100)
    return render(request, "workflow/tasks.html", {"tasks": tasks, "box": box, "boxes": BOXES})


def _detail(
    request: Request,
    session: SessionDep,
    actor: Actor,
    task_id: int,
    *,
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    task = access.load_task(session, actor, task_id)
    detail = queries.task_detail(session, task)
    context: dict[str, Any] = {
        "task": detail,
        "state_options": [(s.code, s.label) for s in detail.states],
        "flow": queries.instance_detail(session, task.instance),
        "errors": errors,
        "can_claim": task.dispatch == "grab"
        and task.assignee_id is None
        and actor.user.id in task.candidate_ids,
        "can_complete": task.assignee_id == actor.user.id and task.is_active and actor.can(HANDLE),
    }
    return render(request, "workflow/tasks_detail.html", context, status_code=status)


@router.get("/tasks/{task_id}")
def task_page(
    request: Request, session: SessionDep, actor: Requires(*ANY_TASK_RIGHT), task_id: int
) -> Response:
    return _detail(request, session, actor, task_id, errors={})


def _failed(request: Request, session: SessionDep, actor: Actor, task_id: int, exc: KefuError) -> Response:
    session.rollback()
    errors = {getattr(exc, "field", "_"): exc.render(i18n.gettext)}
    return _detail(request, session, actor, task_id, errors=errors, status=exc.status_code)


@router.post("/tasks/{task_id}/claim")
def claim(request: Request, session: SessionDep, actor: Requires(HANDLE), task_id: int) -> Response:
    try:
        service.claim_task(session, task=access.load_task(session, actor, task_id), actor=actor)
    except KefuError as exc:
        return _failed(request, session, actor, task_id, exc)
    return RedirectResponse(f"/workflow/tasks/{task_id}", status_code=303)


@router.post("/tasks/{task_id}/complete")
def complete(
    request: Request,
    session: SessionDep,
    actor: Requires(HANDLE),
    task_id: int,
    state: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    try:
        service.complete_task(
            session,
            task=access.load_task(session, actor, task_id),
            state=state or None,
            comment=comment,
            data=None,
            actor=actor,
        )
    except KefuError as exc:
        return _failed(request, session, actor, task_id, exc)
    return RedirectResponse("/workflow/tasks", status_code=303)
