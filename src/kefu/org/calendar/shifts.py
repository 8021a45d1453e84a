"""Shifts (班次): named local start and end times, shared by every department (ORG-9).

Changing a shift needs `admin.shifts.edit` with the "all" data scope, because a change reaches every
department's roster; a team leader scoped to their department may read shifts and roster them only.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock, events
from kefu.core.errors import Conflict, FieldError, NotFound, PermissionDenied
from kefu.org.calendar.common import format_wall_time, parse_wall_time
from kefu.org.calendar.models import RosterEntry, Shift
from kefu.org.models import DataScope

if TYPE_CHECKING:
    from kefu.core.permissions import Actor

ROSTER_CHANGED = "roster.changed"
EDIT = "admin.shifts.edit"
FUNCTION = "admin.shifts"
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SHIFT_FIELDS = ("code", "name", "start", "end", "colour", "enabled", "sort")


def list_shifts(session: Session, *, enabled_only: bool = False) -> list[Shift]:
    stmt = select(Shift).order_by(Shift.sort, Shift.start, Shift.id)
    if enabled_only:
        stmt = stmt.where(Shift.enabled.is_(True))
    return list(session.scalars(stmt))


def get_shift(session: Session, shift_id: int) -> Shift:
    shift = session.get(Shift, shift_id)
    if shift is None:
        raise NotFound()
    return shift


def _need_all_scope(actor: Actor) -> None:
    if actor.scope(EDIT) is not DataScope.ALL:
        raise PermissionDenied("Only staff who manage every department's roster can change shifts")


def _clean_shift(session: Session, values: dict[str, Any], *, shift_id: int | None) -> dict[str, Any]:
    code = str(values["code"]).strip()
    if not _CODE.match(code):
        raise FieldError("code", "Use 1 to 20 letters, digits, - or _")
    taken = session.scalar(
        select(Shift.id).where(func.lower(Shift.code) == code.lower(), Shift.id != (shift_id or 0))
    )
    if taken is not None:
        raise FieldError("code", "This code is already in use")
    name = str(values["name"]).strip()
    if not name or len(name) > 60:
        raise FieldError("name", "Enter a name of at most %(n)s characters", n=60)
    start = parse_wall_time(str(values["start"]), "start")
    end = parse_wall_time(str(values["end"]), "end")
    if start == end:
        raise FieldError("end", "A shift cannot end at the time it starts")
    colour = str(values["colour"]).strip()
    if not _COLOUR.match(colour):
        raise FieldError("colour", "Enter a colour as #RRGGBB")
    return {
        "code": code,
        "name": name,
        "start": format_wall_time(start),
        "end": format_wall_time(end),
        "colour": colour.lower(),
        "enabled": bool(values["enabled"]),
        "sort": int(values["sort"]),
    }


def create_shift(
    session: Session,
    *,
    actor: Actor,
    code: str,
    name: str,
    start: str,
    end: str,
    colour: str = "#0d6efd",
    enabled: bool = True,
    sort: int = 0,
) -> Shift:
    """Define a shift; `end` at or before `start` means it ends the next day."""
    _need_all_scope(actor)
    raw = {"code": code, "name": name, "start": start, "end": end, "colour": colour, "enabled": enabled}
    shift = Shift(**_clean_shift(session, {**raw, "sort": sort}, shift_id=None))
    session.add(shift)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="shift.create",
        function=FUNCTION,
        target=shift,
        after=audit.snapshot(shift, _SHIFT_FIELDS),
    )
    events.on_commit(session, events.Event(type=ROSTER_CHANGED, data={"shift_id": shift.id}))
    return shift


def update_shift(session: Session, *, actor: Actor, shift: Shift, changes: dict[str, Any]) -> Shift:
    """Change the fields of a shift named in `changes` (code, name, start, end, colour, enabled, sort)."""
    _need_all_scope(actor)
    before = audit.snapshot(shift, _SHIFT_FIELDS)
    cleaned = _clean_shift(session, {**before, **changes}, shift_id=shift.id)
    for key, value in cleaned.items():
        setattr(shift, key, value)
    session.flush()
    old, new = audit.diff(before, audit.snapshot(shift, _SHIFT_FIELDS))
    if new:
        audit.record(
            session,
            actor=actor,
            action="shift.update",
            function=FUNCTION,
            target=shift,
            before=old,
            after=new,
        )
        events.on_commit(session, events.Event(type=ROSTER_CHANGED, data={"shift_id": shift.id}))
    return shift


def delete_shift(session: Session, *, actor: Actor, shift: Shift) -> None:
    """Remove a shift that no roster entry uses (a used shift is disabled instead: Conflict)."""
    _need_all_scope(actor)
    if session.scalar(select(RosterEntry.id).where(RosterEntry.shift_id == shift.id).limit(1)) is not None:
        raise Conflict("The shift is used in the roster; disable it instead")
    audit.record(
        session,
        actor=actor,
        action="shift.delete",
        function=FUNCTION,
        target=shift,
        before=audit.snapshot(shift, _SHIFT_FIELDS),
    )
    session.delete(shift)
    session.flush()


def shift_window(shift: Shift, day: date, tz: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """The aware instants [start, end) of `shift` worked from local date `day` (maybe ending the next day)."""
    tz = tz or clock.local_tz()
    start = parse_wall_time(shift.start, "start")
    end = parse_wall_time(shift.end, "end")
    end_day = day + timedelta(days=1) if shift.crosses_midnight else day
    return datetime.combine(day, start, tzinfo=tz), datetime.combine(end_day, end, tzinfo=tz)
