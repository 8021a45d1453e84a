"""The callback page (回访): my callbacks with a result form each, every callback in my scope, and the
team leader's assign panel. Each action is the same service call as the API route."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kefu.core import clock, i18n
from kefu.core.errors import FieldError, KefuError, NotFound
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.org.config.dictionary_cache import items as dictionary_items
from kefu.org.models import User
from kefu.tickets import callbacks
from kefu.tickets.callbacks import ASSIGN, HANDLE, NOT_REACHED_REASON, SATISFACTION, VIEW
from kefu.tickets.models import CallbackStatus
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import FormDep, field_errors
from kefu.web.nav import NavItem, register
from kefu.web.templating import render

router = APIRouter(prefix="/tickets/callbacks", include_in_schema=False)
register(
    NavItem(
        "workbench", "Callbacks", "/tickets/callbacks", "bi-telephone-outbound", (VIEW, ASSIGN, HANDLE), 40
    )
)
AnyRight = Requires(VIEW, ASSIGN, HANDLE)

STATUS_LABELS = {
    CallbackStatus.PENDING: lazy("To call"),
    CallbackStatus.UNREACHED: lazy("Not reached"),
    CallbackStatus.DONE: lazy("Called back"),
    CallbackStatus.CANCELLED: lazy("Cancelled"),
}
# Tab → (label, box, status); "assign" is the team leader's panel.
TABS = {
    "pending": (lazy("To call"), "mine", CallbackStatus.PENDING),
    "unreached": (lazy("Not reached"), "mine", CallbackStatus.UNREACHED),
    "done": (lazy("Called back"), "mine", CallbackStatus.DONE),
    "all": (lazy("All callbacks"), "all", None),
    "assign": (lazy("Assign callbacks"), None, None),
}
DEFAULT_DAYS = 7


def _tabs(actor: Actor) -> list[tuple[str, str]]:
    shown = []
    for code, (label, _box, _status) in TABS.items():
        if code in ("pending", "unreached", "done") and not actor.can(HANDLE):
            continue
        if code == "all" and not actor.can_any(VIEW, ASSIGN):
            continue
        if code == "assign" and not actor.can(ASSIGN):
            continue
        shown.append((code, label))
    return shown


def _options(session: Session, dictionary: str) -> list[tuple[str, str]]:
    try:
        found = dictionary_items(session, dictionary, include_disabled=True)
    except NotFound:
        return []
    locale = i18n.get_locale()
    return [(item.code, item.text(locale)) for item in found]


def _parse_day(value: Any, field: str, default: date) -> date:
    text = str(value or "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FieldError(field, "Enter a date as YYYY-MM-DD") from None


def _assign_panel(
    session: Session, actor: Actor, values: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    today = clock.to_local(clock.now()).date()
    found: list[callbacks.Candidate] = []
    try:
        closed_from = _parse_day(
            values.get("closed_from"), "closed_from", today - timedelta(days=DEFAULT_DAYS)
        )
        closed_to = _parse_day(values.get("closed_to"), "closed_to", today)
        values = {**values, "closed_from": closed_from.isoformat(), "closed_to": closed_to.isoformat()}
        found = callbacks.candidates(session, actor, closed_from=closed_from, closed_to=closed_to, limit=500)
    except FieldError as exc:
        errors = {**field_errors(exc), **errors}
    return {
        "candidates": found,
        "callers": callbacks.callers(session, actor),
        "form": {"mode": "even", "sample_percent": "", **values},
        "errors": errors,
    }


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    tab: str,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    error_task: int | None = None,
    assigned: int | None = None,
    status: int = 200,
) -> Response:
    tabs = _tabs(actor)
    if tab not in dict(tabs):
        tab = tabs[0][0] if tabs else "all"
    satisfaction, reasons = _options(session, SATISFACTION), _options(session, NOT_REACHED_REASON)
    ctx: dict[str, Any] = {
        "tabs": tabs,
        "tab": tab,
        "status_labels": STATUS_LABELS,
        "satisfaction_options": satisfaction,
        "satisfaction_labels": dict(satisfaction),
        "reason_options": reasons,
        "reason_labels": dict(reasons),
        "errors": errors or {},
        "error_task": error_task,
        "values": values or {},
        "can_assign": actor.can(ASSIGN),
        "me": actor.user.id,
        "assigned": assigned,
    }
    if tab == "assign":
        ctx["panel"] = _assign_panel(session, actor, values or {}, errors or {})
    else:
        _label, box, state = TABS[tab]
        tasks = callbacks.list_callbacks(
            session, actor, box="all" if box == "all" else "mine", status=state, limit=200
        )
        ids = {t.assignee_id for t in tasks if t.assignee_id is not None}
        names: dict[int, str] = {}
        if ids:
            stmt = select(User.id, User.name).where(User.id.in_(ids))
            names = {uid: name for uid, name in session.execute(stmt).tuples()}
        ctx |= {
            "tasks": tasks,
            "names": names,
            "callers": callbacks.callers(session, actor) if tab == "all" else [],
        }
    return render(request, "tickets/tickets/callbacks.html", ctx, status_code=status)


@router.get("")
def callbacks_page(
    request: Request,
    session: SessionDep,
    actor: AnyRight,
    tab: str = "",
    closed_from: str = "",
    closed_to: str = "",
    assigned: int | None = None,
) -> Response:
    values = {"closed_from": closed_from, "closed_to": closed_to}
    return _page(request, session, actor, tab=tab or "pending", values=values, assigned=assigned)


def _failed(
    request: Request, session: Session, actor: Actor, tab: str, exc: KefuError, **extra: Any
) -> Response:
    session.rollback()
    errors = field_errors(exc)
    return _page(request, session, actor, tab=tab, errors=errors, status=exc.status_code, **extra)


def _int_list(form: FormData, field: str) -> list[int]:
    try:
        return [int(str(v)) for v in form.getlist(field)]
    except ValueError:
        raise FieldError(field, "Invalid value") from None


@router.post("/assign")
def assign(request: Request, session: SessionDep, actor: Requires(ASSIGN), form: FormDep) -> Response:
    values: dict[str, Any] = {k: str(form.get(k, "")) for k in ("closed_from", "closed_to", "mode")}
    values["sample_percent"] = str(form.get("sample_percent", ""))
    values["ticket_ids"] = [str(v) for v in form.getlist("ticket_ids")]
    values["assignee_ids"] = [str(v) for v in form.getlist("assignee_ids")]
    try:
        percent = str(values["sample_percent"]).strip()
        if values["mode"] == "sample" and percent and not percent.isdigit():
            raise FieldError("sample_percent", "Enter a percentage from 1 to 100")
        tasks = callbacks.assign(
            session,
            actor,
            ticket_ids=_int_list(form, "ticket_ids"),
            assignee_ids=_int_list(form, "assignee_ids"),
            mode="sample" if values["mode"] == "sample" else "even",
            sample_percent=int(percent) if percent.isdigit() else None,
        )
    except KefuError as exc:
        return _failed(request, session, actor, "assign", exc, values=values)
    query = f"tab=assign&closed_from={values['closed_from']}&closed_to={values['closed_to']}"
    return RedirectResponse(f"/tickets/callbacks?{query}&assigned={len(tasks)}", status_code=303)


@router.post("/{task_id}/result")
def record_result(
    request: Request, session: SessionDep, actor: Requires(HANDLE), task_id: int, form: FormDep
) -> Response:
    values = {k: str(form.get(k, "")) for k in ("reached", "satisfaction", "not_reached_reason", "result")}
    try:
        version = int(str(form.get("version", "")))
    except ValueError:
        version = -1  # a form without its version is stale by definition
    try:
        callbacks.record_result(
            session,
            actor,
            callbacks.get_callback(session, actor, task_id),
            reached=values["reached"] != "0",
            satisfaction=values["satisfaction"] or None,
            result=values["result"],
            not_reached_reason=values["not_reached_reason"] or None,
            version=version,
        )
    except KefuError as exc:
        return _failed(request, session, actor, "pending", exc, values=values, error_task=task_id)
    return RedirectResponse("/tickets/callbacks?tab=pending", status_code=303)


def _action(request: Request, session: Session, actor: Actor, task_id: int, tab: str, act: Any) -> Response:
    try:
        act(callbacks.get_callback(session, actor, task_id))
    except KefuError as exc:
        return _failed(request, session, actor, tab, exc, error_task=task_id)
    return RedirectResponse(f"/tickets/callbacks?tab={tab}", status_code=303)


@router.post("/{task_id}/retry")
def retry(
    request: Request, session: SessionDep, actor: Requires(HANDLE, ASSIGN), task_id: int, form: FormDep
) -> Response:
    tab = "all" if form.get("from") == "all" else "unreached"
    return _action(request, session, actor, task_id, tab, lambda t: callbacks.retry(session, actor, t))


@router.post("/{task_id}/reassign")
def reassign(
    request: Request, session: SessionDep, actor: Requires(ASSIGN), task_id: int, form: FormDep
) -> Response:
    def act(task: Any) -> None:
        try:
            assignee_id = int(str(form.get("assignee_id", "")))
        except ValueError:
            raise FieldError("assignee_id", "Choose a caller") from None
        callbacks.reassign(session, actor, task, assignee_id)

    return _action(request, session, actor, task_id, "all", act)


@router.post("/{task_id}/cancel")
def cancel(request: Request, session: SessionDep, actor: Requires(ASSIGN), task_id: int) -> Response:
    return _action(request, session, actor, task_id, "all", lambda t: callbacks.cancel(session, actor, t))
