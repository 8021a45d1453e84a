"""The tracking view (流程跟踪, WF-8): an instance's BPMN diagram with the path taken, the current
node(s) and overdue tasks highlighted, and the node history with durations against the limits."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kefu.core import clock
from kefu.web.deps import Requires, SessionDep
from kefu.web.templating import render
from kefu.workflow.runtime import access, queries
from kefu.workflow.runtime.api import ANY_TASK_RIGHT

router = APIRouter(prefix="/workflow", include_in_schema=False)


@router.get("/instances/{instance_id}")
def tracking(
    request: Request, session: SessionDep, actor: Requires(*ANY_TASK_RIGHT), instance_id: int
) -> Response:
    instance = access.load_instance(session, actor, instance_id)
    detail = queries.instance_detail(session, instance)
    now = clock.now()
    open_tasks = [t for t in detail.tasks if t.status in ("open", "claimed")]
    current = sorted({t.node_id for t in open_tasks})
    late = sorted({t.node_id for t in open_tasks if t.due_at is not None and t.due_at < now})
    done = [n for n in dict.fromkeys(detail.path) if n not in current]
    markers = {"done": done, "current": current, "late": late}
    return render(
        request,
        "workflow/tracking.html",
        {
            "instance": instance,
            "detail": detail,
            "markers": markers,
            "bpmn_xml": instance.version.bpmn_xml,
            "open_tasks": open_tasks,
            "nodes": instance.version.nodes or {},
        },
    )
