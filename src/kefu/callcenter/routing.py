"""Routing by kefu's ACD (排队路由, CC-2) for the queues whose `routing` is "kefu", on the database.

The tables are the truth: a waiting call is a `Call` in state queued (or one whose ringing agent let
it ring out) in a kefu-routed queue, and an agent is free when its `cc_agent` row is ready. Every
decision rebuilds what `acd.Router` needs from those rows — a `QueueSpec` of the queue, an `acd.Agent`
per ready candidate — and lets the pure router choose, so both pick alike; the router itself stays
the in-memory engine of the simulator and the benchmark.

When a decision is taken
* A call enters a kefu-routed queue (`on_event`, called by `cti.ingest`): a ready agent of the queue
  is offered the call at once, else the call waits.
* An agent becomes ready (`agent_ready`, called by `agents.enter`): it takes the best waiting call
  of the kefu-routed queues it serves — highest tier priority first, then the longest in its queue.
* The PBX asks (`route`, `POST /api/v1/callcenter/route`): it gets the agent to ring, or the
  caller's place in the queue.
* `tick` applies the deadlines: after `overflow_after_seconds` in a queue a call moves to the
  overflow queue (a `queued` event of source "acd", stamped with the instant it fell due); after
  `max_wait_seconds` since it was queued (kept across overflows) the PBX is told (the adapter's
  `queue_timeout`) and the call ends as the PBX reports its hangup. A call left waiting has a job
  scheduled at its next deadline (`callcenter.queue_deadline_due`); a sweep every minute and every
  `route` request apply whatever is due as well.

An offer marks the agent ringing for the call at once (the same `ringing` fact a PBX reports, of
source "acd"): that is the reservation that keeps two decisions from giving one agent two calls.
The call row and the agent row are locked first (`FOR UPDATE SKIP LOCKED` on PostgreSQL: a
candidate another transaction is assigning is passed over, never waited for; SQLite serialises
writers). Then the CTI adapter's `offer` asks the PBX to ring the agent; with no adapter the PBX
learns it on its next `route` request.
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kefu.callcenter import acd, control, cti
from kefu.callcenter.models import (
    Agent,
    AgentSkill,
    AgentState,
    Call,
    CallEvent,
    CallQueue,
    CallState,
    Direction,
    QueueSkill,
    QueueStrategy,
    Skill,
)
from kefu.core import clock, jobs
from kefu.core.errors import Conflict, FieldError
from kefu.core.i18n import lazy
from kefu.customers.models import Customer

KEFU = "kefu"
PBX = "pbx"
SOURCE = "acd"  # events kefu's ACD records itself (offers, overflows)
ROUTE_SOURCE = "route"  # events of the PBX's routing requests: the answer is the PBX's command
TIMEOUT_KIND = "queue_timeout"  # the call-event kind that records a max-wait time-out, once
TIMEOUT_CAUSE = "queue_timeout"  # the hang-up cause the simulated PBX reports after it
DEFAULT_HANDLE_SECONDS = 180  # estimated wait without a history of answered calls

NO_SUCH_QUEUE = lazy("No such queue")
PBX_ROUTED = lazy("Queue %(queue)s is routed by the PBX, not by kefu")
CALL_OVER = lazy("The call is no longer waiting")


# --- reading the state -------------------------------------------------------------------------------


def kefu_queues(session: Session) -> dict[int, CallQueue]:
    return {q.id: q for q in session.scalars(select(CallQueue).where(CallQueue.routing == KEFU))}


def required_skills(session: Session, queue_ids: Iterable[int]) -> dict[int, dict[int, int]]:
    """queue id -> {skill id: minimum level}, enabled skills only (a disabled skill requires nothing)."""
    found: dict[int, dict[int, int]] = {}
    ids = list(queue_ids)
    if not ids:
        return found
    rows = session.execute(
        select(QueueSkill.queue_id, QueueSkill.skill_id, QueueSkill.min_level)
        .join(Skill, Skill.id == QueueSkill.skill_id)
        .where(QueueSkill.queue_id.in_(ids), Skill.enabled.is_(True))
    )
    for queue_id, skill_id, level in rows:
        found.setdefault(queue_id, {})[skill_id] = level
    return found


def agent_levels(session: Session, user_ids: Iterable[int]) -> dict[int, dict[int, int]]:
    """user id -> {skill id: level}, enabled skills only."""
    found: dict[int, dict[int, int]] = {}
    ids = list(user_ids)
    if not ids:
        return found
    rows = session.execute(
        select(AgentSkill.user_id, AgentSkill.skill_id, AgentSkill.level)
        .join(Skill, Skill.id == AgentSkill.skill_id)
        .where(AgentSkill.user_id.in_(ids), Skill.enabled.is_(True))
    )
    for user_id, skill_id, level in rows:
        found.setdefault(user_id, {})[skill_id] = level
    return found


def serves(queue: CallQueue, agent: Agent, required: dict[int, int], levels: dict[int, int]) -> bool:
    """Whether the agent serves the queue: logged in to it, or skilled in all it requires (acd's rule)."""
    if queue.id in (agent.queue_ids or []):
        return True
    return bool(required) and all(levels.get(s, 0) >= m for s, m in required.items())


def _seconds(at: datetime | None) -> float:
    return at.timestamp() if at is not None else 0.0


def _spec(queue: CallQueue, required: dict[int, int]) -> acd.QueueSpec:
    """The queue as acd sees it (skills by id); deadlines are `tick`'s, not the router's."""
    return acd.QueueSpec(
        name=queue.code,
        strategy=acd.Strategy(queue.strategy),
        skills={str(s): level for s, level in required.items()},
        tier_priority=dict(queue.tier_priority or {}),
    )


def _calls_today(session: Session, user_ids: Sequence[int], now: datetime) -> dict[int, int]:
    """Calls each agent answered since local midnight (fewest-calls routing)."""
    midnight = datetime.combine(now.astimezone(clock.local_tz()).date(), time(), clock.local_tz())
    rows = session.execute(
        select(Call.agent_id, func.count())
        .where(Call.agent_id.in_(user_ids), Call.started_at >= midnight)
        .group_by(Call.agent_id)
    )
    return {user_id: n for user_id, n in rows}


def _last_served(session: Session, queue: CallQueue) -> int | None:
    """The agent the queue's latest offered call rang at (round robin's cursor)."""
    offered = session.scalar(
        select(Call.offered_to)
        .where(Call.queue_id == queue.id, Call.ringing_at.is_not(None))
        .order_by(Call.started_at.desc(), Call.id.desc())
        .limit(1)
    )
    return offered[-1] if offered else None


def ranked_agents(session: Session, queue: CallQueue, *, now: datetime | None = None) -> list[int]:
    """The ready agents serving `queue`, best first by its strategy (what `acd.Router` would pick
    first, then second, …)."""
    now = now or clock.now()
    required = required_skills(session, [queue.id]).get(queue.id, {})
    ready = list(
        session.scalars(select(Agent).where(Agent.state == AgentState.READY.value, Agent.call_id.is_(None)))
    )
    levels = agent_levels(session, [a.user_id for a in ready]) if required else {}
    candidates = [a for a in ready if serves(queue, a, required, levels.get(a.user_id, {}))]
    if not candidates:
        return []
    if queue.strategy == QueueStrategy.ROUND_ROBIN:
        # As the router's round robin: the next agent id after the one served last, wrapping.
        ids = sorted(a.user_id for a in candidates)
        cursor = _last_served(session, queue)
        start = bisect_right(ids, cursor) if cursor is not None else 0
        return ids[start:] + ids[:start]
    taken = (
        _calls_today(session, [a.user_id for a in candidates], now)
        if queue.strategy == QueueStrategy.FEWEST_CALLS
        else {}
    )
    spec = _spec(queue, required)
    router = acd.Router([spec])
    t = now.timestamp()
    for a in candidates:
        router.add_agent(
            acd.Agent(
                id=a.user_id,
                skills={str(s): lv for s, lv in levels.get(a.user_id, {}).items()},
                queues=frozenset({spec.name}) if queue.id in (a.queue_ids or []) else frozenset(),
                state=acd.AgentState.READY,
                idle_since=_seconds(a.idle_since or a.since),
                calls_taken=taken.get(a.user_id, 0),
            ),
            t,
        )
    ranked = []
    for n in range(len(candidates)):
        assignment = router.offer(f"rank-{n}", spec.name, t)
        if assignment is None:
            break
        ranked.append(assignment.agent_id)
    return ranked


@dataclass(frozen=True)
class Waiting:
    """A waiting call with what orders it: its priority, when it entered its current queue."""

    call: Call
    tier: str | None
    priority: int
    entered_at: datetime

    @property
    def order(self) -> tuple[int, datetime, int]:
        return (-self.priority, self.entered_at, self.call.id)


def tier_of(call: Call, customer_tier: str | None) -> str | None:
    """The tier the PBX gave on its routing request, else the customer's."""
    given = (call.ivr or {}).get("tier")
    return given if isinstance(given, str) and given else customer_tier


def waiting_calls(
    session: Session, queues: dict[int, CallQueue], *, include_timed_out: bool = False
) -> list[Waiting]:
    """The calls waiting in `queues`, in the order they are served (priority, then time in queue).

    Waiting: queued, or rung but no longer ringing anywhere (the agent let it ring out) and not
    answered; a call whose maximum wait passed is left out unless `include_timed_out`."""
    if not queues:
        return []
    rows = session.execute(
        select(Call, Customer.tier)
        .outerjoin(Customer, Customer.id == Call.customer_id)
        .where(
            Call.queue_id.in_(list(queues)),
            Call.state.in_([CallState.QUEUED.value, CallState.RINGING.value]),
            Call.answered_at.is_(None),
            Call.ended_at.is_(None),
        )
    ).all()
    if not rows:
        return []
    ids = [call.id for call, _tier in rows]
    ringing = set(
        session.scalars(
            select(Agent.call_id).where(Agent.call_id.in_(ids), Agent.state == AgentState.RINGING.value)
        )
    )
    entered: dict[int, datetime] = {}
    timed_out: set[int] = set()
    for call_pk, kind, at in session.execute(
        select(CallEvent.call_pk, CallEvent.kind, func.max(CallEvent.occurred_at))
        .where(CallEvent.call_pk.in_(ids), CallEvent.kind.in_([cti.Kind.QUEUED.value, TIMEOUT_KIND]))
        .group_by(CallEvent.call_pk, CallEvent.kind)
    ):
        if kind == TIMEOUT_KIND:
            timed_out.add(call_pk)
        else:
            entered[call_pk] = at
    found = []
    for call, customer_tier in rows:
        if call.id in ringing or call.queued_at is None or (call.id in timed_out and not include_timed_out):
            continue
        queue = queues[call.queue_id]  # type: ignore[index]
        tier = tier_of(call, customer_tier)
        priority = int((queue.tier_priority or {}).get(tier, 0)) if tier else 0
        since = max(call.queued_at, entered.get(call.id, call.queued_at))
        found.append(Waiting(call, tier, priority, since))
    found.sort(key=lambda w: w.order)
    return found


# --- offering -----------------------------------------------------------------------------------------


def _dedupe(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


def _lock_call(session: Session, call_pk: int) -> Call | None:
    return session.scalar(
        select(Call)
        .where(Call.id == call_pk, Call.answered_at.is_(None), Call.ended_at.is_(None))
        .with_for_update(skip_locked=True)
    )


def _lock_ready(session: Session, user_id: int) -> Agent | None:
    """The agent, locked, if it is still ready (freshly read: another decision may have taken it)."""
    return session.scalar(
        select(Agent)
        .where(Agent.user_id == user_id, Agent.state == AgentState.READY.value, Agent.call_id.is_(None))
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )


def _offer(session: Session, call: Call, agent: Agent, *, command: bool) -> None:
    """Ring `agent` with `call`: the ringing is recorded now (the reservation), then the adapter asks
    the PBX (unless the PBX asked us: `command` false, or no adapter: it asks again)."""
    at = max(clock.now(), agent.since, call.last_event_at)
    n = len(call.offered_to or [])
    cti.ingest(
        session,
        cti.CtiEvent(
            kind=cti.Kind.RINGING,
            call_id=call.call_id,
            occurred_at=at,
            agent_id=agent.user_id,
            event_id=f"acd-offer-{call.id}-{n}-{agent.user_id}",
            payload={"event": "ringing", "agent": agent.user_id, "by": "acd"},
        ),
        source=SOURCE,
    )
    adapter = control.adapter()
    if command and not isinstance(adapter, control.NoAdapter):
        adapter.offer(session, call=call, agent=agent)


def offer_call(session: Session, call: Call, *, command: bool = True) -> Agent | None:
    """Offer a waiting call of a kefu-routed queue to the agent its strategy picks; None: it waits."""
    queue = session.get(CallQueue, call.queue_id) if call.queue_id else None
    if queue is None or queue.routing != KEFU or call.answered_at is not None or call.ended_at is not None:
        return None
    for user_id in ranked_agents(session, queue):
        agent = _lock_ready(session, user_id)
        if agent is not None:
            if _lock_call(session, call.id) is None:
                return None
            _offer(session, call, agent, command=command)
            return agent
    return None


def on_event(session: Session, call: Call, event: cti.CtiEvent, *, source: str) -> None:
    """After a CTI event: a call that entered a kefu-routed queue, or rang out there, is offered."""
    if event.kind not in (cti.Kind.QUEUED, cti.Kind.NEW_CALL, cti.Kind.NO_ANSWER):
        return
    if call.queue_id is None or call.answered_at is not None or call.ended_at is not None:
        return
    if call.state != CallState.QUEUED and event.kind != cti.Kind.NO_ANSWER:
        return
    queue = session.get(CallQueue, call.queue_id)
    if queue is None or queue.routing != KEFU:
        return
    waiting = next((w for w in waiting_calls(session, {queue.id: queue}) if w.call.id == call.id), None)
    if waiting is None:
        return
    if offer_call(session, call, command=source != ROUTE_SOURCE) is None:
        _schedule_deadline(session, waiting, queue)


def _schedule_deadline(session: Session, waiting: Waiting, queue: CallQueue) -> None:
    """Have the call's next overflow or time-out applied when it falls due."""
    deadline = _due(waiting, queue, kefu_queues(session))
    if deadline is not None:
        from kefu.callcenter.jobs import queue_deadline_due

        jobs.schedule_on_commit(session, queue_deadline_due, at=deadline.at)


def agent_ready(session: Session, agent: Agent) -> Call | None:
    """The agent became ready: give it the best waiting call of the kefu-routed queues it serves."""
    if agent.state != AgentState.READY or agent.call_id is not None:
        return None
    queues = kefu_queues(session)
    if not queues:
        return None
    required = required_skills(session, queues)
    levels = agent_levels(session, [agent.user_id]).get(agent.user_id, {}) if required else {}
    mine = {qid: q for qid, q in queues.items() if serves(q, agent, required.get(qid, {}), levels)}
    for waiting in waiting_calls(session, mine):
        call = _lock_call(session, waiting.call.id)
        if call is None:
            continue  # another decision is offering it
        _offer(session, call, agent, command=True)
        return call
    return None


# --- the PBX asks -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """The agent to ring, or (`wait`) the caller's place; `timed_out`: the maximum wait passed."""

    call: Call
    queue: CallQueue
    agent_id: int | None = None
    extension: str = ""
    position: int = 0
    estimated_wait_seconds: int = 0
    timed_out: bool = False

    @property
    def wait(self) -> bool:
        return self.agent_id is None


def _estimated_wait(session: Session, queue: CallQueue, position: int, now: datetime) -> int:
    """A rough estimate: callers ahead (and this one) × the queue's average handling time of the
    last day, shared by the agents logged in who serve it."""
    since = now - timedelta(days=1)
    average = session.scalar(
        select(func.avg(Call.talk_seconds)).where(
            Call.queue_id == queue.id, Call.started_at >= since, Call.talk_seconds.is_not(None)
        )
    )
    handle = float(average or DEFAULT_HANDLE_SECONDS) + queue.wrap_up_seconds
    staffed = 0
    required = required_skills(session, [queue.id]).get(queue.id, {})
    logged_in = list(session.scalars(select(Agent).where(Agent.state != AgentState.OFFLINE.value)))
    levels = agent_levels(session, [a.user_id for a in logged_in]) if required else {}
    staffed = sum(1 for a in logged_in if serves(queue, a, required, levels.get(a.user_id, {})))
    return math.ceil(position * handle / max(staffed, 1))


def route(
    session: Session,
    *,
    call_id: str,
    queue_code: str,
    from_number: str = "",
    tier: str | None = None,
) -> Decision:
    """The PBX delegates the choice for `call_id` waiting in `queue_code`: the agent to ring (now
    ringing in kefu's view), or the caller's place. Idempotent: asking again for a call already
    offered answers the same agent. A call kefu moved on (overflow) is answered for the queue it is
    in now; one whose maximum wait passed answers `timed_out`."""
    queue = session.scalar(select(CallQueue).where(CallQueue.code == queue_code.strip()))
    if queue is None:
        raise FieldError("queue", NO_SUCH_QUEUE)
    tick(session)
    now = clock.now()
    existing = session.scalar(select(Call).where(Call.call_id == call_id))
    if existing is None or existing.queue_id is None or existing.queued_at is None:
        if queue.routing != KEFU:
            raise Conflict(PBX_ROUTED, queue=queue.code)
        cti.ingest(
            session,
            cti.CtiEvent(
                kind=cti.Kind.QUEUED,
                call_id=call_id,
                occurred_at=now,
                direction=Direction.IN if existing is None else None,
                from_number=from_number,
                queue=queue.code,
                ivr={"tier": tier} if tier else {},
                event_id=_dedupe("route", call_id, queue.code),
                payload={"event": "queued", "queue": queue.code, "from": from_number, "tier": tier},
            ),
            source=ROUTE_SOURCE,
        )
    elif tier and (existing.ivr or {}).get("tier") != tier:
        existing.ivr = {**(existing.ivr or {}), "tier": tier}
    call = cti.call_by_id(session, call_id)
    current = session.get(CallQueue, call.queue_id) if call.queue_id else None
    if current is None or current.routing != KEFU:
        raise Conflict(PBX_ROUTED, queue=current.code if current else queue.code)
    if call.ended_at is not None or call.answered_at is not None:
        raise Conflict(CALL_OVER)
    holder = session.scalar(
        select(Agent).where(Agent.call_id == call.id, Agent.state == AgentState.RINGING.value).limit(1)
    )
    queues = {current.id: current}
    waiting = waiting_calls(session, queues, include_timed_out=True)
    timed_out = _timed_out(session, call)
    if holder is None and not timed_out:
        holder = offer_call(session, call, command=False)
    if holder is not None:
        return Decision(call=call, queue=current, agent_id=holder.user_id, extension=holder.extension)
    order = [w.call.id for w in waiting]
    position = order.index(call.id) + 1 if call.id in order else len(order) + 1
    return Decision(
        call=call,
        queue=current,
        position=position,
        estimated_wait_seconds=0 if timed_out else _estimated_wait(session, current, position, now),
        timed_out=timed_out,
    )


def _timed_out(session: Session, call: Call) -> bool:
    return (
        session.scalar(
            select(CallEvent.id).where(CallEvent.call_pk == call.id, CallEvent.kind == TIMEOUT_KIND).limit(1)
        )
        is not None
    )


# --- deadlines ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    call_id: str
    kind: str  # "overflow" or "timeout"
    at: datetime
    to_queue: str = ""


def _due(waiting: Waiting, queue: CallQueue, targets: dict[int, CallQueue]) -> Deadline | None:
    """The call's next deadline (a time-out before an overflow of the same instant, as acd)."""
    call = waiting.call
    found: list[tuple[datetime, int, Deadline]] = []
    if queue.max_wait_seconds is not None and call.queued_at is not None:
        at = max(call.queued_at + timedelta(seconds=queue.max_wait_seconds), waiting.entered_at)
        found.append((at, 0, Deadline(call.call_id, "timeout", at)))
    target = targets.get(queue.overflow_queue_id) if queue.overflow_queue_id else None
    if queue.overflow_after_seconds is not None and target is not None:
        at = waiting.entered_at + timedelta(seconds=queue.overflow_after_seconds)
        found.append((at, 1, Deadline(call.call_id, "overflow", at, target.code)))
    return min(found, key=lambda f: (f[0], f[1]))[2] if found else None


def tick(session: Session, now: datetime | None = None) -> list[Deadline]:
    """Apply every overflow and time-out of kefu-routed queues due at or before `now`; idempotent
    (a second run, or two at once, applies each deadline once)."""
    now = now or clock.now()
    queues = kefu_queues(session)
    timed = {qid: q for qid, q in queues.items() if q.max_wait_seconds is not None or q.overflow_queue_id}
    applied: list[Deadline] = []
    for _round in range(8):  # an overflow may make the next deadline (of the next queue) due too
        progressed = False
        for waiting in waiting_calls(session, timed):
            queue = queues[waiting.call.queue_id]  # type: ignore[index]
            deadline = _due(waiting, queue, queues)
            if deadline is None or deadline.at > now:
                continue
            if _apply(session, waiting, queue, deadline):
                applied.append(deadline)
                progressed = True
        if not progressed:
            break
    return applied


def _apply(session: Session, waiting: Waiting, queue: CallQueue, deadline: Deadline) -> bool:
    call = waiting.call
    if deadline.kind == "timeout":
        row = CallEvent(
            call_pk=call.id,
            kind=TIMEOUT_KIND,
            dedupe_key=_dedupe(SOURCE, TIMEOUT_KIND, call.id),
            occurred_at=deadline.at,
            received_at=clock.now(),
            payload={"queue": queue.code, "max_wait_seconds": queue.max_wait_seconds},
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # applied by another run
            return False
        adapter = control.adapter()
        if not isinstance(adapter, control.NoAdapter):  # else the PBX learns it on its next request
            adapter.queue_timeout(session, call=call, queue=queue)
        return True
    done = cti.ingest(
        session,
        cti.CtiEvent(
            kind=cti.Kind.QUEUED,
            call_id=call.call_id,
            occurred_at=deadline.at,
            queue=deadline.to_queue,
            event_id=_dedupe("overflow", call.id, queue.code, waiting.entered_at.isoformat()),
            payload={"event": "queued", "queue": deadline.to_queue, "overflow_from": queue.code},
        ),
        source=SOURCE,
    )
    return not done.duplicate


def overflow_error(queues: Sequence[tuple[str, str | None]]) -> acd.InvalidQueueConfig | None:
    """acd's check of an overflow graph given as (code, overflow target code): the error, or None."""
    try:
        acd.Router(
            [
                acd.QueueSpec(name=code, overflow_after=0 if target else None, overflow_to=target or None)
                for code, target in queues
            ]
        )
    except acd.InvalidQueueConfig as exc:
        return exc
    return None


def snapshot(session: Session, queue: CallQueue) -> dict[str, Any]:
    """The queue's waiting calls in order and its ready agents in the order they would be offered."""
    return {
        "waiting": waiting_calls(session, {queue.id: queue}, include_timed_out=True),
        "ranked_agents": ranked_agents(session, queue) if queue.routing == KEFU else [],
    }
