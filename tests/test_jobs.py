"""Background jobs: queued with the transaction, consumed in-process (embedded) or by `kefu worker`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from huey import SqliteHuey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.core import clock, jobs
from kefu.db import make_engine
from kefu.migrate import upgrade
from kefu.notices.jobs import purge_read_notifications
from kefu.notices.models import Notification
from kefu.org.models import User

ran: list[str] = []


@jobs.task(name="tests.record")
def record(value: str) -> None:
    ran.append(value)


def test_job_runs_only_after_commit(session):
    ran.clear()
    jobs.enqueue_on_commit(session, record, "kept")
    session.flush()
    assert ran == []
    session.commit()
    assert ran == ["kept"]
    jobs.enqueue_on_commit(session, record, "dropped")
    session.rollback()
    session.commit()
    assert ran == ["kept"]


def test_embedded_consumer_runs_queued_jobs_in_threads(tmp_path):
    queue = SqliteHuey("kefu-test", filename=str(tmp_path / "jobs.db"))
    done: list[int] = []

    @queue.task()
    def add(n: int) -> None:
        done.append(n)

    for n in range(3):
        add(n)
    consumer = jobs._EmbeddedConsumer(queue, workers=2, worker_type="thread", periodic=False)
    consumer.start()
    try:
        deadline = time.monotonic() + 10
        while len(done) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        consumer.stop(graceful=True)
    assert sorted(done) == [0, 1, 2]


def _old_read_messages(engine, count: int) -> None:
    with Session(engine) as s, s.begin():
        user = User(username="u", name="u", password_hash="", must_change_password=False)
        s.add(user)
        s.flush()
        old = clock.now() - timedelta(days=400)
        s.add_all(
            Notification(user_id=user.id, title=f"m{i}", created_at=old, read_at=old) for i in range(count)
        )
        s.add(Notification(user_id=user.id, title="unread", created_at=old))


@pytest.mark.redis
def test_worker_process_consumes_jobs_from_redis(tmp_path, fresh_pg_url):
    import redis
    from huey import RedisHuey

    redis_url = "redis://127.0.0.1:6379/2"
    redis.Redis.from_url(redis_url).flushdb()  # fails loudly when Redis is down
    url = fresh_pg_url
    engine = make_engine(url)
    upgrade(engine)
    _old_read_messages(engine, 5)
    env = {
        **os.environ,
        "KEFU_DATABASE_URL": url,
        "KEFU_REDIS_URL": redis_url,
        "KEFU_SECRET_KEY": "w",
        "KEFU_DATA_DIR": str(tmp_path / "var"),
    }
    env.pop("KEFU_JOBS_IMMEDIATE", None)
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "kefu.cli", "worker", "--threads", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        producer = RedisHuey("kefu", url=redis_url)
        producer.task(name="notices.purge_read")(purge_read_notifications)()
        deadline = time.monotonic() + 30
        remaining = None
        while time.monotonic() < deadline:
            with Session(engine) as s:
                remaining = s.scalar(select(func.count()).select_from(Notification))
            if remaining == 1:
                break
            time.sleep(0.3)
        assert remaining == 1, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        worker.terminate()
        worker.wait(timeout=10)
        log.close()
        engine.dispose()
