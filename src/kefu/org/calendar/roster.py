"""The roster (排班): which shift each agent works on which local date (ORG-9).

The roster is scoped: a team leader whose `admin.shifts` scope is their department sees and manages
the roster of that department's users only; anyone else's user is "not found".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session, selectinload

from kefu.audit import service as audit
from kefu.core import clock, events
from kefu.core.errors import FieldError, NotFound
from kefu.core.permissions import restrict
from kefu.org.calendar import service as calendar
from kefu.org.calendar.models import RosterEntry, Shift
from kefu.org.calendar.shifts import FUNCTION, ROSTER_CHANGED, shift_window
from kefu.org.models import Department, User

if TYPE_CHECKING:
    from kefu.core.permissions import Actor

VIEW, EDIT = "admin.shifts.view", "admin.shifts.edit"
MAX_ASSIGN_DAYS = 366
MAX_LIST_DAYS = 62
MIN_YEAR, MAX_YEAR = 2000, 2100


# --- Who may be rostered by whom -----------------------------------------------------------------------


def _read_permission(actor: Actor) -> str:
    """Of view and edit, the permission with the wider scope (edit implies seeing what one edits)."""
    view, edit = actor.scope(VIEW), actor.scope(EDIT)
    if view is None or (edit is not None and edit.rank > view.rank):
        return EDIT
    return VIEW


def _users_stmt(actor: Actor, permission: str) -> Select[Any]:
    stmt = select(User).where(User.is_active.is_(True))
    return restrict(stmt, actor, permission, department=User.department_id, owner=User.id)


def departments_for(session: Session, actor: Actor) -> list[Department]:
    """Departments whose roster `actor` may open (their own one at least, when they have one)."""
    stmt = restrict(select(Department), actor, _read_permission(actor), department=Department.id)
    found = {d.id: d for d in session.scalars(stmt.where(Department.enabled.is_(True)))}
    own = actor.user.department
    if own is not None and actor.scope(_read_permission(actor)) is not None:
        found.setdefault(own.id, own)
    return sorted(found.values(), key=lambda d: (d.path, d.sort, d.id))


def access_department(session: Session, actor: Actor, department_id: int) -> Department:
    for department in departments_for(session, actor):
        if department.id == department_id:
            return department
    raise NotFound()


def _access_users(session: Session, actor: Actor, user_ids: Sequence[int]) -> list[User]:
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        raise FieldError("user_ids", "Choose at least one person")
    found = {u.id: u for u in session.scalars(_users_stmt(actor, EDIT).where(User.id.in_(wanted)))}
    if len(found) != len(wanted):
        raise NotFound()
    return [found[i] for i in wanted]


def _enabled_shift(session: Session, shift_id: int, field: str = "shift_id") -> Shift:
    shift = session.get(Shift, shift_id)
    if shift is None or not shift.enabled:
        raise FieldError(field, "Unknown or disabled shift")
    return shift


def _check_day(day: date, field: str) -> date:
    # Far-off dates are typos, and a night shift on 9999-12-31 would end past the last date Python has.
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise FieldError(
            field, "Choose a date between the years %(min)s and %(max)s", min=MIN_YEAR, max=MAX_YEAR
        )
    return day


def _check_range(start: date, end: date, limit: int) -> list[date]:
    _check_day(start, "start")
    _check_day(end, "end")
    if end < start:
        raise FieldError("end", "The end is before the start")
    if (end - start).days >= limit:
        raise FieldError("end", "Choose at most %(n)s days", n=limit)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# --- Reading the roster --------------------------------------------------------------------------------


@dataclass
class RosterView:
    """A department's roster over [start, end]: its visible users and their entries."""

    department: Department
    start: date
    end: date
    users: list[User]
    entries: list[RosterEntry]

    def cell(self, user_id: int, day: date) -> list[RosterEntry]:
        return [e for e in self.entries if e.user_id == user_id and e.day == day]


