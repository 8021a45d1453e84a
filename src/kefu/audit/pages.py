"""Audit log (操作日志) and error log (错误日志) pages. Filtering re-renders the panel through htmx;
every action here is also in `kefu.audit.api`."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from kefu.audit import export, query
from kefu.audit.schemas import AuditLogQuery, ErrorLogQuery, ExportFormat
from kefu.core import i18n
from kefu.core.errors import FieldError, NotFound
from kefu.core.permissions import CATALOGUE
from kefu.web.deps import Requires, SessionDep
from kefu.web.nav import NavItem, register
from kefu.web.templating import render

router = APIRouter(include_in_schema=False)
register(
    NavItem("audit", "Audit log", "/audit", "bi-journal-text", permissions=("audit.log.view",), order=10)
)
register(
    NavItem("audit", "Error log", "/audit/errors", "bi-bug", permissions=("audit.errors.view",), order=20)
)

PAGE_SIZE = 50


def _query_string(raw: BaseModel) -> str:
    """The filter as a query string (non-empty fields only), for paging and export links."""
    return urlencode({k: v for k, v in raw.model_dump().items() if v not in (None, "")})


def _shown(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """(field, before, after) for every field either side names."""
    old, new = before or {}, after or {}
    keys = list(dict.fromkeys([*old, *new]))
    return [(k, _shown(old.get(k)), _shown(new.get(k))) for k in keys]


def _panel(request: Request, *, page: str, panel: str, panel_id: str, ctx: dict[str, Any]) -> Response:
    """The whole page, or only the panel when htmx asks for it.

    htmx does not swap 4xx answers, so a panel with field errors is sent as 200 (the errors are
    shown beside the fields); the full page says 422."""
    partial = request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == panel_id
    status = 422 if ctx["errors"] and not partial else 200
    return render(request, panel if partial else page, ctx, status_code=status)


@router.get("/audit")
def audit_log_page(
    request: Request,
    session: SessionDep,
    actor: Requires("audit.log.view"),
    raw: Annotated[AuditLogQuery, Query()],
    before_id: int | None = None,
    with_total: bool = False,
) -> Response:
    errors: dict[str, str] = {}
    rows: list[Any] = []
    total = None
    try:
        filters = query.audit_filter_from(raw)
    except FieldError as exc:
        errors[exc.field] = exc.render(i18n.gettext)
    else:
        rows = query.search_audit(session, filters=filters, before_id=before_id, limit=PAGE_SIZE + 1)
        total = query.count_audit(session, filters=filters) if with_total else None
    functions = sorted(((code, i18n.gettext(fn.label)) for code, fn in CATALOGUE.items()), key=lambda f: f[0])
    ctx = {
        "raw": raw,
        "errors": errors,
        "rows": [(r, _changes(r.before, r.after)) for r in rows[:PAGE_SIZE]],
        "next_before": rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None,
        "before_id": before_id,
        "total": total,
        "qs": _query_string(raw),
        "functions": functions,
        "function_labels": dict(functions),
        "can_export": actor.can("audit.log.export"),
    }
    return _panel(
        request, page="audit/log.html", panel="audit/_log_panel.html", panel_id="audit-panel", ctx=ctx
    )


@router.get("/audit/export")
def audit_log_export(
    session: SessionDep,
    actor: Requires("audit.log.export"),
    raw: Annotated[AuditLogQuery, Query()],
    format: ExportFormat = ExportFormat.CSV,
) -> Response:
    filters = query.audit_filter_from(raw)
    return export.export_audit(session, actor=actor, filters=filters, fmt=format).response()


@router.get("/audit/errors")
def error_log_page(
    request: Request,
    session: SessionDep,
    actor: Requires("audit.errors.view"),
    raw: Annotated[ErrorLogQuery, Query()],
    before_id: int | None = None,
    with_total: bool = False,
) -> Response:
    errors: dict[str, str] = {}
    rows: list[Any] = []
    total = None
    try:
        filters = query.error_filter_from(raw)
    except FieldError as exc:
        errors[exc.field] = exc.render(i18n.gettext)
    else:
        rows = query.search_errors(session, filters=filters, before_id=before_id, limit=PAGE_SIZE + 1)
        total = query.count_errors(session, filters=filters) if with_total else None
    ctx = {
        "raw": raw,
        "errors": errors,
        "rows": rows[:PAGE_SIZE],
        "next_before": rows[PAGE_SIZE - 1][0].id if len(rows) > PAGE_SIZE else None,
        "before_id": before_id,
        "total": total,
        "qs": _query_string(raw),
        "can_export": actor.can("audit.errors.export"),
    }
    return _panel(
        request, page="audit/errors.html", panel="audit/_errors_panel.html", panel_id="errors-panel", ctx=ctx
    )


@router.get("/audit/errors/export")
def error_log_export(
    session: SessionDep, actor: Requires("audit.errors.export"), raw: Annotated[ErrorLogQuery, Query()]
) -> Response:
    filters = query.error_filter_from(raw)
    return export.export_errors(session, actor=actor, filters=filters).response()


@router.get("/audit/errors/{error_id}")
def error_detail_page(
    request: Request, session: SessionDep, actor: Requires("audit.errors.view"), error_id: int
) -> Response:
    found = query.get_error(session, error_id)
    if found is None:
        raise NotFound()
    row, username = found
    return render(
        request,
        "audit/error_detail.html",
        {"row": row, "username": username, "can_view_audit": actor.can("audit.log.view")},
    )
