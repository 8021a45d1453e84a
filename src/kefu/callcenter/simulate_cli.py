"""`kefu simulate`: a traffic generator that plays a PBX against a running kefu through the CTI API.

Callers arrive as planned by `traffic.plan` (Poisson arrivals, handling and patience drawn from a
seed). Each call is one asyncio task that reports, with its own event ids (so a retry after a
network error is harmless: CTI events are idempotent by `event_id`):

    new_call (from a caller's mobile to the service number, with IVR data) → queued in the queue →
    ringing at an agent → answer → hangup (the caller, after the handling time), or
    hangup with cause `cancel` when the caller's patience runs out first (abandoned).

Who rings: in a queue routed by the PBX (`routing = pbx`) the simulator is the PBX's ACD: it rings
the longest-idle ready agent of the queue (read from the monitor API) and reports `ringing`; an
agent who lets it ring for `RING_TIMEOUT` is reported `no_answer` and the call waits again. In a
queue routed by kefu, kefu offers the call itself; the simulator watches the call
(`GET /api/v1/callcenter/calls/{id}`).

Who answers: a person at the agent desk (the simulated PBX of the desk reports the answer and, if the
agent hangs up first, the hangup), or with `--auto-answer` the simulator's own agents: up to
`--agents` of the queue's logged-in agents, and — when it has the database (`--create-token`) —
queue members it logs in itself (each with a token of the run, revoked at the end).

Clock: every timestamp sent is the *simulated* clock, the run's real start plus the simulated
seconds, so kefu's waits, talk times and service levels (computed from event timestamps) are those
of the simulation whatever `--speed`. At `--speed 1` the simulated clock is the real one. Faster,
it runs ahead of the server's clock, and kefu's own timers (a wrap-up's end, a queue's maximum wait
or overflow) still follow the server's clock: the simulator ends its own agents' wrap-ups itself
after the simulated wrap-up (the agent says ready), and people at the desk should use speed 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session

from kefu.callcenter import traffic
from kefu.callcenter.simulation import Exponential, LogNormal

API = "/api/v1/callcenter"
SERVICE_NUMBER = "95105"
RING_TIMEOUT = 20.0  # simulated seconds a person's phone rings before the PBX gives up on them
SIMULATOR_USERNAME = "cti-simulator"
TOKEN_NAME = "kefu simulate"


class SimulationError(Exception):
    """The run cannot go on (what to do about it is in the message)."""


@dataclass
class Options:
    url: str = "http://127.0.0.1:8000"
    token: str = ""
    queue: str = "hotline"
    rate: float = 60.0  # calls per hour
    duration: float = 600.0  # simulated seconds of arrivals
    aht: float = 180.0
    aht_sd: float | None = None
    patience: float = 60.0  # mean, exponential; 0: infinite
    speed: float = 1.0
    seed: int = 1
    auto_answer: bool = False
    agents: int = 2
    dry_run: bool = False
    # Requests in flight at once. 1 suits the embedded SQLite server (concurrent writes there fail
    # with "database is locked"); a PostgreSQL server takes more.
    concurrency: int = 1

    def handling(self) -> Exponential | LogNormal:
        return LogNormal(self.aht, self.aht_sd) if self.aht_sd else Exponential(self.aht)

    def patience_distribution(self) -> Exponential | None:
        return Exponential(self.patience) if self.patience > 0 else None

    def validate(self) -> None:
        for name in ("rate", "duration", "aht", "speed"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise SimulationError(f"--{name.replace('_', '-')} must be > 0")
        if self.patience < 0:
            raise SimulationError("--patience must be >= 0 (0: callers never hang up)")
        if self.aht_sd is not None and self.aht_sd <= 0:
            raise SimulationError("--aht-sd must be > 0")
        if self.concurrency < 1:
            raise SimulationError("--concurrency must be at least 1")
        if self.auto_answer and self.agents < 1:
            raise SimulationError("--agents must be at least 1 with --auto-answer")


class Clock:
    """Simulated seconds since the start; `at` gives the timestamp sent for a simulated instant."""

    def __init__(self, speed: float, start: datetime | None = None) -> None:
        self.speed = speed
        self.start = start or datetime.now(UTC)
        self._t0 = time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self._t0) * self.speed

    def at(self, sim: float) -> str:
        return (self.start + timedelta(seconds=sim)).isoformat()

    def of(self, stamp: str | None) -> float | None:
        """The simulated instant of a timestamp kefu returned."""
        if not stamp:
            return None
        moment = datetime.fromisoformat(stamp)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return (moment - self.start).total_seconds()

    def real(self, sim_seconds: float) -> float:
        return max(0.0, sim_seconds / self.speed)

    async def sleep_until(self, sim: float) -> None:
        delay = self.real(sim - self.now())
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass
class SimAgent:
    user_id: int
    extension: str
    name: str
    token: str = ""  # the agent's own token when the simulator logged it in (to say ready)
    free_at: float = 0.0  # simulated instant from which it takes calls (after wrap-up)
    busy: bool = False


@dataclass
class QueueInfo:
    id: int
    code: str
    routing: str
    wrap_up_seconds: int
    service_level_seconds: int
    service_level_target: float | None


@dataclass
class CallRun:
    planned: traffic.PlannedCall
    call_id: str
    pk: int | None = None
    last: dict[str, Any] = field(default_factory=dict)  # kefu's latest view of the call
    ended: bool = False
    sent: int = 0

    @property
    def deadline(self) -> float:
        p = self.planned.patience
        return self.planned.queued + p if p is not None else math.inf


class Simulator:
    """One run against kefu's API (`client` has the base URL and the bearer token)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        options: Options,
        *,
        echo: Callable[[str], None] = print,
        session_factory: Callable[[], Session] | None = None,
        known_numbers: list[str] | None = None,
    ) -> None:
        self.client = client
        self.options = options
        self.echo = echo
        self.session_factory = session_factory
        self.known_numbers = known_numbers or []
        self.run_id = f"sim-{secrets.token_hex(4)}"
        self.clock = Clock(options.speed)
        self.queue: QueueInfo | None = None
        self.auto: dict[int, SimAgent] = {}
        self.extensions: dict[int, str] = {}
        self.calls: list[CallRun] = []
        self.waiting: list[CallRun] = []  # PBX routing: callers waiting, in queue order
        self.assigned: dict[str, asyncio.Future[int]] = {}
        self.reserved: set[int] = set()
        self.changed = asyncio.Event()
        self.created_tokens: list[int] = []
        self.poll = max(0.1, min(0.5, 2.0 / options.speed))
        self.in_flight = asyncio.Semaphore(options.concurrency)

    # --- HTTP -------------------------------------------------------------------------------------

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request with retries after network errors and 5xx (events carry ids: retrying is safe)."""
        delay = 0.2
        for attempt in range(6):
            try:
                async with self.in_flight:
                    r = await self.client.request(method, path, **kwargs)
            except httpx.TransportError:
                if attempt == 5:
                    raise
            else:
                if r.status_code < 500 or attempt == 5:
                    return r
            await asyncio.sleep(delay)
            delay = min(delay * 2, 3.0)
        raise AssertionError("unreachable")

    async def get_json(self, path: str, what: str, **params: Any) -> Any:
        r = await self.request("GET", API + path, params=params or None)
        if r.status_code in (401, 403):
            raise SimulationError(f"reading {what} was refused ({r.status_code}): {r.text[:200]}")
        if r.status_code != 200:
            raise SimulationError(f"reading {what} failed ({r.status_code}): {r.text[:200]}")
        return r.json()

    async def event(self, run: CallRun, kind: str, at: float, **fields: Any) -> dict[str, Any]:
        run.sent += 1
        body = {
            "event": kind,
            "call_id": run.call_id,
            "timestamp": self.clock.at(at),
            "event_id": f"{run.call_id}-{run.sent}-{kind}",
            **fields,
        }
        r = await self.request("POST", API + "/cti/events", json=body)
        if r.status_code in (401, 403):
            raise SimulationError(
                f"kefu refused the CTI event ({r.status_code}): the token needs callcenter.cti.report"
            )
        if r.status_code != 200:
            raise SimulationError(f"CTI event {kind} failed ({r.status_code}): {r.text[:300]}")
        call = r.json()["call"]
        run.pk, run.last = call["id"], call
        run.ended = call["state"] == "ended"
        return call

    async def refresh(self, run: CallRun) -> dict[str, Any]:
        call = await self.get_json(f"/calls/{run.pk}", "the call (needs callcenter.calls.view)")
        run.last, run.ended = call, call["state"] == "ended"
        return call

    # --- set-up -----------------------------------------------------------------------------------

    async def load_queue(self) -> QueueInfo:
        r = await self.request("GET", API + "/queues")
        if r.status_code == 200:
            for q in r.json():
                if q["code"] == self.options.queue:
                    return QueueInfo(
                        id=q["id"],
                        code=q["code"],
                        routing=q["routing"],
                        wrap_up_seconds=q["wrap_up_seconds"],
                        service_level_seconds=q["service_level_seconds"],
                        service_level_target=q["service_level_target"],
                    )
            raise SimulationError(f"no queue {self.options.queue!r} in kefu")
        raise SimulationError(
            f"reading the queues was refused ({r.status_code}): the token's user needs "
            "callcenter.config.view, callcenter.monitor.view and callcenter.calls.view besides "
            "callcenter.cti.report (or use --create-token)"
        )

    async def monitor_agents(self) -> list[dict[str, Any]]:
        snap = await self.get_json("/monitor", "the monitor (needs callcenter.monitor.view)")
        agents = snap["agents"]
        for a in agents:
            self.extensions[a["user_id"]] = a["extension"]
        return agents

    async def choose_agents(self) -> None:
        """The simulator's own agents (--auto-answer): logged-in agents of the queue, then members
        it logs in itself when it has the database."""
        assert self.queue is not None
        want = self.options.agents
        mine = [
            a
            for a in await self.monitor_agents()
            if self.queue.id in a["queue_ids"] and a["state"] != "offline"
        ]
        mine.sort(key=lambda a: (a["state"] != "ready", a["since"]))
        for a in mine[:want]:
            self.auto[a["user_id"]] = SimAgent(a["user_id"], a["extension"], a["name"])
        if len(self.auto) < want and self.session_factory is not None:
            for user_id, name, extension, token, member in self._agent_tokens(want - len(self.auto)):
                self.auto[user_id] = SimAgent(user_id, extension, name, token=token)
                headers = {"Authorization": f"Bearer {token}"}
                login = {"extension": extension, "queue_ids": [self.queue.id] if member else None}
                r = await self.request("POST", API + "/agent/login", json=login, headers=headers)
                if r.status_code != 200:
                    del self.auto[user_id]
                    self.echo(f"  could not log in {name}: {r.status_code} {r.text[:200]}")
                    continue
                await self.request("POST", API + "/agent/ready", headers=headers)
        for a in self.auto.values():
            self.extensions[a.user_id] = a.extension
        if not self.auto:
            raise SimulationError(
                f"no agent is logged in to queue {self.queue.code}: log one in at the desk, "
                "or use --create-token so that the simulator logs in the queue's members"
            )
        if len(self.auto) < want:
            self.echo(f"  only {len(self.auto)} of {want} agents are available")

    def _agent_tokens(self, count: int) -> list[tuple[int, str, str, str, bool]]:
        """Tokens of the run for up to `count` offline agents serving the queue (members, or for a
        kefu-routed queue agents skilled for it)."""
        from sqlalchemy import select

        from kefu.callcenter import routing
        from kefu.callcenter.models import Agent, AgentState, CallQueue, QueueMember
        from kefu.core.permissions import build_actor
        from kefu.org import auth_service
        from kefu.org.models import User

        assert self.session_factory is not None and self.queue is not None
        found = []
        session = self.session_factory()
        try:
            queue = session.get(CallQueue, self.queue.id)
            assert queue is not None
            members = set(
                session.scalars(select(QueueMember.user_id).where(QueueMember.queue_id == queue.id))
            )
            required = routing.required_skills(session, [queue.id]).get(queue.id, {})
            users = session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.id)).all()
            for user in users:
                if len(found) >= count:
                    break
                if user.id in self.auto:
                    continue
                agent = session.scalar(select(Agent).where(Agent.user_id == user.id))
                if agent is not None and agent.state != AgentState.OFFLINE.value:
                    continue
                member = user.id in members
                if not member:
                    if queue.routing != routing.KEFU or not required:
                        continue
                    levels = routing.agent_levels(session, [user.id]).get(user.id, {})
                    if not all(levels.get(s, 0) >= m for s, m in required.items()):
                        continue
                actor = build_actor(session, user)
                if not actor.can("callcenter.agent.use"):
                    continue
                plain, row = auth_service.create_token(
                    session, user=user, name=TOKEN_NAME, expires_at=None, actor=actor
                )
                self.created_tokens.append(row.id)
                extension = user.phone_ext or f"9{user.id:04d}"
                found.append((user.id, user.name, extension, plain, member))
            session.commit()
        finally:
            session.close()
        return found

    def revoke_tokens(self) -> None:
        if not self.created_tokens or self.session_factory is None:
            return
        from kefu.core import clock
        from kefu.org.models import ApiToken

        session = self.session_factory()
        try:
            for token_id in self.created_tokens:
                row = session.get(ApiToken, token_id)
                if row is not None and row.revoked_at is None:
                    row.revoked_at = clock.now()
            session.commit()
        finally:
            session.close()

    # --- the PBX's ACD (queues routed by the PBX) -------------------------------------------------

    async def dispatcher(self) -> None:
        while True:
            self.changed.clear()
            if self.waiting:
                for agent_id in await self.free_agents():
                    if not self.waiting:
                        break
                    run = self.waiting.pop(0)
                    self.reserved.add(agent_id)
                    future = self.assigned.pop(run.call_id, None)
                    if future is not None and not future.done():
                        future.set_result(agent_id)
                    else:
                        self.reserved.discard(agent_id)
            timeout = self.poll
            if self.auto:
                upcoming = [
                    a.free_at for a in self.auto.values() if not a.busy and a.free_at > self.clock.now()
                ]
                if upcoming:
                    timeout = min(timeout, self.clock.real(min(upcoming) - self.clock.now()) + 0.001)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout)

    async def free_agents(self) -> list[int]:
        """Agents that may ring now, longest idle first."""
        now = self.clock.now()
        if self.auto:
            free = [a for a in self.auto.values() if not a.busy and a.free_at <= now]
            free.sort(key=lambda a: a.free_at)
            return [a.user_id for a in free if a.user_id not in self.reserved]
        assert self.queue is not None
        agents = await self.monitor_agents()
        ready = [
            a
            for a in agents
            if self.queue.id in a["queue_ids"]
            and a["state"] == "ready"
            and a["call"] is None
            and a["user_id"] not in self.reserved
        ]
        ready.sort(key=lambda a: a["since"])
        return [a["user_id"] for a in ready]

    async def wait_for_agent(self, run: CallRun) -> int | None:
        """Queue the caller in the PBX's queue until an agent is chosen, or None when their patience
        runs out first."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self.assigned[run.call_id] = future
        self.waiting.append(run)
        self.waiting.sort(key=lambda r: r.planned.queued)
        self.changed.set()
        timeout = None if math.isinf(run.deadline) else self.clock.real(run.deadline - self.clock.now())
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            self.assigned.pop(run.call_id, None)
            if run in self.waiting:
                self.waiting.remove(run)
            if future.done():  # chosen at the last moment: the agent was reserved for nothing
                self.reserved.discard(future.result())
                self.changed.set()
            return None

    # --- one call ---------------------------------------------------------------------------------

    async def play(self, run: CallRun) -> None:
        assert self.queue is not None
        p = run.planned
        await self.clock.sleep_until(p.arrival)
        await self.event(
            run,
            "new_call",
            p.arrival,
            direction="in",
            to=SERVICE_NUMBER,
            ivr=dict(p.ivr),
            **{"from": p.from_number},
        )
        await self.clock.sleep_until(p.queued)
        await self.event(run, "queued", p.queued, queue=self.queue.code)
        if self.queue.routing == "kefu":
            await self.play_kefu_routed(run)
        else:
            await self.play_pbx_routed(run)

    async def give_up(self, run: CallRun) -> None:
        await self.clock.sleep_until(run.deadline)
        await self.event(run, "hangup", run.deadline, cause="cancel")

    async def play_pbx_routed(self, run: CallRun) -> None:
        while not run.ended:
            agent_id = await self.wait_for_agent(run)
            if agent_id is None:
                await self.event(run, "hangup", max(run.deadline, self.clock.now()), cause="cancel")
                return
            try:
                rang = self.clock.now()
                await self.event(run, "ringing", rang, agent=self.extensions[agent_id])
                if agent_id in self.auto:
                    await self.auto_answer(run, self.auto[agent_id], rang)
                    return
                if await self.person_answers(run, agent_id, rang):
                    await self.talk(run)
                    return
            finally:
                self.reserved.discard(agent_id)
                self.changed.set()

    async def play_kefu_routed(self, run: CallRun) -> None:
        handled: set[int] = set()
        while not run.ended:
            call = run.last
            if call.get("answered_at"):
                await self.talk(run)
                return
            ringing_at = call["offered_to"][-1] if call["state"] == "ringing" and call["offered_to"] else None
            if ringing_at in self.auto and ringing_at not in handled:
                handled.add(ringing_at)
                await self.auto_answer(
                    run, self.auto[ringing_at], max(self.clock.now(), self.clock.of(call["ringing_at"]) or 0)
                )
                return
            if self.clock.now() >= run.deadline:
                await self.event(run, "hangup", max(run.deadline, self.clock.now()), cause="cancel")
                return
            await asyncio.sleep(min(self.poll, self.clock.real(run.deadline - self.clock.now()) + 0.001))
            await self.refresh(run)

    async def auto_answer(self, run: CallRun, agent: SimAgent, rang: float) -> None:
        agent.busy = True
        try:
            answer_at = rang + run.planned.ring_seconds
            if run.deadline < answer_at:
                await self.give_up(run)
                agent.free_at = max(run.deadline, agent.free_at)
                return
            await self.clock.sleep_until(answer_at)
            await self.event(run, "answer", answer_at, agent=agent.extension)
            end = answer_at + run.planned.handling
            await self.clock.sleep_until(end)
            await self.event(run, "hangup", end, cause="normalClearing")
            agent.free_at = end + (self.queue.wrap_up_seconds if self.queue else 0)
        finally:
            agent.busy = False
            self.changed.set()
        if agent.token and self.queue and self.queue.wrap_up_seconds:
            asyncio.get_running_loop().create_task(self.end_wrap_up(agent, agent.free_at))

    async def end_wrap_up(self, agent: SimAgent, at: float) -> None:
        """The agent says ready when its simulated wrap-up is over (kefu's own timer follows the
        server's clock, which a faster simulation outruns)."""
        await self.clock.sleep_until(at)
        if agent.busy or agent.free_at != at:
            return
        await self.request("POST", API + "/agent/ready", headers={"Authorization": f"Bearer {agent.token}"})

    async def person_answers(self, run: CallRun, agent_id: int, rang: float) -> bool:
        """Someone at the desk: wait for the answer (reported by the desk's PBX); ring out after
        RING_TIMEOUT, or the caller gives up. True when answered."""
        give_up_at = min(rang + RING_TIMEOUT, run.deadline)
        while True:
            call = await self.refresh(run)
            if call.get("answered_at"):
                return True
            if run.ended:
                return False
            now = self.clock.now()
            if now >= give_up_at:
                if give_up_at >= run.deadline:
                    await self.event(run, "hangup", max(run.deadline, now), cause="cancel")
                else:
                    await self.event(run, "no_answer", now, agent=self.extensions[agent_id])
                return False
            await asyncio.sleep(min(self.poll, self.clock.real(give_up_at - now) + 0.001))

    async def talk(self, run: CallRun) -> None:
        """The caller hangs up after the handling time, unless the agent hung up first."""
        answered = self.clock.of(run.last.get("answered_at"))
        end = (self.clock.now() if answered is None else answered) + run.planned.handling
        while not run.ended and self.clock.now() < end:
            await asyncio.sleep(min(self.poll * 4, self.clock.real(end - self.clock.now()) + 0.001))
            await self.refresh(run)
        if not run.ended:
            await self.event(run, "hangup", max(end, self.clock.now()), cause="normalClearing")

    # --- the run ----------------------------------------------------------------------------------

    def plan(self) -> list[traffic.PlannedCall]:
        return plan_for(self.options, self.known_numbers)

    async def run(self) -> traffic.Summary:
        self.queue = await self.load_queue()
        if self.options.auto_answer:
            await self.choose_agents()
        agents_seen = await self.monitor_agents()
        planned = self.plan()
        self.echo(
            f"{self.run_id}: {len(planned)} calls into {self.queue.code} ({self.queue.routing}-routed) "
            f"over {self.options.duration:g} s at speed {self.options.speed:g}"
            + (f", answered by {', '.join(a.name for a in self.auto.values())}" if self.auto else "")
        )
        self.clock = Clock(self.options.speed, self.start_after(agents_seen))
        self.calls = [CallRun(p, f"{self.run_id}-{p.index:05d}") for p in planned]
        dispatcher = asyncio.create_task(self.dispatcher()) if self.queue.routing != "kefu" else None
        tasks = [asyncio.create_task(self.play(run)) for run in self.calls]
        try:
            results = await asyncio.gather(*tasks, return_exceptions=True)
            failures = [r for r in results if isinstance(r, BaseException)]
            if failures:
                raise failures[0]
        finally:
            for task in tasks:
                task.cancel()
            if dispatcher is not None:
                dispatcher.cancel()
            await self.hang_up_leftovers()
            self.revoke_tokens()
        return traffic.summarize(
            (r.last for r in self.calls if r.last), threshold_seconds=self.queue.service_level_seconds
        )

    @staticmethod
    def start_after(agents: list[dict[str, Any]]) -> datetime:
        """The simulated clock starts now, or after the latest agent state change if that is later
        (a faster run before this one left its timestamps ahead of the real clock): events older
        than an agent's state would not move the agent."""
        start = datetime.now(UTC)
        for a in agents:
            since = datetime.fromisoformat(a["since"])
            since = since if since.tzinfo else since.replace(tzinfo=UTC)
            start = max(start, since + timedelta(seconds=1))
        return start

    async def hang_up_leftovers(self) -> None:
        """Calls a stopped run left open end now (the caller hangs up), so no call stays in the air."""
        for run in self.calls:
            if run.pk is not None and not run.ended:
                with contextlib.suppress(httpx.HTTPError, SimulationError):
                    await self.event(run, "hangup", self.clock.now(), cause="cancel")


