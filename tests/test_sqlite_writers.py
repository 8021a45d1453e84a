"""The embedded default (SQLite) under concurrent writers: a PBX reporting many calls at once gets
every event applied, none refused with "database is locked" (a real server process, real threads)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.callcenter.models import Call
from kefu.db import make_engine
from kefu.migrate import upgrade
from tests.live import server
from tests.test_two_processes import _make_user


def test_concurrent_cti_events_all_apply_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'kefu.db'}"
    engine = make_engine(url)
    upgrade(engine)
    token = _make_user(engine, "pbx", admin=True)
    env = {
        "KEFU_DATABASE_URL": url,
        "KEFU_DATA_DIR": str(tmp_path / "var"),
        "KEFU_SECRET_KEY": "sqlite-writers",
    }
    headers = {"Authorization": f"Bearer {token}"}
    with server(env, log=tmp_path / "server.log") as base, httpx.Client(timeout=30) as client:

        def report(n: int) -> list[int]:
            codes = []
            for kind in ("new_call", "queued", "hangup"):
                body = {"event": kind, "call_id": f"c{n}", "from": "13800138000", "to": "95105"}
                if kind == "queued":
                    body["queue"] = f"q{n % 3}"  # queues created on first mention, at once
                if kind == "hangup":
                    body["cause"] = "cancel"
                codes.append(
                    client.post(
                        base + "/api/v1/callcenter/cti/events", json=body, headers=headers
                    ).status_code
                )
            return codes

        with ThreadPoolExecutor(max_workers=12) as pool:
            results = [code for codes in pool.map(report, range(60)) for code in codes]
    assert results.count(200) == len(results), (tmp_path / "server.log").read_text()[-3000:]
    with Session(engine) as s:
        assert s.scalar(select(func.count(Call.id)).where(Call.outcome == "abandoned")) == 60
    engine.dispose()
