"""Screen-pop latency across processes: `python -m bench.screen_pop [--agents 500] [--calls 500]`.

Server mode as deployed: a scratch PostgreSQL database, Redis for events, and two app processes
(`uvicorn kefu.asgi:app`, one worker each). `--agents` agents are created logged in and ready, each
with an API token, and each holds the agent desk's event stream (`GET /api/v1/callcenter/stream`,
server-sent events) — half on process A, half on process B. The "PBX" then reports `--calls` calls
as native CTI `ringing` events, one every `--interval` seconds, to A and B in turn, each ringing at
an agent not rung yet, and the time from sending the event until the ringing agent's stream
delivers `ringing` is the screen pop's event-to-browser latency: the CTI request (database
transaction, commit), the publish through Redis, the other process's fan-out to its streams, and
the client reading it. Reported: median, p95, p99 and max, overall and split by whether the event
was sent to the process holding the agent's stream or to the other one; and the CPU time the two app
processes spent per call (from /proc), which other load on the machine disturbs much less.

The streams are read by one asyncio client process on the same two-core machine as the servers,
PostgreSQL and Redis: the numbers include that contention. Compare runs on the same machine only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy.orm import Session
from tests.conftest import create_pg_database, drop_pg_database
from tests.live import server

from kefu.callcenter.models import Agent, AgentState, CallQueue, QueueMember
from kefu.core import security
from kefu.db import make_engine
from kefu.migrate import upgrade
from kefu.org.models import ApiToken, DataScope, Role, User, UserGroup

REDIS_URL = "redis://127.0.0.1:6379/0"


def _token(session: Session, user: User) -> str:
    plain = "kefu_" + security.new_token()
    session.add(
        ApiToken(user_id=user.id, name="bench", prefix=plain[:12], token_hash=security.token_hash(plain))
    )
    return plain


def prepare(url: str, agents: int) -> tuple[str, list[tuple[str, str]]]:
    """The PBX's token and (extension, token) of every agent, all logged in to one queue and ready."""
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    with Session(engine) as s, s.begin():
        group = UserGroup(code="bench", name="bench", functions=["callcenter.agent", "callcenter.cti"])
        s.add(group)
        s.flush()
        agent_role = Role(
            group_id=group.id,
            code="agent",
            name="agent",
            permissions=["callcenter.agent.use"],
            data_scope=DataScope.OWN,
        )
        pbx_role = Role(group_id=group.id, code="pbx", name="pbx", permissions=["callcenter.cti.report"])
        s.add_all([agent_role, pbx_role])
        pbx = User(
            username="pbx", name="PBX", password_hash="x", must_change_password=False, roles=[pbx_role]
        )
        queue = CallQueue(code="bench", name="bench", wrap_up_seconds=0)
        s.add_all([pbx, queue])
        s.flush()
        pbx_token = _token(s, pbx)
        desk: list[tuple[str, str]] = []
        for i in range(agents):
            extension = f"{7000 + i}"
            user = User(
                username=f"agent{i:04d}",
                name=f"坐席{i:04d}",
                password_hash="x",
                must_change_password=False,
                phone_ext=extension,
                roles=[agent_role],
            )
            s.add(user)
            s.flush()
            s.add(QueueMember(queue_id=queue.id, user_id=user.id))
            s.add(
                Agent(
                    user_id=user.id,
                    state=AgentState.READY.value,
                    since=now,
                    extension=extension,
                    queue_ids=[queue.id],
                    logged_in_at=now,
                    idle_since=now,
                )
            )
            desk.append((extension, _token(s, user)))
    engine.dispose()
    return pbx_token, desk


