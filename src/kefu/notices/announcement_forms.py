"""The announcement editor's form: reading it into a `Draft`, and what it needs to be shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kefu.core import clock
from kefu.core.errors import FieldError, FieldErrors
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.notices import announcement_audience as audiences
from kefu.notices.announcement_audience import Audience
from kefu.notices.announcement_models import Announcement, AnnouncementStatus, Priority
from kefu.notices.announcements import Draft
from kefu.org.departments import department_tree
from kefu.org.models import Role, User, UserGroup

PRIORITY_LABELS = {
    Priority.NORMAL: lazy("Normal"),
    Priority.IMPORTANT: lazy("Important"),
    Priority.URGENT: lazy("Urgent"),
}
PRIORITY_HELP = {
    Priority.NORMAL: lazy("Listed with an unread badge"),
    Priority.IMPORTANT: lazy("Pops up on recipients' screens once"),
    Priority.URGENT: lazy("Pops up on every page until acknowledged, also during a call"),
}
PRIORITY_STYLES = {Priority.NORMAL: "secondary", Priority.IMPORTANT: "warning", Priority.URGENT: "danger"}
STATUS_LABELS = {
    AnnouncementStatus.DRAFT: lazy("Draft"),
    AnnouncementStatus.PUBLISHED: lazy("Issued"),
    AnnouncementStatus.WITHDRAWN: lazy("Taken down"),
    "scheduled": lazy("Not yet in effect"),
    "expired": lazy("Expired"),
}
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def display_status(announcement: Announcement, now: datetime) -> str:
    """The status as people think of it: a published one may still be scheduled or already expired."""
    if announcement.status == AnnouncementStatus.PUBLISHED:
        if announcement.starts_at is not None and announcement.starts_at > now:
            return "scheduled"
        if announcement.expired_at(now):
            return "expired"
    return str(announcement.status)


@dataclass
class EditorValues:
    """The form's values as text and id sets, to show the form again exactly as it was sent."""

    title: str = ""
    body: str = ""
    priority: str = Priority.NORMAL
    audience_all: bool = False
    department_ids: set[int] = field(default_factory=set)
    include_subdepartments: bool = True
    role_ids: set[int] = field(default_factory=set)
    user_ids: set[int] = field(default_factory=set)
    starts_at: str = ""
    ends_at: str = ""

    @classmethod
    def of(cls, a: Announcement) -> EditorValues:
        return cls(
            title=a.title,
            body=a.body,
            priority=str(a.priority),
            audience_all=a.audience_all,
            department_ids=set(a.department_ids or []),
            include_subdepartments=a.include_subdepartments,
            role_ids=set(a.role_ids or []),
            user_ids=set(a.user_ids or []),
            starts_at=_local(a.starts_at),
            ends_at=_local(a.ends_at),
        )


def _local(value: datetime | None) -> str:
    return clock.to_local(value).strftime(LOCAL_FORMAT) if value else ""


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _ids(form: FormData, key: str) -> set[int]:
    return {int(v) for v in form.getlist(key) if isinstance(v, str) and v.isdigit() and len(v) < 19}


def read_form(form: FormData) -> EditorValues:
    return EditorValues(
        title=_text(form, "title"),
        body=_text(form, "body"),
        priority=_text(form, "priority") or Priority.NORMAL,
        audience_all=form.get("audience_all") == "on",
        department_ids=_ids(form, "department_ids"),
        include_subdepartments=form.get("include_subdepartments") == "on",
        role_ids=_ids(form, "role_ids"),
        user_ids=_ids(form, "user_ids"),
        starts_at=_text(form, "starts_at"),
        ends_at=_text(form, "ends_at"),
    )


def _when(field_name: str, text: str) -> datetime | None:
    """A `datetime-local` value in the deployment's time zone, as an aware UTC datetime."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise FieldError(field_name, "Enter a date and time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=clock.local_tz())
    return value.astimezone(clock.UTC)


def to_draft(values: EditorValues) -> Draft:
    """The draft the form describes; bad dates are reported together (`FieldErrors`)."""
    errors: list[FieldError] = []
    times: dict[str, datetime | None] = {}
    for name in ("starts_at", "ends_at"):
        try:
            times[name] = _when(name, getattr(values, name))
        except FieldError as exc:
            errors.append(exc)
            times[name] = None
    if errors:
        raise FieldErrors(errors)
    return Draft(
        title=values.title,
        body=values.body,
        priority=values.priority,
        audience=Audience.of(
            all=values.audience_all,
            department_ids=sorted(values.department_ids),
            include_subdepartments=values.include_subdepartments,
            role_ids=sorted(values.role_ids),
            user_ids=sorted(values.user_ids),
        ),
        starts_at=times["starts_at"],
        ends_at=times["ends_at"],
    )


def choices(session: Session, actor: Actor) -> dict[str, Any]:
    """What the publisher may pick: departments and people inside their reach, every role."""
    reach = audiences.reach_of(session, actor)
    departments = [(d, depth) for d, depth in department_tree(session) if reach.covers(d.id)]
    roles = session.execute(
        select(Role.id, Role.name, UserGroup.name)
        .join(UserGroup, UserGroup.id == Role.group_id)
        .order_by(UserGroup.name, Role.name)
    ).tuples()
    users = session.execute(
        select(User.id, User.name, User.username)
        .where(User.is_active.is_(True), reach.condition(User.department_id))
        .order_by(User.name, User.id)
    ).tuples()
    return {
        "everyone": reach.everyone,
        "departments": departments,
        "roles": list(roles),
        "users": list(users),
        "priorities": list(Priority),
    }
