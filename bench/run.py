"""Foundation benchmarks: `python -m bench.run [--db sqlite|postgres] [--users N]`.

Prints a Markdown table of medians (and p95) per case. The machine is small and shared: compare
medians and ratios between runs on the same machine, not absolute numbers across machines.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("KEFU_JOBS_IMMEDIATE", "1")
os.environ.setdefault("KEFU_DATA_DIR", tempfile.mkdtemp(prefix="kefu-bench-"))


def measure(fn: Callable[[], object], *, repeat: int, warmup: int = 3) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def bench_calendar(rows: list[tuple[str, float, float, str]]) -> None:
    import random
    from zoneinfo import ZoneInfo

    from kefu.org.calendar.arith import BusinessCalendar, DayResolver, WorkingHours

    cal = BusinessCalendar(DayResolver(), WorkingHours.standard(), ZoneInfo("Asia/Shanghai"))
    rng = random.Random(1)
    starts = [
        datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 360 * 24 * 60))
        for _ in range(200)
    ]
    it = iter(starts * 1000)
    med, p95 = measure(lambda: cal.add_working_time(next(it), timedelta(hours=16)), repeat=2000)
    rows.append(("calendar: add 16 working hours", med, p95, "pure"))
    med, p95 = measure(lambda: cal.add_working_time(next(it), timedelta(hours=2000)), repeat=300)
    rows.append(("calendar: add 2000 working hours", med, p95, "pure"))
    a, b = starts[0], starts[0] + timedelta(days=30)
    med, p95 = measure(lambda: cal.working_time_between(a, b), repeat=2000)
    rows.append(("calendar: working time over 30 days", med, p95, "pure"))


def bench_http(rows: list[tuple[str, float, float, str]], *, db_kind: str, users: int) -> None:
    import httpx
    from sqlalchemy.orm import Session
    from tests.live import server

    from bench.generate import generate
    from kefu.core import security
    from kefu.db import db
    from kefu.migrate import upgrade
    from kefu.org.models import ApiToken, Role, User

    if db_kind == "postgres":
        from tests.conftest import create_pg_database

        name = f"kefu_bench_{uuid.uuid4().hex[:8]}"
        url = create_pg_database(name)
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    engine = db.configure(url)
    upgrade(engine)
    with Session(engine) as s, s.begin():
        info = generate(s, users=users, audit_rows=0)
        lead_role = s.get(Role, info["lead_role"])
        lead = User(
            username="lead",
            name="班长",
            department_id=info["root"],
            roles=[lead_role],
            password_hash="",
            must_change_password=False,
        )
        s.add(lead)
        s.flush()
        plain = "kefu_" + security.new_token()
        s.add(ApiToken(user_id=lead.id, name="b", prefix=plain[:12], token_hash=security.token_hash(plain)))
    engine.dispose()
    headers = {"Authorization": f"Bearer {plain}"}
    env = {
        "KEFU_DATABASE_URL": url,
        "KEFU_REDIS_URL": "",
        "KEFU_SECRET_KEY": "bench",
        "KEFU_DATA_DIR": tempfile.mkdtemp(prefix="kefu-bench-"),
    }
    # A real server process and a keep-alive HTTP client: what a browser or integration sees.
    with (
        server(env, log=Path(env["KEFU_DATA_DIR"]) / "server.log") as base,
        httpx.Client(base_url=base) as client,
    ):
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        med, p95 = measure(lambda: client.get("/static/kefu/app.css"), repeat=300)
        rows.append(("GET a static file (baseline)", med, p95, db_kind))
        med, p95 = measure(lambda: client.get("/api/v1/me", headers=headers), repeat=300)
        rows.append(("GET /api/v1/me (token auth, permissions)", med, p95, db_kind))
        med, p95 = measure(lambda: client.get("/api/v1/org/users?limit=50", headers=headers), repeat=200)
        rows.append((f"GET /api/v1/org/users 50 of {users} (subtree scope)", med, p95, db_kind))
        med, p95 = measure(lambda: client.get("/api/v1/org/users?q=王&limit=50", headers=headers), repeat=100)
        rows.append((f"GET /api/v1/org/users?q=王 of {users}", med, p95, db_kind))
        body = {"name": "bench"}
        uid = info["user_ids"][0]
        med, p95 = measure(
            lambda: client.patch(f"/api/v1/org/users/{uid}", json=body, headers=headers), repeat=100
        )
        rows.append(("PATCH /api/v1/org/users/{id} (scope, audit, commit)", med, p95, db_kind))
    if db_kind == "postgres":
        from tests.conftest import drop_pg_database

        drop_pg_database(name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--users", type=int, default=10000)
    args = parser.parse_args()
    rows: list[tuple[str, float, float, str]] = []
    bench_calendar(rows)
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        bench_http(rows, db_kind=kind, users=args.users)
    print("| case | database | median | p95 |")
    print("|---|---|---|---|")
    for name, med, p95, kind in rows:
        print(f"| {name} | {kind} | {med * 1000:.3f} ms | {p95 * 1000:.3f} ms |")


if __name__ == "__main__":
    main()
