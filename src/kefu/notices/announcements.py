"""Internal announcements (内部公告, NTC-1): write, publish, withdraw, remind, read.

A draft is written and changed freely by whoever may publish it. Publishing resolves the audience to
people (a recipient row each: the snapshot and the read receipt) and, once the validity window has
begun, tells them live over the event stream when the transaction commits: an urgent announcement
pops up on every page until acknowledged, an important one pops up once, a normal one raises the
unread badge. A later start is delivered by the minute job (`deliver_due`). Withdrawing takes it
off recipients' screens; reminding tells those who have not read it yet again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock, events, i18n, jobs, richtext
from kefu.core.errors import Conflict, FieldError, FieldErrors
from kefu.core.permissions import Actor
from kefu.notices import announcement_audience as audiences
from kefu.notices.announcement_audience import Audience
from kefu.notices.announcement_files import delete_files
from kefu.notices.announcement_models import (
    TRANSITIONS,
    Announcement,
    AnnouncementRecipient,
    AnnouncementStatus,
    Priority,
)
from kefu.notices.permissions import ANNOUNCEMENTS
from kefu.notices.service import notify
from kefu.org.validation import require_text

PUBLISHED = "announcement.published"
WITHDRAWN = "announcement.withdrawn"
READ = "announcement.read"
BODY_MAX = 200_000
REMIND_PAUSE = timedelta(minutes=1)
SNAPSHOT = (
    "title",
    "priority",
    "status",
    "audience_all",
    "department_ids",
    "include_subdepartments",
    "role_ids",
    "user_ids",
    "starts_at",
    "ends_at",
)


@dataclass
class Draft:
    """What a publisher writes; checked as a whole (every bad field reported at once)."""

    title: str
    body: str
    priority: str = Priority.NORMAL
    audience: Audience = field(default_factory=Audience)
    starts_at: datetime | None = None
    ends_at: datetime | None = None


def _clean(session: Session, actor: Actor, draft: Draft) -> dict[str, Any]:
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    try:
        values["title"] = require_text("title", draft.title, max_len=200)
    except FieldError as exc:
        errors.append(exc)
    body = richtext.sanitize(draft.body, richtext.ANNOUNCEMENT)
    if not richtext.plain_text(body):
        errors.append(FieldError("body", "This field is required"))
    elif len(body) > BODY_MAX:
        errors.append(FieldError("body", "At most %(n)s characters", n=BODY_MAX))
    values["body"] = body
    try:
        values["priority"] = Priority(draft.priority)
    except ValueError:
        errors.append(FieldError("priority", "Choose normal, important or urgent"))
    if draft.starts_at and draft.ends_at and draft.ends_at <= draft.starts_at:
        errors.append(FieldError("ends_at", "The end must be after the start"))
    values["starts_at"], values["ends_at"] = draft.starts_at, draft.ends_at
    errors.extend(audiences.check(session, actor, draft.audience))
    if errors:
        raise FieldErrors(errors)
    a = draft.audience
    values.update(
        audience_all=a.all,
        department_ids=list(a.department_ids),
        include_subdepartments=a.include_subdepartments,
        role_ids=list(a.role_ids),
        user_ids=list(a.user_ids),
    )
    return values


def audience_of(announcement: Announcement) -> Audience:
    return Audience.of(
        all=announcement.audience_all,
        department_ids=announcement.department_ids or [],
        include_subdepartments=announcement.include_subdepartments,
        role_ids=announcement.role_ids or [],
        user_ids=announcement.user_ids or [],
    )


def _record(session: Session, actor: Actor | None, action: str, a: Announcement, **kw: Any) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"announcement.{action}",
        function=ANNOUNCEMENTS,
        target=a,
        target_label=a.title,
        **kw,
    )


def create(session: Session, *, actor: Actor, draft: Draft) -> Announcement:
    """A new draft, written by `actor` (scope is measured against their department)."""
    values = _clean(session, actor, draft)
    now = clock.now()
    announcement = Announcement(
        **values,
        status=AnnouncementStatus.DRAFT,
        author_id=actor.user.id,
        author_name=actor.user.name,
        department_id=actor.user.department_id,
        created_at=now,
        updated_at=now,
    )
    session.add(announcement)
    session.flush()
    _record(session, actor, "create", announcement, after=audit.snapshot(announcement, SNAPSHOT))
    return announcement


def _require(announcement: Announcement, status: AnnouncementStatus, message: str) -> None:
    if announcement.status != status:
        raise Conflict(message)


def update_draft(session: Session, *, actor: Actor, announcement: Announcement, draft: Draft) -> Announcement:
    """Change a draft; a published announcement is withdrawn and written anew instead."""
    _require(announcement, AnnouncementStatus.DRAFT, "Only a draft can be changed")
    values = _clean(session, actor, draft)
    before = audit.snapshot(announcement, SNAPSHOT)
    for key, value in values.items():
        setattr(announcement, key, value)
    announcement.updated_at = clock.now()
    session.flush()
    old, new = audit.diff(before, audit.snapshot(announcement, SNAPSHOT))
    _record(session, actor, "update", announcement, before=old, after=new)
    return announcement


def delete_draft(session: Session, *, actor: Actor, announcement: Announcement) -> None:
    """Remove a draft with its files (the files go once the deletion commits)."""
    _require(announcement, AnnouncementStatus.DRAFT, "Only a draft can be deleted")
    keys = [f.storage_key for f in announcement.attachments]
    _record(session, actor, "delete", announcement, before=audit.snapshot(announcement, SNAPSHOT))
    session.delete(announcement)
    session.flush()
    if keys:
        jobs.enqueue_on_commit(session, delete_files, keys)


def _move(session: Session, announcement: Announcement, action: str, message: str, **values: Any) -> None:
    """Take the transition `action` if the row is still in its starting state (else `Conflict`):
    of two people publishing one draft at once, one succeeds and the other hears it is done."""
    old, new = TRANSITIONS[action]
    _require(announcement, old, message)
    result = session.execute(
        update(Announcement)
        .where(Announcement.id == announcement.id, Announcement.status == old)
        .values(status=new, **values)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(announcement)
        raise Conflict(message)
    session.refresh(announcement)


def publish(session: Session, *, actor: Actor, announcement: Announcement) -> Announcement:
    """Resolve the audience (checked again: the organisation may have changed since the draft was
    saved) into recipients and tell them once the validity window is open."""
    now = clock.now()
    errors = audiences.check(session, actor, audience_of(announcement))
    if announcement.ends_at is not None and announcement.ends_at <= now:
        errors.append(FieldError("ends_at", "The end of the validity has already passed"))
    if errors:
        raise FieldErrors(errors)
    audience = audience_of(announcement)
    people = audiences.resolve(session, audience, audiences.reach_of(session, actor))
    if not people:
        raise FieldError("audience", "Nobody is addressed: there are no active staff in the chosen audience")
    starts = announcement.starts_at or now
    _move(
        session,
        announcement,
        "publish",
        "Only a draft can be published",
        published_at=now,
        published_by_id=actor.user.id,
        starts_at=starts,
        delivered_at=now if starts <= now else None,
        audience_names=audiences.names(session, audience),
        updated_at=now,
    )
    session.execute(
        insert(AnnouncementRecipient),
        [{"announcement_id": announcement.id, "user_id": uid, "department_id": dept} for uid, dept in people],
    )
    _record(
        session,
        actor,
        "publish",
        announcement,
        summary=f"{len(people)} recipient(s), {announcement.priority}",
        after={"status": str(announcement.status), "recipients": len(people)},
    )
    if announcement.delivered_at is not None:
        tell(session, announcement, [uid for uid, _ in people])
    return announcement


def payload(announcement: Announcement, *, reminder: bool = False) -> dict[str, Any]:
    """What a recipient's browser gets: enough to show the announcement without asking again."""
    priority = Priority(announcement.priority)
    return {
        "id": announcement.id,
        "title": announcement.title,
        "body": announcement.body,
        "priority": priority.value,
        "pops_up": priority.pops_up,
        "must_acknowledge": priority.must_acknowledge,
        "excerpt": richtext.plain_text(announcement.body, one_line=True, limit=120),
        "attachments": [{"id": f.id, "filename": f.filename} for f in announcement.attachments],
        "author": announcement.author_name,
        "starts_at": announcement.starts_at.isoformat() if announcement.starts_at else None,
        "starts_at_local": clock.to_local(announcement.starts_at).strftime("%Y-%m-%d %H:%M")
        if announcement.starts_at
        else "",
        "url": f"/announcements/{announcement.id}",
        "reminder": reminder,
    }


