"""The audit log and the error log over HTTP: search, detail, export (ORG-5, ORG-6)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from kefu.audit import export, query
from kefu.audit.models import AuditLog, ErrorLog
from kefu.audit.schemas import (
    AuditLogPage,
    AuditLogQuery,
    AuditLogRead,
    ErrorLogItem,
    ErrorLogPage,
    ErrorLogQuery,
    ErrorLogRead,
    ExportFormat,
)
from kefu.core import i18n
from kefu.core.errors import FieldError, NotFound
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

Limit = Annotated[int, Query(ge=1, le=500, description="Rows per page.")]
BeforeId = Annotated[int | None, Query(description="Only rows older than this id (the next page).")]
WithTotal = Annotated[bool, Query(description="Also count all matching rows (slower on big logs).")]


def query_error(exc: FieldError) -> RequestValidationError:
    """A FieldError about a query parameter, as FastAPI's own 422 (loc = ["query", field])."""
    return RequestValidationError(
        [{"loc": ("query", exc.field), "msg": exc.render(i18n.gettext), "type": "value_error"}]
    )


def audit_filters(q: Annotated[AuditLogQuery, Query()]) -> query.AuditFilter:
    try:
        return query.audit_filter_from(q)
    except FieldError as exc:
        raise query_error(exc) from None


def error_filters(q: Annotated[ErrorLogQuery, Query()]) -> query.ErrorFilter:
    try:
        return query.error_filter_from(q)
    except FieldError as exc:
        raise query_error(exc) from None


AuditFilters = Annotated[query.AuditFilter, Depends(audit_filters)]
ErrorFilters = Annotated[query.ErrorFilter, Depends(error_filters)]


@router.get("/log", response_model=AuditLogPage)
def search_audit_log(
    session: SessionDep,
    actor: Requires("audit.log.view"),
    filters: AuditFilters,
    before_id: BeforeId = None,
    limit: Limit = 50,
    with_total: WithTotal = False,
) -> AuditLogPage:
    """Audit records matching the filters, newest first, one keyset page at a time."""
    rows = query.search_audit(session, filters=filters, before_id=before_id, limit=limit + 1)
    return AuditLogPage(
        items=[AuditLogRead.model_validate(r) for r in rows[:limit]],
        next_before_id=rows[limit - 1].id if len(rows) > limit else None,
        total=query.count_audit(session, filters=filters) if with_total else None,
    )


@router.get(
    "/log/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, export.XLSX_MEDIA_TYPE: {}}}},
)
def export_audit_log(
    session: SessionDep,
    actor: Requires("audit.log.export"),
    filters: AuditFilters,
    format: ExportFormat = ExportFormat.CSV,
) -> Response:
    """The matching audit records as a CSV (UTF-8 with BOM) or XLSX file; the export is audited."""
    return export.export_audit(session, actor=actor, filters=filters, fmt=format).response()


@router.get("/log/{entry_id}", response_model=AuditLogRead)
def get_audit_entry(session: SessionDep, actor: Requires("audit.log.view"), entry_id: int) -> AuditLog:
    """One audit record with its before/after values."""
    row = session.get(AuditLog, entry_id)
    if row is None:
        raise NotFound()
    return row


def error_item(row: ErrorLog, username: str | None) -> ErrorLogItem:
    return ErrorLogItem(
        id=row.id,
        correlation_id=row.correlation_id,
        at=row.at,
        method=row.method,
        path=row.path,
        user_id=row.user_id,
        username=username,
        client_ip=row.client_ip,
        exc_type=row.exc_type,
        message=row.message,
    )


@router.get("/errors", response_model=ErrorLogPage)
def search_error_log(
    session: SessionDep,
    actor: Requires("audit.errors.view"),
    filters: ErrorFilters,
    before_id: BeforeId = None,
    limit: Limit = 50,
    with_total: WithTotal = False,
) -> ErrorLogPage:
    """Server errors matching the filters, newest first (tracebacks are in the detail)."""
    rows = query.search_errors(session, filters=filters, before_id=before_id, limit=limit + 1)
    return ErrorLogPage(
        items=[error_item(row, username) for row, username in rows[:limit]],
        next_before_id=rows[limit - 1][0].id if len(rows) > limit else None,
        total=query.count_errors(session, filters=filters) if with_total else None,
    )


@router.get("/errors/export", response_class=Response, responses={200: {"content": {"application/zip": {}}}})
def export_error_log(
    session: SessionDep, actor: Requires("audit.errors.export"), filters: ErrorFilters
) -> Response:
    """The matching errors as one zip to send to the vendor (errors.jsonl, manifest.json, README.txt)."""
    return export.export_errors(session, actor=actor, filters=filters).response()


@router.get("/errors/{error_id}", response_model=ErrorLogRead)
def get_error(session: SessionDep, actor: Requires("audit.errors.view"), error_id: int) -> ErrorLogRead:
    """One error with its traceback."""
    found = query.get_error(session, error_id)
    if found is None:
        raise NotFound()
    row, username = found
    return ErrorLogRead(**error_item(row, username).model_dump(), traceback=row.traceback)
