"""Housekeeping of the inbox: read messages older than the retention period are removed nightly."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete

from kefu.core import clock
from kefu.core.jobs import crontab, periodic, task
from kefu.db import db
from kefu.notices.models import Notification
from kefu.org.config import parameters as params

log = logging.getLogger(__name__)

RETENTION_DAYS = params.declare(
    "notices.retention_days",
    "Keep read messages for (days)",
    int,
    180,
    group="notices",
    minimum=7,
    maximum=3650,
)


def purge_read_notifications() -> int:
    """Delete read messages past retention; unread ones are always kept. Idempotent."""
    with db.unit_of_work() as session:
        days = params.get(session, RETENTION_DAYS)
        cutoff = clock.now() - timedelta(days=days)
        result = session.execute(
            delete(Notification).where(Notification.read_at.is_not(None), Notification.read_at < cutoff)
        )
        removed = result.rowcount or 0
    log.info("purged %s read messages older than %s days", removed, days)
    return removed


purge_task = task(name="notices.purge_read")(purge_read_notifications)
nightly_purge = periodic(crontab(hour="3", minute="17"), name="notices.purge_read_nightly")(
    purge_read_notifications
)


def deliver_due_announcements() -> int:
    """Tell recipients of announcements whose validity window has opened since publishing; each in
    its own unit of work, so one failure neither blocks nor undoes the others. Idempotent."""
    from kefu.notices import announcements

    now = clock.now()
    with db.unit_of_work() as session:
        due = announcements.due_for_delivery(session, now)
    delivered = 0
    for announcement_id in due:
        try:
            with db.unit_of_work() as session:
                delivered += announcements.deliver(session, announcement_id, now)
        except Exception:
            log.exception("delivering announcement %s failed", announcement_id)
    if delivered:
        log.info("delivered %s scheduled announcement(s)", delivered)
    return delivered


announcements_every_minute = periodic(crontab(minute="*"), name="notices.deliver_announcements")(
    deliver_due_announcements
)
