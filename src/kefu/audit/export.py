"""Exporting the logs: the audit log as CSV or XLSX, the error log as one zip to send to the vendor.

Rows are read in keyset chunks as plain rows and written straight out — CSV streamed to the client,
XLSX through openpyxl's write-only workbook into a temporary file — so 100k rows never sit in memory.
Every export is itself audited, with its filter, and is capped by the `audit.export_max_rows`
system parameter; the cap is checked (by a count) before anything is written.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response, StreamingResponse

from kefu import __version__
from kefu.audit import query
from kefu.audit import service as audit
from kefu.audit.schemas import ExportFormat
from kefu.core import clock, i18n
from kefu.core.errors import KefuError, PermissionDenied
from kefu.core.permissions import CATALOGUE
from kefu.db import db
from kefu.org.config import parameters

if TYPE_CHECKING:
    from kefu.core.permissions import Actor

EXPORT_MAX_ROWS = parameters.declare(
    "audit.export_max_rows",
    "Most rows in one log export",
    int,
    200_000,
    group="audit",
    minimum=100,
    maximum=1_000_000,
)
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXCEL_CELL_MAX = 32_767

# (column, header msgid) in file order.
AUDIT_COLUMNS = (
    ("id", "ID"),
    ("at", "Time"),
    ("actor_name", "Operator"),
    ("actor_id", "Operator ID"),
    ("client_ip", "Client IP"),
    ("function", "Function"),
    ("action", "Action"),
    ("target_type", "Target type"),
    ("target_id", "Target ID"),
    ("target_label", "Target"),
    ("summary", "Summary"),
    ("before", "Old values"),
    ("after", "New values"),
    ("correlation_id", "Correlation ID"),
)


class ExportTooLarge(KefuError):
    status_code = 422
    code = "export_too_large"

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(
            "The selection has %(count)s rows; one export holds at most %(limit)s. "
            "Narrow the filter (for example the time range) and export in parts",
            count=count,
            limit=limit,
        )


@dataclass
class ExportFile:
    """A finished export: a temporary file (removed once sent) or a byte stream."""

    filename: str
    media_type: str
    rows: int
    path: Path | None = None
    chunks: Iterator[bytes] | None = None

    def response(self) -> Response:
        disposition = {"Content-Disposition": f'attachment; filename="{self.filename}"'}
        if self.path is not None:
            return FileResponse(
                self.path,
                media_type=self.media_type,
                headers=disposition,
                background=BackgroundTask(os.unlink, self.path),
            )
        assert self.chunks is not None
        return StreamingResponse(self.chunks, media_type=self.media_type, headers=disposition)


def _compact_json(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


def _stamp() -> str:
    return clock.to_local(clock.now()).strftime("%Y%m%d-%H%M%S")


def _check_size(session: Session, count: int) -> None:
    limit = int(parameters.get(session, EXPORT_MAX_ROWS))
    if count > limit:
        raise ExportTooLarge(count, limit)


# --- audit log ----------------------------------------------------------------------------------


def export_audit(
    session: Session, *, actor: Actor, filters: query.AuditFilter, fmt: ExportFormat
) -> ExportFile:
    """Export the audit rows matching `filters` (needs audit.log.export); the export is audited.

    Rows recorded after the request started (including this export's own record) are left out.
    Raises ExportTooLarge when the selection exceeds `audit.export_max_rows`.
    """
    if not actor.can("audit.log.export"):
        raise PermissionDenied()
    max_id = query.last_audit_id(session)
    count = query.count_audit(session, filters=filters)
    _check_size(session, count)
    described = query.describe(filters)
    audit.record(
        session,
        actor=actor,
        action="audit.export",
        function="audit.log",
        target_type="audit_log",
        summary=f"Exported {count} row(s) as {fmt.value.upper()}; filter: {_compact_json(described) or '{}'}",
        after={"format": fmt.value, "rows": count, "filter": described},
    )
    session.flush()
    headers = _audit_headers()
    labels = {code: i18n.gettext(fn.label) for code, fn in CATALOGUE.items()}
    filename = f"audit-log-{_stamp()}.{fmt.value}"
    if fmt is ExportFormat.CSV:
        chunks = _audit_csv(filters, max_id=max_id, headers=headers, labels=labels)
        return ExportFile(filename, "text/csv; charset=utf-8", count, chunks=chunks)
    path = _audit_xlsx(session, filters, max_id=max_id, headers=headers, labels=labels)
    return ExportFile(filename, XLSX_MEDIA_TYPE, count, path=path)


def _audit_headers() -> list[str]:
    headers = [i18n.gettext(label) for _, label in AUDIT_COLUMNS]
    headers[1] = f"{headers[1]} ({clock.local_tz().key})"
    return headers


def _audit_values(row: Any, labels: dict[str, str]) -> list[Any]:
    return [
        row.id,
        clock.to_local(row.at).replace(tzinfo=None),
        row.actor_name,
        row.actor_id,
        row.client_ip,
        labels.get(row.function, row.function),
        row.action,
        row.target_type,
        row.target_id,
        row.target_label,
        row.summary,
        _compact_json(row.before),
        _compact_json(row.after),
        row.correlation_id,
    ]


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    # A leading = + - @ would make a spreadsheet evaluate the text as a formula (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _audit_csv(
    filters: query.AuditFilter, *, max_id: int, headers: list[str], labels: dict[str, str]
) -> Iterator[bytes]:
    """The CSV as UTF-8 with a byte-order mark (so Excel reads Chinese right), one chunk at a time.

    Reads through its own session: the request's session is committed and closed before the
    body is sent."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    session = db.session()
    try:
        for rows in query.scan_audit(session, filters=filters, max_id=max_id):
            buffer.seek(0)
            buffer.truncate()
            writer.writerows([_csv_cell(v) for v in _audit_values(r, labels)] for r in rows)
            yield buffer.getvalue().encode("utf-8")
    finally:
        session.close()


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("", value)[:EXCEL_CELL_MAX]
    if text.startswith("="):
        # openpyxl would store it as a formula; keep it text.
        cell = WriteOnlyCell(sheet, text)
        cell.data_type = "s"
        return cell
    return text


def _audit_xlsx(
    session: Session, filters: query.AuditFilter, *, max_id: int, headers: list[str], labels: dict[str, str]
) -> Path:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(i18n.gettext("Audit log")[:31])
    sheet.freeze_panes = "A2"
    sheet.append(headers)
    for rows in query.scan_audit(session, filters=filters, max_id=max_id):
        for r in rows:
            sheet.append([_xlsx_cell(sheet, v) for v in _audit_values(r, labels)])
    return _save_temp(lambda fh: workbook.save(fh), ".xlsx")


def _save_temp(write: Any, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix="kefu-export-", suffix=suffix)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


# --- error log ----------------------------------------------------------------------------------


def export_errors(session: Session, *, actor: Actor, filters: query.ErrorFilter) -> ExportFile:
    """The selected errors as one zip for the vendor: `errors.jsonl` (one error per line, with its
    traceback), `manifest.json` and a `README.txt` (product version, export time, filter, runtime).
    Needs audit.errors.export; the export is audited. Raises ExportTooLarge over the cap."""
    if not actor.can("audit.errors.export"):
        raise PermissionDenied()
    max_id = query.last_error_id(session)
    count = query.count_errors(session, filters=filters)
    _check_size(session, count)
    described = query.describe(filters)
    audit.record(
        session,
        actor=actor,
        action="error_log.export",
        function="audit.errors",
        target_type="error_log",
        summary=f"Exported {count} error(s) for the vendor; filter: {_compact_json(described) or '{}'}",
        after={"rows": count, "filter": described},
    )
    now = clock.now()
    manifest = {
        "product": "kefu",
        "version": __version__,
        "exported_at": now.isoformat(),
        "exported_at_local": clock.to_local(now).isoformat(),
        "time_zone": clock.local_tz().key,
        "exported_by": f"{actor.user.name} ({actor.user.username})",
        "rows": count,
        "filter": described,
        "database": session.get_bind().dialect.name,
        "python": sys.version.split()[0],
        "platform": platform.platform(terse=True),
    }

    def write(fh: Any) -> None:
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            with archive.open("errors.jsonl", "w", force_zip64=True) as out:
                for rows in query.scan_errors(session, filters=filters, max_id=max_id):
                    for r in rows:
                        out.write(_error_line(r).encode("utf-8"))
            archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
            archive.writestr("README.txt", _readme(manifest))

    path = _save_temp(write, ".zip")
    return ExportFile(f"kefu-errors-{_stamp()}.zip", "application/zip", count, path=path)


def _error_line(row: Any) -> str:
    record = {
        "id": row.id,
        "correlation_id": row.correlation_id,
        "at": row.at.isoformat(),
        "at_local": clock.to_local(row.at).isoformat(),
        "method": row.method,
        "path": row.path,
        "user_id": row.user_id,
        "username": row.username,
        "client_ip": row.client_ip,
        "exc_type": row.exc_type,
        "message": row.message,
        "traceback": row.traceback,
    }
    return json.dumps(record, ensure_ascii=False) + "\n"


def _readme(manifest: dict[str, Any]) -> str:
    filter_text = _compact_json(manifest["filter"]) or "{}"
    return (
        "kefu error log export\r\n"
        "=====================\r\n\r\n"
        f"Product version:  kefu {manifest['version']}\r\n"
        f"Exported at:      {manifest['exported_at_local']} ({manifest['time_zone']})\r\n"
        f"Exported by:      {manifest['exported_by']}\r\n"
        f"Errors:           {manifest['rows']}\r\n"
        f"Filter:           {filter_text}\r\n"
        f"Database:         {manifest['database']}\r\n"
        f"Python:           {manifest['python']} on {manifest['platform']}\r\n\r\n"
        "errors.jsonl holds one JSON object per line, newest first: id, correlation_id (the reference\r\n"
        "the user was shown), at (UTC) and at_local, method, path, user_id, username, client_ip,\r\n"
        "exc_type, message and traceback. manifest.json repeats the facts above for tools.\r\n"
        "Tracebacks and messages may contain customer data: share this file only with the vendor.\r\n"
    )
