"""The business calendar page (工作日历): a year of months, the day editor, weekly hours, holiday entry.

Every action calls the same service as the JSON API. htmx requests get fragments; a form with bad
input comes back with the message beside the field and status 422. The shift and roster pages are in
`roster_pages`.
"""

from __future__ import annotations

import calendar as month_calendar
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kefu.core import clock, i18n
from kefu.core.errors import FieldError, KefuError
from kefu.core.permissions import Actor
from kefu.org.calendar import hours as hours_service
from kefu.org.calendar import service
from kefu.org.calendar.common import format_wall_time
from kefu.web.deps import Requires, SessionDep
from kefu.web.nav import NavItem, register
from kefu.web.templating import render

router = APIRouter(include_in_schema=False)
register(
    NavItem(
        "admin",
        "Business calendar",
        "/admin/calendar",
        "bi-calendar3",
        ("admin.calendar.view", "admin.calendar.edit"),
        70,
    )
)
Viewer = Requires("admin.calendar.view", "admin.calendar.edit")
Editor = Requires("admin.calendar.edit")
HOLIDAY_ROWS = 10
# The statutory holidays, prefilled in the entry form (msgids; chinesecalendar uses the same names).
HOLIDAY_NAMES = (
    "New Year's Day",
    "Spring Festival",
    "Tomb-sweeping Day",
    "Labour Day",
    "Dragon Boat Festival",
    "Mid-autumn Festival",
    "National Day",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _today() -> date:
    return clock.to_local(clock.now()).date()


def _message(session: Session, exc: KefuError) -> dict[str, str]:
    session.rollback()
    return {getattr(exc, "field", "_"): exc.render(i18n.gettext)}


# --- The year ---------------------------------------------------------------------------------------


def _year_context(session: Session, year: int) -> dict[str, Any]:
    infos = {d.day: d for d in service.days(session, date(year, 1, 1), date(year, 12, 31))}
    weeks = month_calendar.Calendar(firstweekday=0)
    months = [
        (
            month,
            [
                [(d, infos[d]) if d.month == month else None for d in week]
                for week in weeks.monthdatescalendar(year, month)
            ],
        )
        for month in range(1, 13)
    ]
    return {"year": year, "months": months, "today": _today()}


def _hours_rows(session: Session) -> tuple[list[dict[str, Any]], bool]:
    hours, configured = hours_service.working_hours(session)
    rows = [
        {
            "weekday": weekday,
            "label": WEEKDAYS[weekday],
            "text": ", ".join(
                f"{format_wall_time(s.start)}-{format_wall_time(s.end, end_of_day=True)}"
                for s in hours.spans(weekday)
            ),
            "minutes": int(hours.daily_total(weekday).total_seconds() // 60),
            "error": "",
        }
        for weekday in range(7)
    ]
    return rows, configured


def _calendar_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    year: int,
    holiday_errors: dict[str, str] | None = None,
    holiday_values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    rows, configured = _hours_rows(session)
    next_year = _today().year + 1
    values = holiday_values or {
        "year": next_year,
        "rows": [{"name": i18n.gettext(n), "start": "", "end": "", "makeup": ""} for n in HOLIDAY_NAMES]
        + [{"name": "", "start": "", "end": "", "makeup": ""}] * (HOLIDAY_ROWS - len(HOLIDAY_NAMES)),
    }
    ctx = {
        **_year_context(session, year),
        "can_edit": actor.can(service.EDIT),
        "calendar_warning": service.uncovered_year_warning(session),
        "hours_rows": rows,
        "hours_configured": configured,
        "holiday_values": values,
        "holiday_errors": holiday_errors or {},
        "overrides": service.list_overrides(session, year=year),
    }
    return render(request, "org/calendar/calendar.html", ctx, status_code=status)


@router.get("/admin/calendar")
def calendar_page(request: Request, session: SessionDep, actor: Viewer, year: int | None = None) -> Response:
    year = year if year is not None and 2000 <= year <= 2100 else _today().year
    return _calendar_page(request, session, actor, year=year)


# --- One day ----------------------------------------------------------------------------------------


def _day_editor(
    request: Request,
    session: Session,
    actor: Actor,
    day: date,
    *,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    status: int = 200,
    refresh_year: bool = False,
) -> Response:
    (info,) = service.days(session, day, day)
    override = service.get_override(session, day)
    ctx: dict[str, Any] = {
        "info": info,
        "override": override,
        "can_edit": actor.can(service.EDIT),
        "errors": errors or {},
        "saved": saved,
        "refresh_year": refresh_year,
    }
    if refresh_year:
        ctx.update(_year_context(session, day.year))
    return render(request, "org/calendar/_day_form.html", ctx, status_code=status)


@router.get("/admin/calendar/day/{day}")
def day_editor(request: Request, session: SessionDep, actor: Viewer, day: date) -> Response:
    """The editor of one date (an htmx fragment)."""
    return _day_editor(request, session, actor, day)


@router.post("/admin/calendar/day/{day}")
def save_day(request: Request, session: SessionDep, actor: Editor, day: date, form: FormDep) -> Response:
    try:
        service.set_override(
            session,
            actor=actor,
            day=day,
            workday=form.get("workday") == "1",
            name=str(form.get("name", "")),
            note=str(form.get("note", "")),
        )
    except FieldError as exc:
        return _day_editor(request, session, actor, day, errors=_message(session, exc), status=422)
    if not _is_htmx(request):
        return RedirectResponse(f"/admin/calendar?year={day.year}", status_code=303)
    return _day_editor(request, session, actor, day, saved=True, refresh_year=True)


@router.post("/admin/calendar/day/{day}/remove")
def remove_day(request: Request, session: SessionDep, actor: Editor, day: date) -> Response:
    service.remove_override(session, actor=actor, day=day)
    if not _is_htmx(request):
        return RedirectResponse(f"/admin/calendar?year={day.year}", status_code=303)
    return _day_editor(request, session, actor, day, saved=True, refresh_year=True)


# --- Weekly hours -------------------------------------------------------------------------------------


def _parse_spans(text: str) -> list[tuple[str, str]]:
    """Split "09:00-12:00, 13:30-18:00" into [("09:00", "12:00"), ("13:30", "18:00")]."""
    spans = []
    for part in text.replace("，", ",").replace("；", ",").replace(";", ",").split(","):
        part = part.strip().replace("–", "-").replace("~", "-")
        if not part:
            continue
        start, sep, end = part.partition("-")
        if not sep:
            raise FieldError("spans", "Write each span as HH:MM-HH:MM")
        spans.append((start.strip(), end.strip()))
    return spans


@router.post("/admin/calendar/hours/{weekday}")
def save_hours(request: Request, session: SessionDep, actor: Editor, weekday: int, form: FormDep) -> Response:
    text = str(form.get("spans", ""))
    try:
        hours_service.replace_weekday_hours(session, actor=actor, weekday=weekday, spans=_parse_spans(text))
    except FieldError as exc:
        session.rollback()
        rows, _configured = _hours_rows(session)
        row = (
            {**rows[weekday], "text": text, "error": exc.render(i18n.gettext)} if 0 <= weekday <= 6 else None
        )
        if row is None or not _is_htmx(request):
            raise
        return render(
            request, "org/calendar/_hours_row.html", {"row": row, "can_edit": True}, status_code=422
        )
    if not _is_htmx(request):
        return RedirectResponse("/admin/calendar", status_code=303)
    rows, _configured = _hours_rows(session)
    return render(
        request, "org/calendar/_hours_row.html", {"row": rows[weekday], "can_edit": True, "saved": True}
    )


# --- A year's holidays ----------------------------------------------------------------------------------


def _parse_date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FieldError(field, "Enter a date as YYYY-MM-DD") from None


@router.post("/admin/calendar/holidays")
def enter_holidays(request: Request, session: SessionDep, actor: Editor, form: FormDep) -> Response:
    rows = [
        {key: str(form.get(f"{key}_{i}", "")).strip() for key in ("name", "start", "end", "makeup")}
        for i in range(HOLIDAY_ROWS)
    ]
    values = {
        "year": str(form.get("year", "")),
        "rows": rows,
        "replace_year": form.get("replace_year") == "1",
    }
    row_of: list[int] = []
    try:
        try:
            year = int(values["year"])
        except ValueError:
            raise FieldError("year", "Enter a year") from None
        ranges = []
        for i, row in enumerate(rows):
            if not row["start"]:
                continue
            start = _parse_date(row["start"], f"holidays.{i}.start")
            end = _parse_date(row["end"], f"holidays.{i}.end") if row["end"] else start
            makeup = tuple(
                _parse_date(part, f"holidays.{i}.makeup_workdays")
                for part in row["makeup"].replace("，", ",").replace(" ", ",").split(",")
                if part.strip()
            )
            ranges.append(service.HolidayRange(row["name"], start, end, makeup))
            row_of.append(i)
        try:
            service.enter_holidays(
                session, actor=actor, year=year, holidays=ranges, replace_year=bool(values["replace_year"])
            )
        except FieldError as exc:
            # The service numbers the rows it was given; point the message at the row on the form.
            parts = exc.field.split(".")
            if len(parts) == 3 and parts[0] == "holidays" and parts[1].isdigit():
                exc.field = f"holidays.{row_of[int(parts[1])]}.{parts[2]}"
            raise
    except FieldError as exc:
        errors = _message(session, exc)
        year_shown = _today().year
        return _calendar_page(
            request, session, actor, year=year_shown, holiday_errors=errors, holiday_values=values, status=422
        )
    return RedirectResponse(f"/admin/calendar?year={year}", status_code=303)
