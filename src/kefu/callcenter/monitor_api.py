"""Supervision over HTTP: call statistics (CC-9) with their export, the live monitor of queues and
agents (CC-6), the wallboard's figures (CC-7) and the supervisors' event stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sse_starlette.sse import EventSourceResponse

from kefu.audit.export import XLSX_MEDIA_TYPE
from kefu.audit.schemas import ExportFormat
from kefu.callcenter import agents, cti, monitor, stats, stats_export
from kefu.callcenter.monitor_schemas import BoardRead, MonitorRead, StatsRead
from kefu.callcenter.permissions import CALLS_EXPORT, CALLS_VIEW, MONITOR
from kefu.core import clock, events
from kefu.core.errors import PermissionDenied
from kefu.web.deps import CurrentActor, Requires, SessionDep

router = APIRouter(prefix="/api/v1/callcenter", tags=["callcenter"])

# What moves a monitor: a call changed, an agent's state changed.
MONITOR_EVENTS = frozenset({cti.CALL_UPDATED, agents.AGENT_STATE})

DateFrom = Query(default=None, description="First local day (default: today).")
DateTo = Query(default=None, description="Last local day, included (default: the first).")
Threshold = Query(default=stats.DEFAULT_THRESHOLD, description="Service-level threshold in seconds.")


@router.get("/stats", response_model=StatsRead)
def call_stats(
    session: SessionDep,
    actor: Requires(CALLS_VIEW),
    date_from: date | None = DateFrom,
    date_to: date | None = DateTo,
    group_by: stats.GroupBy = stats.GroupBy.HOUR,
    queue_id: int | None = None,
    threshold: int = Threshold,
) -> StatsRead:
    """Call statistics (话务统计) of the calls within my data scope that started in the range of
    local days, per local hour or day, queue or agent, with the total."""
    flt = stats.make_filter(
        session,
        date_from=date_from,
        date_to=date_to,
        group_by=group_by,
        queue_id=queue_id,
        threshold=threshold,
    )
    report = stats.report(session, actor, flt)
    return StatsRead.model_validate(
        {"filter": flt, "time_zone": clock.local_tz().key, "rows": report.rows, "total": report.total}
    )


@router.get(
    "/stats/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}}}},
)
def export_call_stats(
    session: SessionDep,
    actor: Requires(CALLS_EXPORT),
    date_from: date | None = DateFrom,
    date_to: date | None = DateTo,
    group_by: stats.GroupBy = stats.GroupBy.HOUR,
    queue_id: int | None = None,
    threshold: int = Threshold,
    format: ExportFormat = ExportFormat.CSV,
) -> Response:
    """The same statistics as a CSV (UTF-8 with BOM) or XLSX file; the export is audited."""
    flt = stats.make_filter(
        session,
        date_from=date_from,
        date_to=date_to,
        group_by=group_by,
        queue_id=queue_id,
        threshold=threshold,
    )
    return stats_export.export(session, actor=actor, flt=flt, fmt=format).response()


@router.get("/monitor", response_model=MonitorRead)
def live_monitor(
    session: SessionDep,
    actor: Requires(MONITOR),
    queue_id: int | None = None,
    department_id: int | None = None,
) -> MonitorRead:
    """Queues (calls waiting, longest wait, agents by state, today's calls and service level) and
    logged-in agents (state and since when, reason, current call, calls today) within my scope."""
    snap = monitor.snapshot(session, actor, queue_id=queue_id, department_id=department_id)
    return MonitorRead.model_validate(snap)


@router.get("/wallboard", response_model=BoardRead)
def wallboard(session: SessionDep, actor: Requires(MONITOR), queue_id: int | None = None) -> BoardRead:
    """The wallboard's figures: agents by state, calls waiting, today's figures and calls per half hour."""
    return BoardRead.model_validate(monitor.board(session, actor, queue_id=queue_id))


@router.get("/monitor/stream")
async def monitor_stream(request: Request, actor: CurrentActor) -> EventSourceResponse:
    """Server-sent `changed` events for the monitor and the wallboard whenever a call or an agent's
    state changes (no data: the page reloads the figures it may see). Supervisors only (403)."""
    if not actor.can(MONITOR):  # checked here, not by a gate: a stream that never ends tests badly
        raise PermissionDenied()
    return EventSourceResponse(changes(events.hub.subscribe(MONITOR_EVENTS)), ping=15)


async def changes(source: AsyncIterator[events.Event]) -> AsyncIterator[dict[str, str]]:
    """One `changed` message per call or agent-state event of `source`."""
    async for event in source:
        if event.type in MONITOR_EVENTS:
            yield {"event": "changed", "data": event.type}
