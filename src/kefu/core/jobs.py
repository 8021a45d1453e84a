"""Background jobs and periodic tasks, on Huey.

Embedded mode: Huey stores its queue in a SQLite file beside the database and a consumer runs
inside the app process. Server mode: Huey on Redis, consumed by any number of `kefu worker`
processes. Domain code only uses `task`, `periodic`, `enqueue_on_commit` and `schedule_on_commit`
from here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.consumer import Consumer
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from kefu.core import clock
from kefu.settings import Settings, get_settings

log = logging.getLogger(__name__)

__all__ = [
    "crontab",
    "enqueue_on_commit",
    "huey",
    "periodic",
    "schedule_on_commit",
    "start_consumer",
    "task",
]


def _build(settings: Settings) -> Huey:
    if settings.redis_url:
        return RedisHuey("kefu", url=settings.redis_url, immediate=settings.jobs_immediate, utc=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        "kefu", filename=str(settings.data_dir / "jobs.db"), immediate=settings.jobs_immediate, utc=True
    )


huey: Huey = _build(get_settings())


def task(**kwargs: Any) -> Callable[[Callable[..., Any]], TaskWrapper]:
    """Declare a background task. It receives ids, opens its own unit of work and is idempotent."""
    return huey.task(**kwargs)


def periodic(schedule: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], TaskWrapper]:
    """Declare a periodic task, e.g. `@periodic(crontab(minute="*"))`."""
    return huey.periodic_task(schedule, **kwargs)


def enqueue_on_commit(session: Session, job: TaskWrapper, *args: Any, **kwargs: Any) -> None:
    """Enqueue `job(*args, **kwargs)` once `session` commits; never if it rolls back."""
    if not session.in_transaction():
        session.begin()  # so that a rollback before the next commit drops it too
    session.info.setdefault("kefu_pending_jobs", []).append((job, args, kwargs))


def schedule_on_commit(session: Session, job: TaskWrapper, *args: Any, at: datetime) -> None:
    """Run `job(*args)` at `at` (as soon as possible when that has passed), once `session` commits.
    The job must be idempotent: a deadline may also be met by a periodic sweep first."""
    if not session.in_transaction():
        session.begin()
    session.info.setdefault("kefu_pending_jobs", []).append((_Scheduled(job, at), args, {}))


class _Scheduled:
    """A job to schedule at an instant; the delay is taken when the transaction commits."""

    def __init__(self, job: TaskWrapper, at: datetime) -> None:
        self.job, self.at, self.name = job, at, getattr(job, "name", str(job))

    def __call__(self, *args: Any) -> None:
        delay = max(0.0, (self.at - clock.now()).total_seconds())
        self.job.schedule(args=args, delay=delay)


@sa_event.listens_for(Session, "after_commit")
def _enqueue_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the real commit is still to come
    for job, args, kwargs in session.info.pop("kefu_pending_jobs", []):
        try:
            job(*args, **kwargs)
        except Exception:
            log.exception("could not enqueue %s", getattr(job, "name", job))


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop("kefu_pending_jobs", None)


class _EmbeddedConsumer(Consumer):
    """A consumer that lives inside the web process: it leaves the server's signal handlers alone."""

    def _set_signal_handlers(self) -> None:
        pass


def start_consumer(*, workers: int = 2, embedded: bool = True) -> Consumer:
    """Start consuming jobs. Embedded: threads inside this process; call `.stop(graceful=True)` to end."""
    cls = _EmbeddedConsumer if embedded else Consumer
    consumer = cls(huey, workers=workers, worker_type="thread", periodic=True)
    if embedded:
        consumer.start()
    return consumer
