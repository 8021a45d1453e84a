"""Call statistics as a CSV or XLSX file (needs `callcenter.calls.export`; the export is audited).

A report has at most a few hundred rows (31 days of hours), so the file is built in memory with the
audit log's export helpers (the same CSV dialect, byte-order mark and formula-injection guards).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.audit.export import XLSX_MEDIA_TYPE, ExportFile, _csv_cell, _save_temp, _xlsx_cell
from kefu.audit.schemas import ExportFormat
from kefu.callcenter import stats
from kefu.callcenter.permissions import CALLS_EXPORT
from kefu.core import clock, i18n
from kefu.core.errors import PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor

GROUP_HEADERS = {
    stats.GroupBy.HOUR: lazy("Hour"),
    stats.GroupBy.DAY: lazy("Day"),
    stats.GroupBy.QUEUE: lazy("Queue"),
    stats.GroupBy.AGENT: lazy("Agent"),
}
# (Figures attribute, header msgid) in file order; rates are percentages.
COLUMNS = (
    ("inbound", lazy("Inbound calls")),
    ("outbound", lazy("Outbound calls")),
    ("offered", lazy("Offered")),
    ("answered", lazy("Answered calls")),
    ("abandoned", lazy("Abandoned calls")),
    ("missed", lazy("Missed calls")),
    ("self_service", lazy("Self-service")),
    ("outbound_answered", lazy("Outbound answered")),
    ("answered_in_threshold", lazy("Answered within threshold")),
    ("service_level", lazy("Service level (%)")),
    ("abandon_rate", lazy("Abandon rate (%)")),
    ("avg_wait", lazy("Average wait (s)")),
    ("avg_answer_speed", lazy("Average speed of answer (s)")),
    ("avg_talk", lazy("Average talk time (s)")),
    ("avg_hold", lazy("Average hold time (s)")),
    ("avg_handle", lazy("Average handling time (s)")),
)
RATES = frozenset({"service_level", "abandon_rate"})
TOTAL = lazy("Total")


def _value(figures: stats.Figures, attr: str) -> Any:
    value = getattr(figures, attr)
    if value is not None and attr in RATES:
        return round(value * 100, 2)
    return value


def table(report: stats.StatsReport) -> list[list[Any]]:
    """Header, one line per row, and the total line, in the reader's language."""
    flt = report.filter
    header = [i18n.gettext(GROUP_HEADERS[flt.group_by])] + [i18n.gettext(label) for _, label in COLUMNS]
    lines: list[list[Any]] = [header]
    for row in report.rows:
        lines.append([row.label] + [_value(row.figures, a) for a, _ in COLUMNS])
    lines.append([i18n.gettext(TOTAL)] + [_value(report.total, a) for a, _ in COLUMNS])
    return lines


def export(session: Session, *, actor: Actor, flt: stats.StatsFilter, fmt: ExportFormat) -> ExportFile:
    """The statistics of `flt` over the calls within the actor's export scope, as a file."""
    if not actor.can(CALLS_EXPORT):
        raise PermissionDenied()
    report = stats.report(session, actor, flt, permission=CALLS_EXPORT)
    described = {
        "date_from": flt.date_from.isoformat(),
        "date_to": flt.date_to.isoformat(),
        "group_by": flt.group_by.value,
        "queue_id": flt.queue_id,
        "threshold": flt.threshold,
    }
    audit.record(
        session,
        actor=actor,
        action="calls.stats.export",
        function="callcenter.calls",
        target_type="cc_call",
        summary=f"Exported call statistics as {fmt.value.upper()}: "
        + json.dumps(described, ensure_ascii=False, separators=(",", ":")),
        after={"format": fmt.value, "rows": len(report.rows), "filter": described},
    )
    lines = table(report)
    stamp = clock.to_local(clock.now()).strftime("%Y%m%d-%H%M%S")
    filename = (
        f"call-stats-{flt.date_from:%Y%m%d}-{flt.date_to:%Y%m%d}-{flt.group_by.value}-{stamp}.{fmt.value}"
    )
    if fmt is ExportFormat.CSV:
        buffer = io.StringIO()
        csv.writer(buffer).writerows([_csv_cell(v) for v in line] for line in lines)
        data = ("\ufeff" + buffer.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8
        return ExportFile(filename, "text/csv; charset=utf-8", len(report.rows), chunks=iter([data]))
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(i18n.gettext("Call statistics")[:31])
    sheet.freeze_panes = "B2"
    for line in lines:
        sheet.append([_xlsx_cell(sheet, v) for v in line])
    path = _save_temp(lambda fh: workbook.save(fh), ".xlsx")
    return ExportFile(filename, XLSX_MEDIA_TYPE, len(report.rows), path=path)
