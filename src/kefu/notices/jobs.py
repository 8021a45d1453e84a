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
