"""The ticket search page (综合查询): a condition form (the frequent ones open, the rest in a collapsed
advanced section), the result list with sorting and paging linking to each ticket, the export, and the
saved queries (自定义查询) to run, save, share and delete. Each action is the service call the API makes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit.schemas import ExportFormat
from kefu.core.errors import FieldError, FieldErrors, KefuError
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.org.models import Department, User
from kefu.tickets import finder, search_service
from kefu.tickets import page_views as views
from kefu.tickets.api import ANY_TICKET_RIGHT
from kefu.tickets.models import BusinessCategory, TicketType
from kefu.web import nav
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import FormDep, field_errors
from kefu.web.templating import render

router = APIRouter(prefix="/tickets/search", include_in_schema=False)
nav.register(nav.NavItem("workbench", "Ticket search", "/tickets/search", "bi-search", ANY_TICKET_RIGHT, 16))
Searcher = Requires(*ANY_TICKET_RIGHT)

SORT_LABELS = {
    "created": lazy("Created"),
    "updated": lazy("Last changed"),
    "serial": lazy("Serial number"),
    "priority": lazy("Urgency"),
}
CALLBACK_LABELS = {
    "yes": lazy("Has callback work"),
    "no": lazy("No callback work"),
    "done": lazy("Called back"),
}
ADVANCED = (
    "customer_pinyin",
    "category_id",
    "type_id",
    "accept_department_id",
    "accept_user_id",
    "department_id",
    "handler_id",
    "nature",
    "priority",
    "channel",
    "external_code",
    "terminal_no",
    "callback",
    "past_handler_id",
    "past_department_id",
    "parent_customer_id",
)


def _form_values(raw: Any) -> dict[str, Any]:
    """What the form shows: the parameters as given (also when they are bad)."""
    values: dict[str, Any] = {}
    for name in (*finder.FIELDS, *finder.CONTROL):
        if name == "status":
            values[name] = finder._many(raw, name)
        else:
            got = finder._one(raw, name)
            values[name] = "" if got is None else str(got)
    return values


def _choices(session: Session) -> dict[str, Any]:
    users = session.execute(
        select(User.id, User.name).where(User.is_active.is_(True)).order_by(User.name).limit(1000)
    ).all()
    depts = session.execute(
        select(Department.id, Department.name).where(Department.enabled.is_(True)).order_by(Department.path)
    ).all()
    categories = session.execute(
        select(BusinessCategory.id, BusinessCategory.name, BusinessCategory.path)
    ).all()
    return {
        "statuses": [(s, views.ticket_status(s)) for s in finder.STATUSES],
        "users": [(u.id, u.name) for u in users],
        "departments": [(d.id, d.name) for d in depts],
        "categories": [
            (c.id, "\u2003" * max(0, c.path.count("/") - 2) + c.name)
            for c in sorted(categories, key=lambda c: c.path or "")
        ],
        "types": [
            (t.id, t.name)
            for t in session.execute(select(TicketType.id, TicketType.name).order_by(TicketType.sort))
        ],
        "natures": views.options(session, views.CASE_NATURE),
        "priorities": views.options(session, views.URGENCY),
        "channels": views.options(session, views.CHANNEL),
        "callbacks": [(k, v) for k, v in CALLBACK_LABELS.items()],
        "sorts": list(SORT_LABELS.items()),
    }


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    raw: Any,
    *,
    errors: dict[str, str] | None = None,
    saved_id: int | None = None,
    status: int = 200,
) -> Response:
    errors = dict(errors or {})
    values = _form_values(raw)
    result = None
    c = None
    try:
        c = finder.parse(raw)
        result = finder.run(session, actor, c)
    except FieldError as exc:
        session.rollback()
        c = None
        errors = {**field_errors(exc), **errors}
        status = exc.status_code
    saved = search_service.visible(session, actor)
    rows = []
    if result is not None and result.rows:
        handlers = views.queries.names(session, {t.handler_id for t in result.rows})
        priorities = views.labels(session, views.URGENCY)
        rows = [
            (t, handlers.get(t.handler_id or 0, ""), priorities.get(t.priority, t.priority))
            for t in result.rows
        ]

    def link(**override: Any) -> str:
        assert c is not None
        return "/tickets/search?" + urlencode(c.query_pairs(**override))

    advanced_open = any(values.get(n) for n in ADVANCED) or any(k in ADVANCED for k in errors)
    ctx: dict[str, Any] = {
        "values": values,
        "errors": errors,
        "result": result,
        "rows": rows,
        "conditions": c,
        "link": link if c is not None else None,
        "saved": saved,
        "saved_owners": search_service.owner_names(session, saved),
        "saved_id": saved_id,
        "me": actor.user.id,
        "advanced_open": advanced_open,
        "can_export": actor.can(search_service.EXPORT),
        "export_query": urlencode(c.query_pairs()) if c is not None else "",
        "query_string": urlencode(c.query_pairs()) if c is not None else "",
        **_choices(session),
    }
    return render(request, "tickets/tickets/search.html", ctx, status_code=status)


@router.get("")
def search_page(request: Request, session: SessionDep, actor: Searcher, saved: int | None = None) -> Response:
    if saved is not None:
        try:
            q = search_service.get(session, actor, saved)
        except KefuError as exc:
            return _page(request, session, actor, {}, errors=field_errors(exc), status=exc.status_code)
        return _page(request, session, actor, dict(q.conditions or {}), saved_id=q.id)
    return _page(request, session, actor, request.query_params)


@router.get("/export")
def export(request: Request, session: SessionDep, actor: Requires(search_service.EXPORT)) -> Response:
    fmt_raw = request.query_params.get("format", "xlsx")
    try:
        fmt = ExportFormat(fmt_raw)
        c = finder.parse(request.query_params)
        return search_service.export(session, actor, c, fmt).response()
    except ValueError:
        return _page(
            request, session, actor, request.query_params, errors={"format": "csv / xlsx"}, status=422
        )
    except KefuError as exc:
        session.rollback()
        return _page(
            request, session, actor, request.query_params, errors=field_errors(exc), status=exc.status_code
        )


def _query_params(query: str) -> dict[str, list[str]]:
    from urllib.parse import parse_qs

    return parse_qs(query or "", keep_blank_values=False)


@router.post("/saved")
def save(request: Request, session: SessionDep, actor: Searcher, form: FormDep) -> Response:
    """Save the search shown (its query string) under a name, optionally shared."""
    params = _query_params(str(form.get("query") or ""))
    conditions = {
        k: v if len(v) > 1 or k == "status" else v[0] for k, v in params.items() if k not in ("page", "size")
    }
    data = {
        "name": str(form.get("name") or ""),
        "conditions": conditions,
        "shared": form.get("shared") == "1",
    }
    try:
        q = search_service.create(session, actor, data)
    except FieldErrors as exc:
        session.rollback()
        errors = {k.removeprefix("conditions."): v for k, v in field_errors(exc).items()}
        if "name" in errors:
            errors["save_name"] = errors.pop("name")
        return _page(request, session, actor, params, errors=errors, status=422)
    return RedirectResponse(f"/tickets/search?saved={q.id}", status_code=303)


@router.post("/saved/{query_id}/delete")
def delete_saved(request: Request, session: SessionDep, actor: Searcher, query_id: int) -> Response:
    try:
        search_service.delete(session, actor, query_id)
    except KefuError as exc:
        session.rollback()
        return _page(request, session, actor, {}, errors=field_errors(exc), status=exc.status_code)
    return RedirectResponse("/tickets/search", status_code=303)