class Desks:
    """Every agent's event stream; records when each call's `ringing` arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.connected = 0

    def expect(self, call_id: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiters[call_id] = future
        return future

    async def hold(
        self,
        client: httpx.AsyncClient,
        base: str,
        token: str,
        ready: asyncio.Event,
        total: int,
        gate: asyncio.Semaphore,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        request = client.build_request("GET", base + "/api/v1/callcenter/stream", headers=headers)
        async with gate:  # desks come online a few at a time, as people log in — not 500 in one tick
            response = await client.send(request, stream=True)
        try:
            response.raise_for_status()
            self.connected += 1
            if self.connected == total:
                ready.set()
            event = ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "ringing":
                    at = time.perf_counter()
                    call_id = json.loads(line[5:])["call_id"]
                    future = self.waiters.pop(call_id, None)
                    if future is not None and not future.done():
                        future.set_result(at)
        finally:
            await response.aclose()


async def measure(
    bases: tuple[str, str], pbx_token: str, desk: list[tuple[str, str]], calls: int, interval: float
) -> list[tuple[float, float, bool]]:
    """(latency in ms, the CTI request's own time in ms, sent to the other process) per call."""
    limits = httpx.Limits(max_connections=len(desk) + 20, max_keepalive_connections=len(desk) + 20)
    timeout = httpx.Timeout(30.0, read=None)
    desks = Desks()
    ready = asyncio.Event()
    async with (
        httpx.AsyncClient(limits=limits, timeout=timeout) as streams,
        httpx.AsyncClient(timeout=30) as pbx,
    ):
        gate = asyncio.Semaphore(10)
        holders = [
            asyncio.create_task(desks.hold(streams, bases[i % 2], token, ready, len(desk), gate))
            for i, (_, token) in enumerate(desk)
        ]
        await asyncio.wait_for(ready.wait(), timeout=300)
        await asyncio.sleep(2)  # the last streams' subscriptions settle
        cpu_before = server_cpu_seconds(bases)
        results: list[tuple[float, float, bool]] = []
        headers = {"Authorization": f"Bearer {pbx_token}"}
        order = list(range(len(desk)))
        for n in range(calls):
            index = order[n % len(order)]
            extension = desk[index][0]
            target = (n // 2) % 2  # the process the PBX reports to: each half of the calls crosses
            call_id = f"pop-{uuid.uuid4().hex[:12]}"
            arrived = desks.expect(call_id)
            sent = time.perf_counter()
            body = {
                "event": "ringing",
                "call_id": call_id,
                "from": "13800138000",
                "to": "95105",
                "agent": extension,
            }
            r = await pbx.post(bases[target] + "/api/v1/callcenter/cti/events", json=body, headers=headers)
            answered = time.perf_counter()
            r.raise_for_status()
            got = await asyncio.wait_for(arrived, timeout=30)
            results.append(((got - sent) * 1000, (answered - sent) * 1000, target != index % 2))
            # Free the agent for a later round: the caller hangs up while it rings.
            hangup = {"event": "hangup", "call_id": call_id, "cause": "cancel"}
            (
                await pbx.post(bases[target] + "/api/v1/callcenter/cti/events", json=hangup, headers=headers)
            ).raise_for_status()
            await asyncio.sleep(interval)
        cpu = server_cpu_seconds(bases) - cpu_before
        print(f"app processes' CPU per call (ringing + hangup): {cpu / calls * 1000:.1f} ms")
        for task in holders:
            task.cancel()
        await asyncio.gather(*holders, return_exceptions=True)
    return results


def server_cpu_seconds(bases: tuple[str, ...]) -> float:
    """CPU time (user + system) used so far by the app processes serving `bases`: the cost of the
    work itself, which the machine's other load disturbs far less than it does latency."""
    ports = {base.rsplit(":", 1)[1] for base in bases}
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if b"kefu.asgi:app" not in argv or b"--port" not in argv:
                continue
            if argv[argv.index(b"--port") + 1].decode() not in ports:
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError, ValueError):
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def report(results: list[tuple[float, float, bool]]) -> None:
    print("| calls | median | p95 | p99 | max | CTI request median / p95 |")
    print("|---|---|---|---|---|---|")
    for label, rows in (
        ("all", results),
        ("reported to the agent's own process", [r for r in results if not r[2]]),
        ("reported to the other process (via Redis)", [r for r in results if r[2]]),
    ):
        if not rows:
            continue
        pop = sorted(r[0] for r in rows)
        request = sorted(r[1] for r in rows)
        cells = [statistics.median(pop), percentile(pop, 0.95), percentile(pop, 0.99), pop[-1]]
        print(
            f"| {label} ({len(rows)}) | "
            + " | ".join(f"{v:.1f} ms" for v in cells)
            + f" | {statistics.median(request):.1f} / {percentile(request, 0.95):.1f} ms |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between calls")
    args = parser.parse_args()
    import redis

    redis.Redis.from_url(REDIS_URL).ping()  # fails loudly when Redis is down
    name = f"kefu_bench_pop_{uuid.uuid4().hex[:8]}"
    url = create_pg_database(name)
    work = Path(tempfile.mkdtemp(prefix="kefu-bench-pop-"))
    try:
        started = time.perf_counter()
        pbx_token, desk = prepare(url, args.agents)
        print(f"prepared {args.agents} agents in {time.perf_counter() - started:.1f} s")
        env = {
            "KEFU_DATABASE_URL": url,
            "KEFU_REDIS_URL": REDIS_URL,
            "KEFU_DATA_DIR": str(work / "var"),
            "KEFU_SECRET_KEY": "bench-screen-pop",
            "KEFU_JOBS_IN_PROCESS": "false",
        }
        with ExitStack() as stack:
            a = stack.enter_context(server(env, log=work / "a.log"))
            b = stack.enter_context(server(env, log=work / "b.log"))
            results = asyncio.run(measure((a, b), pbx_token, desk, args.calls, args.interval))
        print()
        report(results)
    finally:
        drop_pg_database(name)


if __name__ == "__main__":
    main()
