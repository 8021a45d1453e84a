"""Delivering personal messages (NTC-2). Other domains call `notify` for dispatch and urge reminders;
the message is pushed to the recipient's open browsers when the transaction commits."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock, events
from kefu.core.errors import FieldError, NotFound
from kefu.core.permissions import Actor
from kefu.notices.models import Notification
from kefu.org.models import User

NOTIFICATION_CREATED = "notification.created"
NOTIFICATIONS_READ = "notification.read"


def notify(
    session: Session,
    *,
    user_ids: Iterable[int],
    title: str,
    body: str = "",
    link: str = "",
    kind: str = "message",
    target_type: str = "",
    target_id: str = "",
    sender: Actor | None = None,
    flush: bool = True,
) -> list[Notification]:
    """Put a message in each recipient's inbox; each gets a real-time push after commit.

    With `flush=False` the rows are written by the caller's next flush or the commit (one round trip
    fewer inside a busy unit of work); their ids are then known only after the commit."""
    rows = []
    for user_id in dict.fromkeys(user_ids):
        row = Notification(
            user_id=user_id,
            kind=kind,
            title=title[:200],
            body=body,
            link=link[:300],
            target_type=target_type,
            target_id=str(target_id),
            sender_id=sender.user.id if sender else None,
            sender_name=sender.user.name if sender else "",
        )
        session.add(row)
        rows.append(row)
    if flush:
        session.flush()
    for row in rows:
        data = {"id": row.id, "title": row.title, "body": row.body, "link": row.link, "kind": row.kind}
        push = functools.partial(_pushed, row, data, row.user_id)
        events.on_commit(session, push() if flush else push)
    return rows


def _pushed(row: Notification, data: dict[str, object], user_id: int) -> events.Event:
    # After the commit the row may be expired: its id comes from the identity key, which needs no load.
    if data["id"] is None:
        key = sa_inspect(row).identity
        data = {**data, "id": key[0] if key else None}
    return events.Event(type=NOTIFICATION_CREATED, data=data, audience=(user_id,))


def send_message(
    session: Session, *, actor: Actor, to_user_ids: list[int], title: str, body: str, link: str = ""
) -> list[Notification]:
    """A person-to-person message (needs notices.messages.send)."""
    if not title.strip():
        raise FieldError("title", "Enter a title")
    if not to_user_ids:
        raise FieldError("to_user_ids", "Choose at least one recipient")
    if link and not link.startswith("/"):
        raise FieldError("link", "Links must point inside the system (start with /)")
    found = set(session.scalars(select(User.id).where(User.id.in_(to_user_ids), User.is_active.is_(True))))
    missing = [u for u in to_user_ids if u not in found]
    if missing:
        raise FieldError(
            "to_user_ids", "Unknown or inactive recipient: %(ids)s", ids=", ".join(map(str, missing))
        )
    rows = notify(
        session, user_ids=to_user_ids, title=title.strip(), body=body.strip(), link=link, sender=actor
    )
    audit.record(
        session,
        actor=actor,
        action="message.send",
        function="notices.messages",
        target_type="notification",
        target_id=",".join(str(r.id) for r in rows),
        summary=f"To {len(rows)} recipient(s): {title.strip()[:80]}",
    )
    return rows


def unread_count(session: Session, user_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return int(session.scalar(stmt) or 0)


def inbox(
    session: Session,
    *,
    user_id: int,
    unread_only: bool = False,
    limit: int = 50,
    before_id: int | None = None,
) -> list[Notification]:
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    if before_id is not None:
        stmt = stmt.where(Notification.id < before_id)
    return list(session.scalars(stmt.order_by(Notification.id.desc()).limit(limit)))


def get_own(session: Session, *, actor: Actor, notification_id: int) -> Notification:
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != actor.user.id:
        raise NotFound()
    return row


def mark_read(session: Session, *, actor: Actor, ids: list[int] | None = None) -> int:
    """Mark the actor's messages read (all of them when `ids` is None). Returns how many changed."""
    stmt = update(Notification).where(Notification.user_id == actor.user.id, Notification.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(ids))
    changed = session.execute(stmt.values(read_at=clock.now())).rowcount or 0
    if changed:
        audit.record(
            session,
            actor=actor,
            action="message.read",
            function="notices.messages",
            target_type="notification",
            summary=f"Marked {changed} message(s) read",
        )
        events.on_commit(session, events.Event(type=NOTIFICATIONS_READ, data={}, audience=(actor.user.id,)))
    return changed