def roster(session: Session, *, actor: Actor, department_id: int, start: date, end: date) -> RosterView:
    """The roster of one department (its own users, not sub-departments) for up to MAX_LIST_DAYS days."""
    department = access_department(session, actor, department_id)
    _check_range(start, end, MAX_LIST_DAYS)
    users_stmt = _users_stmt(actor, _read_permission(actor)).where(User.department_id == department.id)
    users = list(session.scalars(users_stmt.order_by(User.name, User.id)))
    entries = list(
        session.scalars(
            select(RosterEntry)
            .options(selectinload(RosterEntry.shift))
            .where(
                RosterEntry.user_id.in_([u.id for u in users]),
                RosterEntry.day >= start,
                RosterEntry.day <= end,
            )
            .order_by(RosterEntry.day, RosterEntry.user_id, RosterEntry.id)
        )
    )
    entries.sort(key=lambda e: (e.day, e.user_id, e.shift.start, e.id))
    return RosterView(department, start, end, users, entries)


def on_duty(session: Session, *, actor: Actor, at: datetime) -> list[RosterEntry]:
    """The visible roster entries whose shift covers instant `at` (yesterday's night shifts included)."""
    if not MIN_YEAR <= at.year <= MAX_YEAR:
        raise FieldError(
            "at", "Choose a date between the years %(min)s and %(max)s", min=MIN_YEAR, max=MAX_YEAR
        )
    local_day = clock.to_local(at).date()
    visible = _users_stmt(actor, _read_permission(actor)).with_only_columns(User.id)
    stmt = (
        select(RosterEntry)
        .options(selectinload(RosterEntry.shift), selectinload(RosterEntry.user))
        .where(
            RosterEntry.user_id.in_(visible),
            RosterEntry.day >= local_day - timedelta(days=1),
            RosterEntry.day <= local_day,
        )
    )
    result = []
    for entry in session.scalars(stmt):
        begin, end = shift_window(entry.shift, entry.day)
        if begin <= at < end:
            result.append(entry)
    return sorted(result, key=lambda e: (e.user_id, e.day, e.id))


# --- Changing the roster -------------------------------------------------------------------------------


def _record(
    session: Session, actor: Actor, action: str, summary: str, *, users: Sequence[User], **after: Any
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        function=FUNCTION,
        target_type="roster",
        target_id=users[0].id if len(users) == 1 else "",
        target_label=", ".join(u.name for u in users)[:200],
        summary=summary,
        after={"user_ids": [u.id for u in users], **after},
    )
    events.on_commit(session, events.Event(type=ROSTER_CHANGED, data={"user_ids": [u.id for u in users]}))


def assign(
    session: Session,
    *,
    actor: Actor,
    user_ids: Sequence[int],
    shift_id: int,
    start: date,
    end: date,
    weekdays: Sequence[int] | None = None,
    only_workdays: bool = False,
    replace: bool = False,
) -> list[RosterEntry]:
    """Roster `shift_id` for each user on each date of [start, end] (optionally only some weekdays, or
    only the business calendar's workdays). Existing identical entries are kept; with `replace`, the
    users' other shifts on those dates are removed. Returns the new entries."""
    users = _access_users(session, actor, user_ids)
    shift = _enabled_shift(session, shift_id)
    dates = _check_range(start, end, MAX_ASSIGN_DAYS)
    if weekdays is not None:
        if any(not 0 <= w <= 6 for w in weekdays):
            raise FieldError("weekdays", "Choose weekdays from 0 (Monday) to 6 (Sunday)")
        dates = [d for d in dates if d.weekday() in set(weekdays)]
    if only_workdays:
        resolver = calendar.calendar_for(session).resolver
        dates = [d for d in dates if resolver.is_workday(d)]
    ids = [u.id for u in users]
    if replace and dates:
        session.execute(
            delete(RosterEntry).where(
                RosterEntry.user_id.in_(ids), RosterEntry.day.in_(dates), RosterEntry.shift_id != shift.id
            )
        )
    existing = set(
        session.execute(
            select(RosterEntry.user_id, RosterEntry.day).where(
                RosterEntry.user_id.in_(ids), RosterEntry.shift_id == shift.id, RosterEntry.day.in_(dates)
            )
        ).tuples()
    )
    created = [
        RosterEntry(user_id=u.id, day=d, shift_id=shift.id, assigned_by_id=actor.user.id)
        for u in users
        for d in dates
        if (u.id, d) not in existing
    ]
    session.add_all(created)
    session.flush()
    _record(
        session,
        actor,
        "roster.assign",
        f"{shift.code} {start}–{end}: {len(created)} entr(ies) for {len(users)} person(s)",
        users=users,
        shift=shift.code,
        start=start,
        end=end,
        created=len(created),
        replace=replace,
    )
    return created


