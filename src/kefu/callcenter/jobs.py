"""Background work of the call center: every minute, make ready the agents whose wrap-up is over
(the desk and the API also do it when they read an agent), so monitors and routing see them ready."""

from __future__ import annotations

import logging

from kefu.callcenter import agents
from kefu.core.jobs import crontab, periodic, task
from kefu.db import db

log = logging.getLogger(__name__)


def finish_wrap_ups() -> int:
    """Agents made ready; safe to run twice at once (each agent row is locked while it changes)."""
    with db.unit_of_work() as session:
        done = agents.finish_wrap_ups(session)
    if done:
        log.info("call center: %s agents ready after wrap-up", done)
    return done


wrap_ups_every_minute = periodic(crontab(minute="*"), name="callcenter.finish_wrap_ups")(finish_wrap_ups)


def queue_deadlines() -> int:
    """Overflows and maximum waits of the queues kefu's ACD routes (`routing.tick`); they are
    stamped with the instant they fell due, so running once a minute skews no statistic, and a PBX
    that asks `POST /route` while a caller waits applies them on every request too."""
    from kefu.callcenter import routing

    with db.unit_of_work() as session:
        applied = routing.tick(session)
    if applied:
        log.info("call center: %s queue deadlines applied", len(applied))
    return len(applied)


queue_deadlines_every_minute = periodic(crontab(minute="*"), name="callcenter.queue_deadlines")(
    queue_deadlines
)
# Scheduled at a waiting call's next deadline when it enters a queue (`routing.on_event`), so an
# overflow after 30 seconds happens then, not at the next minute; the minute's sweep stays as the net.
queue_deadline_due = task(name="callcenter.queue_deadline_due")(queue_deadlines)
