"""Authentication against a real server on PostgreSQL: requests that wait on each other's row locks
while authenticating must not stall the server's event loop (they used to deadlock it)."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import clock, security
from kefu.db import make_engine
from kefu.migrate import upgrade
from kefu.org.models import ApiToken, User
from tests.live import server

pytestmark = pytest.mark.postgres

REQUESTS = 24


def test_concurrent_requests_with_one_token_all_finish(tmp_path, fresh_pg_url):
    engine = make_engine(fresh_pg_url)
    upgrade(engine)
    with Session(engine) as s, s.begin():
        user = User(username="bridge", name="PBX bridge", password_hash="", must_change_password=False)
        s.add(user)
        s.flush()
        plain = "kefu_" + security.new_token()
        # Long unused: every request below wants to record the token's use, on the same row.
        s.add(
            ApiToken(
                user_id=user.id,
                name="t",
                prefix=plain[:12],
                token_hash=security.token_hash(plain),
                last_used_at=clock.now() - timedelta(days=1),
            )
        )
    env = {
        "KEFU_DATABASE_URL": fresh_pg_url,
        "KEFU_DATA_DIR": str(tmp_path / "var"),
        "KEFU_SECRET_KEY": "live-auth-test",
    }
    statuses: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    with server(env, log=tmp_path / "server.log") as base:
        barrier = threading.Barrier(REQUESTS)

        def call() -> None:
            try:
                with httpx.Client(base_url=base, timeout=60) as client:
                    barrier.wait()
                    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
                with lock:
                    statuses.append(r.status_code)
            except BaseException as exc:  # a timeout here is the deadlock this test guards against
                with lock:
                    failures.append(exc)

        threads = [threading.Thread(target=call) for _ in range(REQUESTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not failures, failures[:3]
    assert statuses == [200] * REQUESTS
    with Session(engine) as s:
        used = s.scalars(select(ApiToken.last_used_at)).one()
    engine.dispose()
    assert used is not None and clock.now() - used < timedelta(minutes=5)
