"""Background work of the knowledge base: every minute, publish scheduled versions and expire
knowledge past its time (each article in its own unit of work, idempotent), and add the counted views
to the articles."""

from __future__ import annotations

import logging

from kefu.core.jobs import crontab, periodic, task
from kefu.db import db
from kefu.knowledge import clicks, indexing, lifecycle

log = logging.getLogger(__name__)

indexing.register()  # every process that runs jobs (and the app, through kefu.tasks) can re-index


def run_timers() -> tuple[int, int]:
    """Publish what is due and expire what is over; (published, expired). Safe to run twice at once."""
    with db.unit_of_work() as session:
        due = lifecycle.due_publications(session)
        over = lifecycle.due_expiries(session)
    published = expired = 0
    for version_id in due:
        try:
            with db.unit_of_work() as session:
                published += lifecycle.publish_scheduled(session, version_id=version_id)
        except Exception:  # one bad item must not stop the others; the next run retries it
            log.exception("could not publish scheduled knowledge version %s", version_id)
    for article_id in over:
        try:
            with db.unit_of_work() as session:
                expired += lifecycle.expire(session, article_id=article_id)
        except Exception:
            log.exception("could not expire knowledge article %s", article_id)
    if published or expired:
        log.info("knowledge timers: %s published, %s expired", published, expired)
    return published, expired


def flush_clicks() -> int:
    """Write the views counted since the last flush; on failure they go back into the buffer."""
    buffer = clicks.buffer()
    counts = buffer.take()
    if not counts:
        return 0
    try:
        with db.unit_of_work() as session:
            return clicks.flush(session, counts)
    except Exception:
        buffer.give_back(counts)
        raise


timers_task = task(name="knowledge.timers")(run_timers)
timers_every_minute = periodic(crontab(minute="*"), name="knowledge.timers_every_minute")(run_timers)
clicks_every_minute = periodic(crontab(minute="*"), name="knowledge.flush_clicks")(flush_clicks)
