"""Shifts and the roster over HTTP (`/api/v1/shifts`, `/api/v1/roster`)."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Response

from kefu.core import clock
from kefu.core.errors import FieldError
from kefu.core.permissions import Actor
from kefu.org.calendar import roster, service, shifts
from kefu.org.calendar.models import RosterEntry, Shift
from kefu.org.calendar.schemas import (
    AssignResult,
    ClearResult,
    CopyResult,
    RosterAssign,
    RosterClear,
    RosterCopyWeek,
    RosterDaySet,
    RosterEntryRead,
    RosterRead,
    RosterUserRead,
    ShiftCreate,
    ShiftRead,
    ShiftUpdate,
)
from kefu.web.deps import Requires, SessionDep

router = APIRouter(tags=["shifts"])
SHIFTS, ROSTER = "/api/v1/shifts", "/api/v1/roster"
Viewer = Requires("admin.shifts.view", "admin.shifts.edit")
Editor = Requires("admin.shifts.edit")


def entry_read(entry: RosterEntry) -> RosterEntryRead:
    starts_at, ends_at = shifts.shift_window(entry.shift, entry.day)
    return RosterEntryRead(
        id=entry.id,
        user_id=entry.user_id,
        day=entry.day,
        shift_id=entry.shift_id,
        shift_code=entry.shift.code,
        shift_name=entry.shift.name,
        colour=entry.shift.colour,
        starts_at=starts_at,
        ends_at=ends_at,
        assigned_at=entry.assigned_at,
    )


# --- Shifts -------------------------------------------------------------------------------------------


@router.get(SHIFTS, response_model=list[ShiftRead])
def list_shifts(session: SessionDep, actor: Viewer, enabled_only: bool = False) -> list[Shift]:
    """Every shift, in display order."""
    return shifts.list_shifts(session, enabled_only=enabled_only)


@router.post(SHIFTS, response_model=ShiftRead, status_code=201)
def create_shift(session: SessionDep, actor: Editor, body: ShiftCreate) -> Shift:
    """Define a shift (needs the "all" data scope: shifts are shared by every department)."""
    return shifts.create_shift(session, actor=actor, **body.model_dump())


@router.get(SHIFTS + "/{shift_id}", response_model=ShiftRead)
def get_shift(session: SessionDep, actor: Viewer, shift_id: int) -> Shift:
    return shifts.get_shift(session, shift_id)


@router.patch(SHIFTS + "/{shift_id}", response_model=ShiftRead)
def update_shift(session: SessionDep, actor: Editor, shift_id: int, body: ShiftUpdate) -> Shift:
    """Change some fields of a shift."""
    shift = shifts.get_shift(session, shift_id)
    return shifts.update_shift(session, actor=actor, shift=shift, changes=body.model_dump(exclude_unset=True))


@router.delete(SHIFTS + "/{shift_id}", status_code=204)
def delete_shift(session: SessionDep, actor: Editor, shift_id: int) -> Response:
    """Remove an unused shift (409 when the roster uses it: disable it instead)."""
    shifts.delete_shift(session, actor=actor, shift=shifts.get_shift(session, shift_id))
    return Response(status_code=204)


# --- Roster -------------------------------------------------------------------------------------------


def _department_id(actor: Actor, department_id: int | None) -> int:
    if department_id is not None:
        return department_id
    if actor.user.department_id is None:
        raise FieldError("department_id", "Choose a department")
    return actor.user.department_id


@router.get(ROSTER, response_model=RosterRead)
def get_roster(
    session: SessionDep, actor: Viewer, start: date, end: date, department_id: int | None = None
) -> RosterRead:
    """A department's roster over [start, end] (at most 62 days); defaults to my own department."""
    view = roster.roster(
        session, actor=actor, department_id=_department_id(actor, department_id), start=start, end=end
    )
    return RosterRead(
        department_id=view.department.id,
        department_name=view.department.name,
        start=view.start,
        end=view.end,
        users=[RosterUserRead.model_validate(u) for u in view.users],
        entries=[entry_read(e) for e in view.entries],
        days=service.days(session, start, end),  # type: ignore[arg-type]
    )


@router.get(ROSTER + "/on-duty", response_model=list[RosterEntryRead])
def on_duty(session: SessionDep, actor: Viewer, at: datetime | None = None) -> list[RosterEntryRead]:
    """The roster entries whose shift covers `at` (default: now), last night's shifts included."""
    if at is not None and at.tzinfo is None:
        raise FieldError("at", "Give the time with its UTC offset")
    return [entry_read(e) for e in roster.on_duty(session, actor=actor, at=at or clock.now())]


@router.post(ROSTER + "/assign", response_model=AssignResult, status_code=201)
def assign(session: SessionDep, actor: Editor, body: RosterAssign) -> AssignResult:
    """Roster one shift for some people over a date range."""
    created = roster.assign(session, actor=actor, **body.model_dump())
    return AssignResult(created=len(created), entries=[entry_read(e) for e in created])


@router.post(ROSTER + "/clear", response_model=ClearResult)
def clear(session: SessionDep, actor: Editor, body: RosterClear) -> ClearResult:
    """Remove people's roster entries over a date range (of one shift when given)."""
    return ClearResult(removed=roster.clear(session, actor=actor, **body.model_dump()))


@router.put(ROSTER + "/users/{user_id}/days/{day}", response_model=list[RosterEntryRead])
def set_day(
    session: SessionDep, actor: Editor, user_id: int, day: date, body: RosterDaySet
) -> list[RosterEntryRead]:
    """Set exactly which shifts a person works on one date."""
    entries = roster.set_day(session, actor=actor, user_id=user_id, day=day, shift_ids=body.shift_ids)
    return [entry_read(e) for e in entries]


@router.post(ROSTER + "/copy-week", response_model=CopyResult)
def copy_week(session: SessionDep, actor: Editor, body: RosterCopyWeek) -> CopyResult:
    """Copy a department's week onto another week, replacing what that week had."""
    return CopyResult(copied=roster.copy_week(session, actor=actor, **body.model_dump()))