def plan_for(options: Options, numbers: list[str]) -> list[traffic.PlannedCall]:
    return traffic.plan(
        rate_per_hour=options.rate,
        duration_seconds=options.duration,
        handling=options.handling(),
        patience=options.patience_distribution(),
        seed=options.seed,
        known_numbers=numbers,
    )


# --- output -----------------------------------------------------------------------------------------


def describe_plan(calls: list[traffic.PlannedCall], options: Options) -> list[str]:
    lines = [
        f"{len(calls)} calls into {options.queue} over {options.duration:g} simulated seconds "
        f"(seed {options.seed})"
    ]
    for c in calls:
        patience = "∞" if c.patience is None else f"{c.patience:.0f}s"
        lines.append(
            f"  t={c.arrival:8.1f}s  new_call from {c.from_number} to {SERVICE_NUMBER} ivr={dict(c.ivr)}"
            f"  queued at {c.queued:.1f}s  patience {patience}  handling {c.handling:.0f}s"
        )
    return lines


def _fmt(value: float | None, unit: str = "s") -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "∞"
    return f"{value:.1f}{unit}" if unit == "s" else f"{value * 100:.1f}%"


def describe_summary(summary: traffic.Summary, prediction: traffic.ErlangPrediction | None) -> list[str]:
    lines = [
        f"offered     {summary.offered}",
        f"answered    {summary.answered}",
        f"abandoned   {summary.abandoned}",
    ]
    if summary.other:
        lines.append(f"other       {summary.other} (missed, timed out or not ended)")
    lines += [
        f"service level ({summary.threshold_seconds}s)  {_fmt(summary.service_level, '%')}",
        f"average wait  {_fmt(summary.average_wait)} (answered: {_fmt(summary.average_answer_wait)})",
        f"average talk  {_fmt(summary.average_talk)}",
    ]
    if prediction is not None:
        needed = f", {prediction.agents_needed} agents meet the target" if prediction.agents_needed else ""
        lines.append(
            f"Erlang C with {prediction.agents} agents, {prediction.traffic:.2f} Erlangs: "
            f"P(wait) {_fmt(prediction.probability_of_wait, '%')}, service level "
            f"{_fmt(prediction.service_level, '%')}, ASA {_fmt(prediction.asa)}{needed} "
            "(infinite patience)"
        )
    return lines


