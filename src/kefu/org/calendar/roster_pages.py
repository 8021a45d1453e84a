"""Shift and roster pages: the shift list with its editor, and a department's week of users × days."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kefu.core import clock, i18n
from kefu.core.errors import FieldError, KefuError
from kefu.core.permissions import Actor
from kefu.org.calendar import roster, service, shifts
from kefu.org.calendar.models import Shift
from kefu.org.models import DataScope
from kefu.web.deps import Requires, SessionDep
from kefu.web.nav import NavItem, register
from kefu.web.templating import render

router = APIRouter(include_in_schema=False)
_SHIFT_PERMS = ("admin.shifts.view", "admin.shifts.edit")
register(NavItem("admin", "Shifts", "/admin/shifts", "bi-clock", _SHIFT_PERMS, 72))
register(NavItem("admin", "Roster", "/admin/roster", "bi-calendar-week", _SHIFT_PERMS, 74))
Viewer = Requires(*_SHIFT_PERMS)
Editor = Requires("admin.shifts.edit")


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


def _failed(session: Session, exc: KefuError) -> dict[str, str]:
    session.rollback()
    return {getattr(exc, "field", "_"): exc.render(i18n.gettext)}


# --- Shifts -------------------------------------------------------------------------------------------


def _shifts_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    edit: Shift | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    defaults = {"code": "", "name": "", "start": "09:00", "end": "18:00", "colour": "#0d6efd", "sort": 0}
    if edit is not None:
        defaults = {k: getattr(edit, k) for k in ("code", "name", "start", "end", "colour", "sort")}
        defaults["enabled"] = edit.enabled
    ctx = {
        "shifts": shifts.list_shifts(session),
        "edit": edit,
        "values": {"enabled": True, **defaults, **(values or {})},
        "errors": errors or {},
        "can_edit": actor.scope("admin.shifts.edit") is DataScope.ALL,
    }
    return render(request, "org/calendar/shifts.html", ctx, status_code=status)


@router.get("/admin/shifts")
def shifts_page(request: Request, session: SessionDep, actor: Viewer, edit: int | None = None) -> Response:
    shift = shifts.get_shift(session, edit) if edit is not None else None
    return _shifts_page(request, session, actor, edit=shift)


def _shift_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {
        k: str(form.get(k, "")).strip() for k in ("code", "name", "start", "end", "colour")
    }
    values["enabled"] = form.get("enabled") == "1"
    try:
        values["sort"] = int(str(form.get("sort", "0")) or 0)
    except ValueError:
        raise FieldError("sort", "Enter a whole number") from None
    return values


@router.post("/admin/shifts")
def create_shift(request: Request, session: SessionDep, actor: Editor, form: FormDep) -> Response:
    values = {k: str(v) for k, v in form.items()}
    try:
        values = _shift_values(form)
        shifts.create_shift(session, actor=actor, **values)
    except FieldError as exc:
        errors = _failed(session, exc)
        return _shifts_page(request, session, actor, errors=errors, values=values, status=422)
    return RedirectResponse("/admin/shifts", status_code=303)


@router.post("/admin/shifts/{shift_id}")
def update_shift(
    request: Request, session: SessionDep, actor: Editor, shift_id: int, form: FormDep
) -> Response:
    shift = shifts.get_shift(session, shift_id)
    values = {k: str(v) for k, v in form.items()}
    try:
        values = _shift_values(form)
        shifts.update_shift(session, actor=actor, shift=shift, changes=values)
    except FieldError as exc:
        errors = _failed(session, exc)
        shift = shifts.get_shift(session, shift_id)
        return _shifts_page(request, session, actor, edit=shift, errors=errors, values=values, status=422)
    return RedirectResponse("/admin/shifts", status_code=303)


@router.post("/admin/shifts/{shift_id}/delete")
def delete_shift(request: Request, session: SessionDep, actor: Editor, shift_id: int) -> Response:
    shifts.delete_shift(session, actor=actor, shift=shifts.get_shift(session, shift_id))
    return RedirectResponse("/admin/shifts", status_code=303)


# --- Roster -------------------------------------------------------------------------------------------


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _roster_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    department_id: int | None,
    week: date | None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    departments = roster.departments_for(session, actor)
    start = _monday(week or clock.to_local(clock.now()).date())
    end = start + timedelta(days=6)
    chosen = department_id or actor.user.department_id or (departments[0].id if departments else None)
    view = roster.roster(session, actor=actor, department_id=chosen, start=start, end=end) if chosen else None
    ctx = {
        "departments": departments,
        "view": view,
        "week": start,
        "prev_week": start - timedelta(days=7),
        "next_week": start + timedelta(days=7),
        "days": service.days(session, start, end),
        "shifts": shifts.list_shifts(session, enabled_only=True),
        "can_edit": actor.can("admin.shifts.edit"),
        "errors": errors or {},
        "values": values or {"start": start.isoformat(), "end": end.isoformat()},
    }
    return render(request, "org/calendar/roster.html", ctx, status_code=status)


@router.get("/admin/roster")
def roster_page(
    request: Request,
    session: SessionDep,
    actor: Viewer,
    department_id: int | None = None,
    week: date | None = None,
) -> Response:
    return _roster_page(request, session, actor, department_id=department_id, week=week)


@router.post("/admin/roster/cell/{user_id}/{day}")
def set_cell(
    request: Request, session: SessionDep, actor: Editor, user_id: int, day: date, form: FormDep
) -> Response:
    """Set one person's shift on one date from the grid's select (an htmx fragment back)."""
    shift_ids = [_int(form, "shift_id")] if str(form.get("shift_id", "")).strip() else []
    entries = roster.set_day(session, actor=actor, user_id=user_id, day=day, shift_ids=shift_ids)
    ctx = {
        "user_id": user_id,
        "day": day,
        "entries": entries,
        "shifts": shifts.list_shifts(session, enabled_only=True),
        "can_edit": True,
        "saved": True,
    }
    return render(request, "org/calendar/_roster_cell.html", ctx)


@router.post("/admin/roster/copy-week")
def copy_week(request: Request, session: SessionDep, actor: Editor, form: FormDep) -> Response:
    """Copy the previous week onto the week shown."""
    department_id, week = _int(form, "department_id"), _date(str(form.get("week", "")), "week")
    roster.copy_week(
        session,
        actor=actor,
        department_id=department_id,
        source_start=week - timedelta(days=7),
        target_start=week,
    )
    return RedirectResponse(f"/admin/roster?department_id={department_id}&week={week}", status_code=303)


@router.post("/admin/roster/assign")
def assign(request: Request, session: SessionDep, actor: Editor, form: FormDep) -> Response:
    """Assign (or, with action=clear, remove) a shift for the ticked people over a date range."""
    department_id, week = _int(form, "department_id"), _date(str(form.get("week", "")), "week")
    values = {k: str(form.get(k, "")) for k in ("shift_id", "start", "end")}
    values["only_workdays"] = form.get("only_workdays") == "1"
    try:
        user_ids = [int(str(v)) for v in form.getlist("user_ids") if str(v).isdigit()]
        if not user_ids:
            raise FieldError("user_ids", "Choose at least one person")
        start = _date(values["start"], "start")
        end = _date(values["end"], "end")
        if form.get("action") == "clear":
            shift_id = _int(form, "shift_id") if values["shift_id"] else None
            roster.clear(session, actor=actor, user_ids=user_ids, start=start, end=end, shift_id=shift_id)
        else:
            if not values["shift_id"]:
                raise FieldError("shift_id", "Choose a shift")
            roster.assign(
                session,
                actor=actor,
                user_ids=user_ids,
                shift_id=_int(form, "shift_id"),
                start=start,
                end=end,
                only_workdays=bool(values["only_workdays"]),
                replace=True,
            )
    except FieldError as exc:
        errors = _failed(session, exc)
        return _roster_page(
            request,
            session,
            actor,
            department_id=department_id,
            week=week,
            errors=errors,
            values=values,
            status=422,
        )
    return RedirectResponse(f"/admin/roster?department_id={department_id}&week={week}", status_code=303)


def _date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FieldError(field, "Enter a date as YYYY-MM-DD") from None


def _int(form: FormData, key: str) -> int:
    try:
        return int(str(form.get(key, "")).strip())
    except ValueError:
        raise FieldError(key, "Enter a whole number") from None
