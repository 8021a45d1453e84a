"""Ticket benchmarks through the HTTP API of a real server:
`python -m bench.tickets [--db postgres|sqlite] [--tickets 100000] [--concurrency 8] [--workers 2]`.

1. Registration: `POST /api/v1/tickets` from `concurrency` client threads (tickets/s, p50/p95).
2. Full lifecycle: register → handle (complete) → review (pass) → close, each by its own user with
   its own token, from `concurrency` threads (whole tickets/s, p95 per request).
3. Workbench: `GET /api/v1/tickets?box=todo` and `/counts` of a handler, with `--tickets` tickets
   (their flows and tasks) in the database.

The machine is small and shared: compare medians and ratios between runs on the same machine.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("KEFU_DATA_DIR", tempfile.mkdtemp(prefix="kefu-bench-"))

HANDLERS = 8


def _token(session: Any, user: Any) -> str:
    from kefu.core import security
    from kefu.org.models import ApiToken

    plain = "kefu_" + security.new_token()
    session.add(
        ApiToken(user_id=user.id, name="bench", prefix=plain[:12], token_hash=security.token_hash(plain))
    )
    return plain


def setup(url: str) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    from kefu.core.permissions import build_actor
    from kefu.db import make_engine
    from kefu.migrate import upgrade
    from kefu.org.config.dictionary import seed_defaults
    from kefu.org.models import DataScope, Department, Role, User, UserGroup
    from kefu.tickets import presets

    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s, s.begin():
        seed_defaults(s)
        perms = [
            f"tickets.ticket.{op}"
            for op in ("view", "create", "handle", "dispatch", "manage", "urge", "track")
        ]
        group = UserGroup(code="bench", name="bench", functions=["tickets.ticket"])
        s.add(group)
        s.flush()
        role = Role(
            group_id=group.id, code="bench", name="bench", permissions=perms, data_scope=DataScope.OWN
        )
        admin_group = UserGroup(code="bench_admin", name="admin", functions=[])
        s.add_all([role, admin_group])
        s.flush()
        admin_role = Role(group_id=admin_group.id, code="bench_admin", name="admin", all_permissions=True)
        s.add(admin_role)
        front = Department(code="FRONT", name="受理组", path="")
        back = Department(code="BACK", name="后台处理组", path="")
        s.add_all([front, back])
        s.flush()
        front.path, back.path = f"/{front.id}/", f"/{back.id}/"

        def person(name: str, dept: Department) -> User:
            user = User(
                username=name, name=name, department_id=dept.id, password_hash="", must_change_password=False
            )
            user.roles = [role]
            s.add(user)
            s.flush()
            return user

        leader = person("leader", front)
        front.supervisor_id = leader.id
        agent = person("agent", front)
        handlers = [person(f"h{i}", back) for i in range(HANDLERS)]
        admin = User(username="admin", name="admin", password_hash="", must_change_password=False)
        admin.roles = [admin_role]
        s.add(admin)
        s.flush()
        admin_actor = build_actor(s, admin)
        ticket_type = presets.standard_type(s, actor=admin_actor, department_id=back.id)
        tokens = {
            "agent": _token(s, agent),
            "leader": _token(s, leader),
            **{h.id: _token(s, h) for h in handlers},
        }
        info = {
            "type_id": ticket_type.id,
            "tokens": tokens,
            "handler_ids": [h.id for h in handlers],
            "agent_id": agent.id,
            "leader_id": leader.id,
        }
    engine.dispose()
    return info


def fill(url: str, info: dict[str, Any], count: int, *, seed: int = 11) -> None:
    """`count` tickets with a flow instance and one task each: 10 % open (spread over the handlers),
    the rest closed — the shape of a desk a few months in."""
    from sqlalchemy import insert, select
    from sqlalchemy.orm import Session

    from kefu.core import clock
    from kefu.db import make_engine
    from kefu.tickets.models import Ticket, TicketType
    from kefu.workflow.runtime.models import FlowInstance, FlowTask

    rng = random.Random(seed)
    engine = make_engine(url)
    now = clock.now()
    with Session(engine) as s, s.begin():
        ticket_type = s.get(TicketType, info["type_id"])
        version_id = s.scalar(select(FlowInstance.version_id).limit(1)) or _published_version(
            s, ticket_type.flow_template_id
        )
        batch = 5000
        for start in range(0, count, batch):
            n = min(batch, count - start)
            tickets, instances, tasks = [], [], []
            first_id = (s.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1)) or 0) + 1
            first_instance = (
                s.scalar(select(FlowInstance.id).order_by(FlowInstance.id.desc()).limit(1)) or 0
            ) + 1
            for i in range(n):
                tid, iid = first_id + i, first_instance + i
                created = now - timedelta(minutes=rng.randrange(0, 90 * 24 * 60))
                is_open = rng.random() < 0.10
                handler = rng.choice(info["handler_ids"])
                tickets.append(
                    {
                        "id": tid,
                        "serial": f"BF-{created:%Y%m%d}-{tid:07d}",
                        "type_id": ticket_type.id,
                        "channel": "phone",
                        "subject": f"批量工单 {tid}",
                        "description": "",
                        "priority": "normal",
                        "customer_name": "客户",
                        "customer_phone": "13800138000",
                        "customer_email": "",
                        "fields": {},
                        "status": "open" if is_open else "closed",
                        "stage": "处理" if is_open else "",
                        "handler_id": handler if is_open else None,
                        "creator_id": info["agent_id"],
                        "flow_instance_id": iid,
                        "urge_count": 0,
                        "reopen_count": 0,
                        "created_at": created,
                        "updated_at": created,
                        "closed_at": None if is_open else created + timedelta(hours=4),
                        "lock_version": 1,
                    }
                )
                instances.append(
                    {
                        "id": iid,
                        "version_id": version_id,
                        "subject_type": "ticket",
                        "subject_id": tid,
                        "status": "running" if is_open else "completed",
                        "state_json": "",
                        "initiator_id": info["agent_id"],
                        "started_at": created,
                        "lock_version": 1,
                    }
                )
                tasks.append(
                    {
                        "instance_id": iid,
                        "task_id": str(uuid.UUID(int=rng.getrandbits(128))),
                        "node_id": "handle",
                        "name": "处理",
                        "status": "open" if is_open else "completed",
                        "dispatch": "auto",
                        "assignee_id": handler,
                        "completed_by_id": None if is_open else handler,
                        "created_at": created,
                        "due_at": created + timedelta(days=2),
                        "comment": "",
                        "lock_version": 1,
                    }
                )
            s.execute(insert(FlowInstance), instances)
            s.execute(insert(Ticket), tickets)
            s.execute(insert(FlowTask), tasks)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            for table in ("ticket", "flow_instance", "flow_task"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
            conn.commit()
    engine.dispose()


def _published_version(session: Any, template_id: int) -> int:
    from sqlalchemy import select

    from kefu.workflow.models import FlowVersion, VersionStatus

    return int(
        session.scalar(
            select(FlowVersion.id).where(
                FlowVersion.template_id == template_id, FlowVersion.status == VersionStatus.PUBLISHED
            )
        )
    )


def _load(
    threads: int, work: Callable[[Any, int], list[float]], per_thread: int, base: str
) -> tuple[float, list[float]]:
    """Run `work(client, i)` in `threads` threads; (elapsed seconds, every request's latency)."""
    import httpx

    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            barrier.wait()
            try:
                got = work(client, i)
            except BaseException as exc:  # a failed request must stop the run, not hide in a thread
                errors.append(exc)
                raise
        with lock:
            latencies.extend(got)

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} client threads failed") from errors[0]
    return time.perf_counter() - t0, latencies


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * q) - 1)]