def tell(
    session: Session, announcement: Announcement, user_ids: list[int], *, reminder: bool = False
) -> None:
    """Push the announcement to `user_ids` when the transaction commits."""
    if user_ids:
        events.on_commit(
            session,
            events.Event(
                type=PUBLISHED, data=payload(announcement, reminder=reminder), audience=tuple(user_ids)
            ),
        )


def unread_recipients(session: Session, announcement_id: int) -> list[int]:
    stmt = (
        select(AnnouncementRecipient.user_id)
        .where(
            AnnouncementRecipient.announcement_id == announcement_id, AnnouncementRecipient.read_at.is_(None)
        )
        .order_by(AnnouncementRecipient.user_id)
    )
    return list(session.scalars(stmt))


def withdraw(session: Session, *, actor: Actor, announcement: Announcement, reason: str = "") -> Announcement:
    """Take a published announcement back: it leaves recipients' lists and screens at once."""
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise FieldError("reason", "At most %(n)s characters", n=500)
    now = clock.now()
    _move(
        session,
        announcement,
        "withdraw",
        "Only a published announcement can be withdrawn",
        withdrawn_at=now,
        withdrawn_by_id=actor.user.id,
        withdraw_reason=reason,
        updated_at=now,
    )
    _record(session, actor, "withdraw", announcement, summary=reason[:200], after={"status": "withdrawn"})
    unread = unread_recipients(session, announcement.id)
    if unread and announcement.delivered_at is not None:
        events.on_commit(
            session, events.Event(type=WITHDRAWN, data={"id": announcement.id}, audience=tuple(unread))
        )
    return announcement


