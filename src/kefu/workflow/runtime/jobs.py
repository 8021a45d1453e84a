"""The minute job of running flows: warnings, escalations and due BPMN timers (WF-7).

`check_time_limits` finds due items with one query each, then handles every item in its own unit of
work, so one failing item (a concurrent step: 409) neither blocks nor undoes the others; it is simply
picked up again next minute. Re-running changes nothing (see `timers`). An escalation the flow
refuses (a path into a countersign nobody can sign) is retried every minute too, and reported to
the people concerned the first time only (`timers.escalation_refused`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import clock
from kefu.core.errors import KefuError
from kefu.core.jobs import crontab, periodic
from kefu.db import db
from kefu.workflow.runtime import sync, timers
from kefu.workflow.runtime.models import ACTIVE_TASK, FlowInstance, FlowTask, InstanceStatus

log = logging.getLogger(__name__)

BATCH = 500


@dataclass
class Outcome:
    warned: int = 0
    escalated: int = 0
    timers_fired: int = 0
    failed: int = 0


def _due_tasks(column: object, done: object, now: datetime) -> list[int]:
    with db.unit_of_work() as session:
        stmt = (
            select(FlowTask.id)
            .join(FlowInstance, FlowInstance.id == FlowTask.instance_id)
            .where(
                FlowTask.status.in_(ACTIVE_TASK),
                column <= now,  # type: ignore[operator]
                done.is_(None),  # type: ignore[attr-defined]
                FlowInstance.status == InstanceStatus.RUNNING,
            )
            .order_by(FlowTask.id)
            .limit(BATCH)
        )
        return list(session.scalars(stmt))


def _each(
    ids: list[int],
    step: Callable[[Session, int, datetime], object],
    now: datetime,
    refused: Callable[[Session, int, datetime, KefuError], object] | None = None,
) -> tuple[int, int]:
    """Run `step` on each item in a unit of work of its own; a step the flow refused
    (`sync.Refused`) is reported by `refused` in another one (the step's own left nothing)."""
    done = failed = 0
    for item_id in ids:
        try:
            with db.unit_of_work() as session:
                if step(session, item_id, now):
                    done += 1
        except KefuError as exc:
            failed += 1
            log.info("workflow time limit on %s skipped: %s", item_id, exc)
            if refused is not None and isinstance(exc, sync.Refused):
                _report(refused, item_id, now, exc)
        except Exception:
            failed += 1
            log.exception("workflow time limit on %s failed", item_id)
    return done, failed


def _report(
    refused: Callable[[Session, int, datetime, KefuError], object],
    item_id: int,
    now: datetime,
    exc: KefuError,
) -> None:
    try:
        with db.unit_of_work() as session:
            refused(session, item_id, now, exc)
    except KefuError as again:
        log.info("workflow refusal on %s not reported: %s", item_id, again)
    except Exception:
        log.exception("workflow refusal on %s not reported", item_id)


def check_time_limits(now: datetime | None = None) -> Outcome:
    """Warn, escalate and fire timers due at `now` (kefu's clock by default)."""
    now = now or clock.now()
    outcome = Outcome()
    outcome.warned, failed_w = _each(
        _due_tasks(FlowTask.warn_at, FlowTask.warned_at, now), timers.warn_task, now
    )
    outcome.escalated, failed_e = _each(
        _due_tasks(FlowTask.due_at, FlowTask.escalated_at, now),
        timers.escalate_task,
        now,
        refused=timers.escalation_refused,
    )
    with db.unit_of_work() as session:
        stmt = (
            select(FlowInstance.id)
            .where(FlowInstance.status == InstanceStatus.RUNNING, FlowInstance.next_timer_at <= now)
            .order_by(FlowInstance.id)
            .limit(BATCH)
        )
        instance_ids = list(session.scalars(stmt))
    outcome.timers_fired, failed_t = _each(instance_ids, timers.fire_timers, now)
    outcome.failed = failed_w + failed_e + failed_t
    if outcome.warned or outcome.escalated or outcome.timers_fired or outcome.failed:
        log.info("workflow time limits: %s", outcome)
    return outcome


every_minute = periodic(crontab(minute="*"), name="workflow.time_limits")(check_time_limits)