def known_numbers(session_factory: Callable[[], Session], limit: int = 200) -> list[str]:
    """Phone numbers of customers kefu knows (so that some calls pop a customer)."""
    from sqlalchemy import select

    from kefu.customers.models import CustomerPhone

    session = session_factory()
    try:
        return list(session.scalars(select(CustomerPhone.number).order_by(CustomerPhone.id).limit(limit)))
    finally:
        session.close()


def simulator_token(session_factory: Callable[[], Session]) -> str:
    """A new API token of the `cti-simulator` integration user (created with its role on first use)."""
    from sqlalchemy import select

    from kefu.callcenter.permissions import CALLS_VIEW, CONFIG_VIEW, MONITOR, REPORT
    from kefu.core import security
    from kefu.core.permissions import build_actor, function_of
    from kefu.org import auth_service
    from kefu.org.models import DataScope, Role, User, UserGroup

    permissions = [REPORT, MONITOR, CALLS_VIEW, CONFIG_VIEW]
    session = session_factory()
    try:
        user = session.scalar(select(User).where(User.username == SIMULATOR_USERNAME))
        if user is None:
            group = session.scalar(select(UserGroup).where(UserGroup.code == "cti-simulator"))
            if group is None:
                group = UserGroup(
                    code="cti-simulator",
                    name="CTI simulator",
                    functions=sorted({function_of(p) for p in permissions}),
                )
                session.add(group)
                session.flush()
            role = Role(
                group_id=group.id,
                code="cti-simulator",
                name="CTI simulator",
                permissions=permissions,
                data_scope=DataScope.ALL,
            )
            user = User(
                username=SIMULATOR_USERNAME,
                name="CTI simulator",
                password_hash=security.hash_password(secrets.token_urlsafe(24)),
                must_change_password=False,
                roles=[role],
            )
            session.add(user)
            session.flush()
        plain, _row = auth_service.create_token(
            session, user=user, name=TOKEN_NAME, expires_at=None, actor=build_actor(session, user)
        )
        session.commit()
        return plain
    finally:
        session.close()