def remind(session: Session, *, actor: Actor, announcement: Announcement) -> int:
    """Tell everyone who has not read the announcement again: a message in their inbox and, for an
    important or urgent one, the pop-up once more. Returns how many were reminded."""
    now = clock.now()
    if not announcement.visible_at(now):
        raise Conflict("Only an announcement that is published and in its validity window can be reminded")
    if announcement.last_reminded_at is not None and now - announcement.last_reminded_at < REMIND_PAUSE:
        raise Conflict("A reminder went out less than a minute ago")
    unread = unread_recipients(session, announcement.id)
    if not unread:
        raise Conflict("Everyone has read this announcement")
    session.execute(
        update(AnnouncementRecipient)
        .where(
            AnnouncementRecipient.announcement_id == announcement.id,
            AnnouncementRecipient.user_id.in_(unread),
            AnnouncementRecipient.read_at.is_(None),
        )
        .values(reminded_at=now, remind_count=AnnouncementRecipient.remind_count + 1)
    )
    announcement.last_reminded_at = now
    notify(
        session,
        user_ids=unread,
        title=i18n.gettext("Please read the announcement: %(title)s") % {"title": announcement.title},
        body=richtext.plain_text(announcement.body, one_line=True, limit=200),
        link=f"/announcements/{announcement.id}",
        kind="announcement",
        target_type="announcement",
        target_id=str(announcement.id),
        sender=actor,
    )
    if Priority(announcement.priority).pops_up:
        tell(session, announcement, unread, reminder=True)
    _record(session, actor, "remind", announcement, summary=f"{len(unread)} unread recipient(s) reminded")
    return len(unread)


def mark_read(session: Session, *, actor: Actor, announcement: Announcement) -> bool:
    """Record that `actor` has read (opened or acknowledged) the announcement; False if already done."""
    result = session.execute(
        update(AnnouncementRecipient)
        .where(
            AnnouncementRecipient.announcement_id == announcement.id,
            AnnouncementRecipient.user_id == actor.user.id,
            AnnouncementRecipient.read_at.is_(None),
        )
        .values(read_at=clock.now())
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    _record(session, actor, "read", announcement)
    events.on_commit(
        session, events.Event(type=READ, data={"id": announcement.id}, audience=(actor.user.id,))
    )
    return True


def deliver(session: Session, announcement_id: int, now: datetime) -> bool:
    """Tell the recipients of a published announcement whose window opened since it was published
    (the minute job; each in its own unit of work). Idempotent: delivered once."""
    announcement = session.get(Announcement, announcement_id)
    if announcement is None or announcement.status != AnnouncementStatus.PUBLISHED:
        return False
    claimed = session.execute(
        update(Announcement)
        .where(Announcement.id == announcement_id, Announcement.delivered_at.is_(None))
        .values(delivered_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    if announcement.visible_at(now):
        tell(session, announcement, unread_recipients(session, announcement_id))
    return True


def due_for_delivery(session: Session, now: datetime, *, limit: int = 200) -> list[int]:
    stmt = (
        select(Announcement.id)
        .where(
            Announcement.status == AnnouncementStatus.PUBLISHED,
            Announcement.delivered_at.is_(None),
            Announcement.starts_at <= now,
        )
        .order_by(Announcement.starts_at, Announcement.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def recipient_count(session: Session, announcement_id: int) -> int:
    stmt = select(func.count()).where(AnnouncementRecipient.announcement_id == announcement_id)
    return int(session.scalar(stmt) or 0)