def _row(case: str, db_kind: str, load: str, rate: float, lat: list[float]) -> str:
    med, p95 = statistics.median(lat) * 1000, _p(lat, 0.95) * 1000
    return f"| {case} | {db_kind} | {load} | {rate:.0f} tickets/s | {med:.1f} ms | {p95:.1f} ms |"


def run(
    db_kind: str, *, tickets: int, concurrency: int, workers: int, creates: int, lifecycles: int
) -> list[str]:
    import httpx
    from tests.live import server

    if db_kind == "postgres":
        from tests.conftest import create_pg_database, drop_pg_database

        name = f"kefu_bench_{uuid.uuid4().hex[:8]}"
        url = create_pg_database(name)
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    info = setup(url)
    fill(url, info, tickets)
    tokens = info["tokens"]

    def auth(who: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[who]}"}

    body = {
        "type_id": info["type_id"],
        "channel": "phone",
        "subject": "宽带无法上网",
        "customer_phone": "13800138000",
    }
    env = {
        "KEFU_DATABASE_URL": url,
        "KEFU_REDIS_URL": "redis://127.0.0.1:6379/15" if workers > 1 else "",
        "KEFU_SECRET_KEY": "bench",
        "KEFU_DATA_DIR": tempfile.mkdtemp(prefix="kefu-bench-"),
    }
    lines = []
    load = f"c={concurrency}, {workers} proc"
    with server(env, log=Path(env["KEFU_DATA_DIR"]) / "server.log", workers=workers) as base:
        with httpx.Client(base_url=base) as warm:
            for _ in range(20):
                assert warm.post("/api/v1/tickets", json=body, headers=auth("agent")).status_code == 201

        def create(client: Any, _i: int) -> list[float]:
            out = []
            for _ in range(creates // concurrency):
                t0 = time.perf_counter()
                r = client.post("/api/v1/tickets", json=body, headers=auth("agent"))
                out.append(time.perf_counter() - t0)
                assert r.status_code == 201, r.text
            return out

        elapsed, lat = _load(concurrency, create, creates // concurrency, base)
        lines.append(_row("register (POST /api/v1/tickets)", db_kind, load, len(lat) / elapsed, lat))

        def lifecycle(client: Any, _i: int) -> list[float]:
            out = []

            def call(path: str, who: Any, payload: dict[str, Any], expect: int = 200) -> dict[str, Any]:
                t0 = time.perf_counter()
                r = client.post(path, json=payload, headers=auth(who))
                out.append(time.perf_counter() - t0)
                assert r.status_code == expect, r.text
                return r.json()

            for _ in range(lifecycles // concurrency):
                t = call("/api/v1/tickets", "agent", body, 201)
                t = call(
                    f"/api/v1/tickets/{t['id']}/complete",
                    t["handler_id"],
                    {"version": t["version"], "state": "complete"},
                )
                t = call(
                    f"/api/v1/tickets/{t['id']}/complete",
                    "leader",
                    {"version": t["version"], "state": "pass"},
                )
                t = call(
                    f"/api/v1/tickets/{t['id']}/complete",
                    "agent",
                    {"version": t["version"], "state": "close"},
                )
                assert t["status"] == "closed"
            return out

        elapsed, lat = _load(concurrency, lifecycle, lifecycles // concurrency, base)
        done = (lifecycles // concurrency) * concurrency
        lines.append(
            _row("lifecycle (register → complete → pass → close)", db_kind, load, done / elapsed, lat)
        )
        handler = info["handler_ids"][0]
        with httpx.Client(base_url=base) as client:
            for path, label in (
                ("/api/v1/tickets?box=todo&limit=50", "workbench todo (50 rows)"),
                ("/api/v1/tickets/counts", "workbench counts"),
                ("/api/v1/tickets?box=done&limit=50", "workbench done (50 rows)"),
            ):
                samples = []
                for _ in range(5):
                    client.get(path, headers=auth(handler))
                for _ in range(200):
                    t0 = time.perf_counter()
                    r = client.get(path, headers=auth(handler))
                    samples.append(time.perf_counter() - t0)
                    assert r.status_code == 200, r.text
                lines.append(
                    f"| {label}, {tickets} tickets | {db_kind} | sequential | - | "
                    f"{statistics.median(samples) * 1000:.1f} ms | {_p(samples, 0.95) * 1000:.1f} ms |"
                )
    if db_kind == "postgres":
        drop_pg_database(name)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--creates", type=int, default=800)
    parser.add_argument("--lifecycles", type=int, default=200)
    args = parser.parse_args()
    lines = run(
        args.db,
        tickets=args.tickets,
        concurrency=args.concurrency,
        workers=args.workers if args.db == "postgres" else 1,
        creates=args.creates,
        lifecycles=args.lifecycles,
    )
    print("| case | database | load | throughput | median | p95 |")
    print("|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
