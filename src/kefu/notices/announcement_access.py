"""Who sees which announcement, and the queries behind the lists; missing and forbidden look the same.

A recipient sees an announcement addressed to them (a recipient row) while it is published and inside
its validity window. Publishers and viewers see the announcements in the data scope of their
permission (written by them, by their department, its subtree, or all), drafts and history included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from kefu.core import clock
from kefu.core.errors import NotFound
from kefu.core.permissions import Actor, restrict
from kefu.notices.announcement_models import (
    Announcement,
    AnnouncementAttachment,
    AnnouncementRecipient,
    AnnouncementStatus,
    Priority,
)
from kefu.notices.permissions import MANAGE_ANY, PUBLISH, VIEW
from kefu.org.models import Department, User


def visible(now: datetime) -> ColumnElement[bool]:
    """Published and inside the validity window at `now`."""
    return and_(
        Announcement.status == AnnouncementStatus.PUBLISHED,
        Announcement.starts_at <= now,
        or_(Announcement.ends_at.is_(None), Announcement.ends_at > now),
    )


def _received(user_id: int, now: datetime) -> Select[Any]:
    return (
        select(Announcement, AnnouncementRecipient.read_at)
        .join(AnnouncementRecipient, AnnouncementRecipient.announcement_id == Announcement.id)
        .where(AnnouncementRecipient.user_id == user_id, visible(now))
    )


def received(session: Session, actor: Actor, announcement_id: int) -> tuple[Announcement, datetime | None]:
    """An announcement addressed to `actor` and current, with when they read it; else 404."""
    row = session.execute(
        _received(actor.user.id, clock.now()).where(Announcement.id == announcement_id)
    ).first()
    if row is None:
        raise NotFound()
    return row[0], row[1]


def inbox(
    session: Session, *, user_id: int, unread_only: bool = False, limit: int = 50, offset: int = 0
) -> list[tuple[Announcement, datetime | None]]:
    """My current announcements, newest first (by the start of their window)."""
    stmt = _received(user_id, clock.now())
    if unread_only:
        stmt = stmt.where(AnnouncementRecipient.read_at.is_(None))
    stmt = stmt.order_by(Announcement.starts_at.desc(), Announcement.id.desc()).limit(limit).offset(offset)
    return [(a, read_at) for a, read_at in session.execute(stmt).tuples()]


def unread_count(session: Session, user_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(AnnouncementRecipient)
        .join(Announcement, Announcement.id == AnnouncementRecipient.announcement_id)
        .where(
            AnnouncementRecipient.user_id == user_id,
            AnnouncementRecipient.read_at.is_(None),
            visible(clock.now()),
        )
    )
    return int(session.scalar(stmt) or 0)


def pending_acknowledgements(session: Session, user_id: int) -> list[Announcement]:
    """Urgent announcements I have not acknowledged yet: they pop up on every page until I do."""
    stmt = (
        _received(user_id, clock.now())
        .where(AnnouncementRecipient.read_at.is_(None), Announcement.priority == Priority.URGENT)
        .order_by(Announcement.starts_at, Announcement.id)
        .limit(20)
        .options(selectinload(Announcement.attachments))
    )
    return [a for a, _ in session.execute(stmt).tuples()]


# --- publishers and viewers ---------------------------------------------------------------------


def _manage_permission(actor: Actor, need_publish: bool) -> str:
    """The permission whose data scope decides: publish for changes, else the wider of the two."""
    if need_publish:
        return PUBLISH
    scopes = [(actor.scope(p), p) for p in MANAGE_ANY if actor.scope(p) is not None]
    if not scopes:
        return VIEW
    return max(scopes, key=lambda s: s[0].rank)[1]  # type: ignore[union-attr]


def restrict_managed(stmt: Select[Any], actor: Actor, *, need_publish: bool = False) -> Select[Any]:
    return restrict(
        stmt,
        actor,
        _manage_permission(actor, need_publish),
        owner=Announcement.author_id,
        department=Announcement.department_id,
    )


def managed(
    session: Session, actor: Actor, announcement_id: int, *, need_publish: bool = False
) -> Announcement:
    """An announcement in `actor`'s scope (of publish when they mean to change it); else 404."""
    stmt = restrict_managed(
        select(Announcement).where(Announcement.id == announcement_id), actor, need_publish=need_publish
    )
    announcement = session.scalars(stmt).first()
    if announcement is None:
        raise NotFound()
    return announcement


