"""Server mode: an event published in one app process reaches a browser stream held by another
(PostgreSQL + Redis pub/sub, two real `uvicorn` processes)."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from kefu.core import security
from kefu.db import make_engine
from kefu.migrate import upgrade
from kefu.org.models import ApiToken, User
from tests.live import server

pytestmark = pytest.mark.redis


def _make_user(engine, username: str, *, admin: bool) -> str:
    from sqlalchemy.orm import Session

    from kefu import bootstrap

    with Session(engine) as s, s.begin():
        role = bootstrap.ensure_builtins(s)
        user = User(
            username=username,
            name=username,
            password_hash=security.hash_password("x"),
            must_change_password=False,
            roles=[role] if admin else [],
        )
        s.add(user)
        s.flush()
        plain = "kefu_" + security.new_token()
        s.add(ApiToken(user_id=user.id, name="t", prefix=plain[:12], token_hash=security.token_hash(plain)))
    return plain


def test_event_crosses_processes_through_redis(tmp_path, fresh_pg_url):
    import redis

    redis.Redis.from_url("redis://127.0.0.1:6379/0").ping()  # fails loudly when Redis is down
    url = fresh_pg_url
    engine = make_engine(url)
    upgrade(engine)
    sender_token = _make_user(engine, "sender", admin=True)
    receiver_token = _make_user(engine, "receiver", admin=False)
    engine.dispose()
    env = {
        "KEFU_DATABASE_URL": url,
        "KEFU_REDIS_URL": "redis://127.0.0.1:6379/0",
        "KEFU_DATA_DIR": str(tmp_path / "var"),
        "KEFU_SECRET_KEY": "two-process-test",
        "KEFU_JOBS_IN_PROCESS": "false",
    }
    with server(env, log=tmp_path / "a.log") as a, server(env, log=tmp_path / "b.log") as b:
        received: list[dict] = []
        ready = threading.Event()

        def listen() -> None:
            with httpx.stream(
                "GET",
                b + "/api/v1/notifications/stream",
                timeout=20,
                headers={"Authorization": f"Bearer {receiver_token}"},
            ) as r:
                event = ""
                for line in r.iter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:"):
                        if event == "unread":
                            ready.set()
                        if event == "notification":
                            received.append(json.loads(line.split(":", 1)[1]))
                            return

        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        assert ready.wait(15), "stream on process B did not open"
        me = httpx.get(b + "/api/v1/me", headers={"Authorization": f"Bearer {receiver_token}"}).json()
        sent = httpx.post(
            a + "/api/v1/notifications/send",
            headers={"Authorization": f"Bearer {sender_token}"},
            json={"to_user_ids": [me["id"]], "title": "跨进程消息"},
            timeout=10,
        )
        assert sent.status_code == 201, sent.text
        thread.join(15)
        assert received and received[0]["title"] == "跨进程消息"
        assert received[0]["unread"] == 1