def clear(
    session: Session,
    *,
    actor: Actor,
    user_ids: Sequence[int],
    start: date,
    end: date,
    shift_id: int | None = None,
) -> int:
    """Remove the users' entries in [start, end] (only those of `shift_id` when given). Returns how many."""
    users = _access_users(session, actor, user_ids)
    _check_range(start, end, MAX_ASSIGN_DAYS)
    stmt = delete(RosterEntry).where(
        RosterEntry.user_id.in_([u.id for u in users]), RosterEntry.day >= start, RosterEntry.day <= end
    )
    if shift_id is not None:
        stmt = stmt.where(RosterEntry.shift_id == shift_id)
    removed = session.execute(stmt).rowcount or 0
    _record(
        session,
        actor,
        "roster.clear",
        f"{start}–{end}: {removed} entr(ies) removed",
        users=users,
        start=start,
        end=end,
        shift_id=shift_id,
        removed=removed,
    )
    return removed


def set_day(
    session: Session, *, actor: Actor, user_id: int, day: date, shift_ids: Sequence[int]
) -> list[RosterEntry]:
    """Make the user's shifts on `day` exactly `shift_ids` (empty: a day off). Returns the day's entries."""
    _check_day(day, "day")
    (user,) = _access_users(session, actor, [user_id])
    current = list(
        session.scalars(select(RosterEntry).where(RosterEntry.user_id == user.id, RosterEntry.day == day))
    )
    wanted = list(dict.fromkeys(shift_ids))
    have = {e.shift_id: e for e in current}
    for shift_id in wanted:
        if shift_id not in have:
            _enabled_shift(session, shift_id, "shift_ids")
    for entry in current:
        if entry.shift_id not in wanted:
            session.delete(entry)
    for shift_id in wanted:
        if shift_id not in have:
            session.add(
                RosterEntry(user_id=user.id, day=day, shift_id=shift_id, assigned_by_id=actor.user.id)
            )
    session.flush()
    if set(wanted) != set(have):
        _record(
            session,
            actor,
            "roster.set_day",
            f"{day}",
            users=[user],
            day=day,
            before=sorted(have),
            shift_ids=wanted,
        )
    return list(
        session.scalars(
            select(RosterEntry)
            .options(selectinload(RosterEntry.shift))
            .where(RosterEntry.user_id == user.id, RosterEntry.day == day)
            .order_by(RosterEntry.id)
        )
    )


def copy_week(
    session: Session, *, actor: Actor, department_id: int, source_start: date, target_start: date
) -> int:
    """Copy the department's 7 days from `source_start` onto the 7 days from `target_start`, replacing
    what the target week had for the users `actor` manages. Disabled shifts are not copied."""
    _check_day(source_start, "source_start")
    _check_day(target_start, "target_start")
    department = access_department(session, actor, department_id)
    if source_start == target_start:
        raise FieldError("target_start", "Choose a different week to copy to")
    users = list(session.scalars(_users_stmt(actor, EDIT).where(User.department_id == department.id)))
    if not users:
        return 0
    ids = [u.id for u in users]
    delta = target_start - source_start
    week = timedelta(days=6)
    source = list(
        session.scalars(
            select(RosterEntry)
            .join(Shift)
            .where(
                RosterEntry.user_id.in_(ids),
                RosterEntry.day >= source_start,
                RosterEntry.day <= source_start + week,
                Shift.enabled.is_(True),
            )
        )
    )
    session.execute(
        delete(RosterEntry).where(
            RosterEntry.user_id.in_(ids),
            RosterEntry.day >= target_start,
            RosterEntry.day <= target_start + week,
        )
    )
    session.add_all(
        RosterEntry(user_id=e.user_id, day=e.day + delta, shift_id=e.shift_id, assigned_by_id=actor.user.id)
        for e in source
    )
    session.flush()
    _record(
        session,
        actor,
        "roster.copy_week",
        f"{department.name}: {source_start} → {target_start}, {len(source)} entr(ies)",
        users=users,
        department_id=department.id,
        source_start=source_start,
        target_start=target_start,
        copied=len(source),
    )
    return len(source)