def managed_list(
    session: Session, actor: Actor, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[Announcement]:
    stmt = restrict_managed(select(Announcement).options(selectinload(Announcement.attachments)), actor)
    if status:
        stmt = stmt.where(Announcement.status == status)
    stmt = stmt.order_by(Announcement.updated_at.desc(), Announcement.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(stmt))


@dataclass
class Counts:
    total: int = 0
    read: int = 0

    @property
    def unread(self) -> int:
        return self.total - self.read

    @property
    def percent(self) -> int:
        return round(100 * self.read / self.total) if self.total else 0


def counts(session: Session, announcement_ids: list[int]) -> dict[int, Counts]:
    """Recipients and readers per announcement, in one query."""
    if not announcement_ids:
        return {}
    stmt = (
        select(
            AnnouncementRecipient.announcement_id,
            func.count(),
            func.count(AnnouncementRecipient.read_at),
        )
        .where(AnnouncementRecipient.announcement_id.in_(announcement_ids))
        .group_by(AnnouncementRecipient.announcement_id)
    )
    found = {aid: Counts(total, read) for aid, total, read in session.execute(stmt).tuples()}
    return {aid: found.get(aid, Counts()) for aid in announcement_ids}


@dataclass
class Receipt:
    user_id: int
    name: str
    username: str
    department: str
    read_at: datetime | None
    reminded_at: datetime | None
    remind_count: int


def receipts(
    session: Session, announcement_id: int, *, read: bool | None = None, limit: int = 500, offset: int = 0
) -> list[Receipt]:
    """The recipients with their read receipts, by department (at publishing) and name."""
    dept = aliased(Department)
    stmt = (
        select(
            AnnouncementRecipient.user_id,
            User.name,
            User.username,
            dept.name,
            AnnouncementRecipient.read_at,
            AnnouncementRecipient.reminded_at,
            AnnouncementRecipient.remind_count,
        )
        .join(User, User.id == AnnouncementRecipient.user_id)
        .outerjoin(dept, dept.id == AnnouncementRecipient.department_id)
        .where(AnnouncementRecipient.announcement_id == announcement_id)
    )
    if read is not None:
        column = AnnouncementRecipient.read_at
        stmt = stmt.where(column.is_not(None) if read else column.is_(None))
    stmt = stmt.order_by(dept.name, User.name, User.id).limit(limit).offset(offset)
    return [
        Receipt(uid, n, u, d or "", r, rem, c) for uid, n, u, d, r, rem, c in session.execute(stmt).tuples()
    ]


def department_counts(session: Session, announcement_id: int) -> list[tuple[str, Counts]]:
    """Recipients and readers per department (as they belonged when it was published)."""
    stmt = (
        select(
            Department.name,
            func.count(),
            func.count(AnnouncementRecipient.read_at),
        )
        .select_from(AnnouncementRecipient)
        .outerjoin(Department, Department.id == AnnouncementRecipient.department_id)
        .where(AnnouncementRecipient.announcement_id == announcement_id)
        .group_by(AnnouncementRecipient.department_id, Department.name)
        .order_by(case((Department.name.is_(None), 1), else_=0), Department.name)
    )
    return [(name or "", Counts(total, read)) for name, total, read in session.execute(stmt).tuples()]


def attachment(
    session: Session, actor: Actor, announcement_id: int, attachment_id: int
) -> AnnouncementAttachment:
    """A file of an announcement that `actor` receives now or manages; else 404."""
    row = session.get(AnnouncementAttachment, attachment_id)
    if row is None or row.announcement_id != announcement_id:
        raise NotFound()
    try:
        received(session, actor, announcement_id)
    except NotFound:
        if not actor.can_any(*MANAGE_ANY):
            raise
        managed(session, actor, announcement_id)
    return row
