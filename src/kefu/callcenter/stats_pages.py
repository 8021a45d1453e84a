"""The call statistics page (话务统计): range, grouping, queue and threshold as a GET form; the table
and an ECharts chart of the same report the JSON API gives; CSV and Excel export links for holders
of `callcenter.calls.export`. Bad filter values re-show the form with the message by the field."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit.schemas import ExportFormat
from kefu.callcenter import stats, stats_export
from kefu.callcenter.models import CallQueue
from kefu.callcenter.permissions import CALLS_EXPORT, CALLS_VIEW
from kefu.core import i18n
from kefu.core.errors import FieldError
from kefu.core.i18n import lazy
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import field_errors
from kefu.web.templating import render

router = APIRouter(prefix="/callcenter", include_in_schema=False)

GROUP_LABELS = {
    stats.GroupBy.HOUR: lazy("By hour"),
    stats.GroupBy.DAY: lazy("By day"),
    stats.GroupBy.QUEUE: lazy("By queue"),
    stats.GroupBy.AGENT: lazy("By agent"),
}
DATE_FORMAT = lazy("Enter a date as YYYY-MM-DD")
WHOLE_SECONDS = lazy("Enter a whole number of seconds")
CHOOSE_GROUPING = lazy("Choose one of the offered groupings")


def _date(name: str, value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldError(name, DATE_FORMAT) from None


def _filter(session: Session, raw: dict[str, str]) -> stats.StatsFilter:
    """The page's form values as a checked filter (FieldError naming the first bad field)."""
    date_from, date_to = _date("date_from", raw["date_from"]), _date("date_to", raw["date_to"])
    try:
        group_by = stats.GroupBy(raw["group_by"] or stats.GroupBy.HOUR.value)
    except ValueError:
        raise FieldError("group_by", CHOOSE_GROUPING) from None
    threshold_text = raw["threshold"].strip() or str(stats.DEFAULT_THRESHOLD)
    if not threshold_text.isdigit() or len(threshold_text) > 6:
        raise FieldError("threshold", WHOLE_SECONDS)
    queue_text = raw["queue_id"].strip()
    if queue_text and (not queue_text.isdigit() or len(queue_text) > 18):
        raise FieldError("queue_id", stats.NO_SUCH_QUEUE)
    return stats.make_filter(
        session,
        date_from=date_from,
        date_to=date_to,
        group_by=group_by,
        queue_id=int(queue_text) if queue_text else None,
        threshold=int(threshold_text),
    )


def _raw(
    date_from: str | None,
    date_to: str | None,
    group_by: str | None,
    queue_id: str | None,
    threshold: str | None,
) -> dict[str, str]:
    values = {
        "date_from": date_from,
        "date_to": date_to,
        "group_by": group_by,
        "queue_id": queue_id,
        "threshold": threshold,
    }
    return {k: (v or "")[:40] for k, v in values.items()}


def _chart(report: stats.StatsReport) -> dict[str, Any]:
    """The series the page's chart draws (percentages for the service level)."""
    rows = report.rows
    return {
        "labels": [r.label for r in rows],
        "series": {
            "offered": [r.figures.offered for r in rows],
            "answered": [r.figures.answered for r in rows],
            "abandoned": [r.figures.abandoned for r in rows],
            "outbound": [r.figures.outbound for r in rows],
            "service_level": [
                round(r.figures.service_level * 100, 1) if r.figures.service_level is not None else None
                for r in rows
            ],
        },
        "names": {
            "offered": i18n.gettext("Offered"),
            "answered": i18n.gettext("Answered calls"),
            "abandoned": i18n.gettext("Abandoned calls"),
            "outbound": i18n.gettext("Outbound calls"),
            "service_level": i18n.gettext("Service level (%)"),
        },
    }


@router.get("/stats")
def stats_page(
    request: Request,
    session: SessionDep,
    actor: Requires(CALLS_VIEW),
    date_from: str | None = None,
    date_to: str | None = None,
    group_by: str | None = None,
    queue_id: str | None = None,
    threshold: str | None = None,
) -> Response:
    raw = _raw(date_from, date_to, group_by, queue_id, threshold)
    errors: dict[str, str] = {}
    report = None
    try:
        flt = _filter(session, raw)
    except FieldError as exc:
        errors = field_errors(exc)
    else:
        report = stats.report(session, actor, flt)
        raw = {
            "date_from": flt.date_from.isoformat(),
            "date_to": flt.date_to.isoformat(),
            "group_by": flt.group_by.value,
            "queue_id": str(flt.queue_id or ""),
            "threshold": str(flt.threshold),
        }
    context = {
        "raw": raw,
        "errors": errors,
        "report": report,
        "chart": _chart(report) if report else None,
        "groupings": GROUP_LABELS,
        "group_header": stats_export.GROUP_HEADERS,
        "queues": session.scalars(select(CallQueue).order_by(CallQueue.name, CallQueue.id)).all(),
        "qs": urlencode({k: v for k, v in raw.items() if v}),
        "can_export": actor.can(CALLS_EXPORT),
    }
    return render(request, "callcenter/stats.html", context, status_code=422 if errors else 200)


@router.get("/stats/export")
def stats_export_page(
    session: SessionDep,
    actor: Requires(CALLS_EXPORT),
    date_from: str | None = None,
    date_to: str | None = None,
    group_by: str | None = None,
    queue_id: str | None = None,
    threshold: str | None = None,
    format: ExportFormat = ExportFormat.CSV,
) -> Response:
    flt = _filter(session, _raw(date_from, date_to, group_by, queue_id, threshold))
    return stats_export.export(session, actor=actor, flt=flt, fmt=format).response()