async def simulate(
    options: Options,
    *,
    client: httpx.AsyncClient | None = None,
    session_factory: Callable[[], Session] | None = None,
    echo: Callable[[str], None] = print,
) -> traffic.Summary | None:
    """Run `kefu simulate` (a dry run prints the plan and returns None). `client` defaults to one
    for `options.url` with `options.token`; `session_factory` is the database (for
    `--create-token`: known customers' numbers, agents to log in)."""
    options.validate()
    numbers = known_numbers(session_factory) if session_factory is not None else []
    if options.dry_run:
        for line in describe_plan(plan_for(options, numbers), options):
            echo(line)
        return None
    own = client is None
    if client is None:
        if not options.token:
            raise SimulationError("give --token (an API token with callcenter.cti.report) or --create-token")
        client = httpx.AsyncClient(
            base_url=options.url, headers={"Authorization": f"Bearer {options.token}"}, timeout=30
        )
    try:
        sim = Simulator(client, options, echo=echo, session_factory=session_factory, known_numbers=numbers)
        summary = await sim.run()
        assert sim.queue is not None
        agents = len(sim.auto) or len([a for a in await _safe_agents(sim) if sim.queue.id in a["queue_ids"]])
    finally:
        if own:
            await client.aclose()
    prediction = None
    if agents:
        prediction = traffic.erlang_prediction(
            rate_per_hour=options.rate,
            aht_seconds=options.aht + sim.queue.wrap_up_seconds,
            agents=agents,
            threshold_seconds=sim.queue.service_level_seconds,
            target=sim.queue.service_level_target,
        )
    for line in describe_summary(summary, prediction):
        echo(line)
    return summary


async def _safe_agents(sim: Simulator) -> list[dict[str, Any]]:
    try:
        return await sim.monitor_agents()
    except (httpx.HTTPError, SimulationError):
        return []
