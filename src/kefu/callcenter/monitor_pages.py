"""The supervisor's monitor (座席监控) and the wallboard (大屏). The monitor's panel is rendered here
and reloaded (htmx) whenever the supervisors' event stream says a call or an agent changed, and every
half minute; the wallboard draws the JSON figures of `GET /api/v1/callcenter/wallboard` with ECharts
and refreshes them the same way."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from kefu.callcenter import monitor
from kefu.callcenter.pages import CALL_STATE_LABELS, STATE_LABELS
from kefu.callcenter.permissions import MONITOR
from kefu.core import clock, i18n
from kefu.core.errors import FieldError
from kefu.core.permissions import Actor
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import field_errors, optional_int
from kefu.web.templating import render

router = APIRouter(prefix="/callcenter", include_in_schema=False)


def _context(
    session: Session, actor: Actor, queue_id: str | None, department_id: str | None
) -> tuple[dict[str, Any], int]:
    chosen = {"queue_id": optional_int(queue_id), "department_id": optional_int(department_id)}
    errors: dict[str, str] = {}
    try:
        snap = monitor.snapshot(
            session, actor, queue_id=chosen["queue_id"], department_id=chosen["department_id"]
        )
    except FieldError as exc:  # a queue the supervisor may not see: show the others, say why
        errors = field_errors(exc)
        chosen["queue_id"] = None
        snap = monitor.snapshot(session, actor, department_id=chosen["department_id"])
    context = {
        "snap": snap,
        "chosen": chosen,
        "errors": errors,
        "qs": urlencode({k: v for k, v in chosen.items() if v is not None}),
        "state_labels": {s.value: label for s, label in STATE_LABELS.items()},
        "call_states": CALL_STATE_LABELS,
    }
    return context, 422 if errors else 200


@router.get("/monitor")
def monitor_page(
    request: Request,
    session: SessionDep,
    actor: Requires(MONITOR),
    queue_id: str | None = None,
    department_id: str | None = None,
) -> Response:
    context, status = _context(session, actor, queue_id, department_id)
    return render(request, "callcenter/monitor.html", context, status_code=status)


@router.get("/monitor/panel")
def monitor_panel(
    request: Request,
    session: SessionDep,
    actor: Requires(MONITOR),
    queue_id: str | None = None,
    department_id: str | None = None,
) -> Response:
    context, _status = _context(session, actor, queue_id, department_id)
    return render(request, "callcenter/_monitor_panel.html", context)


@router.get("/wallboard")
def wallboard_page(
    request: Request, session: SessionDep, actor: Requires(MONITOR), queue_id: str | None = None
) -> Response:
    queues = monitor.visible_queues(session, actor)
    chosen = optional_int(queue_id)
    if chosen not in {q.id for q in queues}:
        chosen = None
    labels = {
        "states": {s.value: i18n.gettext(label) for s, label in STATE_LABELS.items()},
        "offered": i18n.gettext("Offered"),
        "answered": i18n.gettext("Answered calls"),
        "abandoned": i18n.gettext("Abandoned calls"),
        "none": i18n.gettext("No agents logged in"),
    }
    context = {"queues": queues, "queue_id": chosen, "labels": labels, "time_zone": clock.local_tz().key}
    return render(request, "callcenter/wallboard.html", context)
