"""Live monitoring (座席监控, CC-6) and the wallboard (大屏, CC-7): what the queues and the agents
are doing now, and today's calls.

Who sees what (`callcenter.monitor.view`, scoped): a supervisor with department scope sees the
queues of their department (subtree: and below) with all their calls, and the agents of their
department; scope "all" sees every queue, agent and call, including calls of no queue (outbound,
direct). Counting agents per queue uses every agent logged in to a visible queue.

A call *waits* from the moment it is queued (or announced) until it is answered or ends; a call
unanswered and unfinished for longer than `LOST_AFTER` is taken for one whose hangup the PBX never
reported and no longer counts as waiting. "Today" is the local business day (`kefu.core.clock`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, false, func, select
from sqlalchemy.orm import Session

from kefu.callcenter import agents, stats
from kefu.callcenter.models import Agent, AgentState, AgentStateSpan, Call, CallQueue, CallState, Direction
from kefu.callcenter.permissions import MONITOR
from kefu.core import clock, i18n
from kefu.core.errors import FieldError
from kefu.core.permissions import Actor, restrict
from kefu.org.config import dictionary
from kefu.org.models import DataScope, Department, User

LOST_AFTER = timedelta(hours=12)
SLOT_MINUTES = 30
WAITING_STATES = (CallState.QUEUED.value, CallState.RINGING.value)
LIVE_STATES = tuple(s.value for s in AgentState if s is not AgentState.OFFLINE)


@dataclass
class QueueLive:
    id: int
    code: str
    name: str
    department_id: int | None
    service_level_seconds: int
    service_level_target: float
    waiting: int = 0
    oldest_waiting_since: datetime | None = None
    longest_wait_seconds: int = 0
    agents: dict[str, int] = field(default_factory=dict)  # logged-in agents by state
    today: stats.Figures = field(default_factory=stats.Figures)


@dataclass
class CallLive:
    id: int
    direction: str
    number: str
    state: str
    queue_name: str
    since: datetime  # answered, else started


@dataclass
class AgentLive:
    user_id: int
    name: str
    agent_no: str
    extension: str
    department_id: int | None
    department_name: str
    state: str
    since: datetime
    reason: str
    reason_label: str
    queue_ids: list[int]
    queue_names: list[str]
    call: CallLive | None
    calls_today: int


@dataclass
class Snapshot:
    at: datetime
    queue_id: int | None
    department_id: int | None
    queues: list[QueueLive]
    agents: list[AgentLive]
    departments: list[tuple[int, str]]  # for the filter: the departments of what the actor sees
    all_queues: list[tuple[int, str]]  # likewise, unfiltered

    @property
    def agent_states(self) -> dict[str, int]:
        counts = Counter(a.state for a in self.agents)
        return {state: counts.get(state, 0) for state in LIVE_STATES}

    @property
    def waiting(self) -> int:
        return sum(q.waiting for q in self.queues)

    @property
    def longest_wait_seconds(self) -> int:
        return max((q.longest_wait_seconds for q in self.queues), default=0)

    @property
    def oldest_waiting_since(self) -> datetime | None:
        return min((q.oldest_waiting_since for q in self.queues if q.oldest_waiting_since), default=None)


@dataclass
class Slot:
    label: str  # local "HH:MM"
    start: datetime
    figures: stats.Figures


@dataclass
class Board:
    at: datetime
    queue_id: int | None
    agent_states: dict[str, int]
    waiting: int
    longest_wait_seconds: int
    oldest_waiting_since: datetime | None
    today: stats.Figures
    slots: list[Slot]
    service_level_target: float | None


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Today (local) as a UTC range."""
    today = clock.to_local(now).date()
    return stats.local_midnight(today), stats.local_midnight(today + timedelta(days=1))


def visible_queues(session: Session, actor: Actor) -> list[CallQueue]:
    stmt = select(CallQueue).where(CallQueue.enabled.is_(True)).order_by(CallQueue.name, CallQueue.id)
    return list(session.scalars(restrict(stmt, actor, MONITOR, department=CallQueue.department_id)))


def _check_queue(queues: list[CallQueue], queue_id: int | None) -> None:
    if queue_id is not None and queue_id not in {q.id for q in queues}:
        raise FieldError("queue_id", stats.NO_SUCH_QUEUE)


def _calls_in_scope(actor: Actor, queue_ids: list[int], queue_id: int | None) -> list[ColumnElement[bool]]:
    """Conditions on Call: the given queue, else every call (scope all) or the visible queues' calls."""
    if queue_id is not None:
        return [Call.queue_id == queue_id]
    if actor.scope(MONITOR) is DataScope.ALL:
        return []
    return [Call.queue_id.in_(queue_ids)] if queue_ids else [false()]


def _waiting(
    session: Session, now: datetime, where: list[ColumnElement[bool]]
) -> dict[Any, tuple[int, datetime]]:
    """Calls waiting now per queue: (how many, since when the longest has waited)."""
    waiting_since = func.min(func.coalesce(Call.queued_at, Call.started_at))
    rows = session.execute(
        select(Call.queue_id, func.count(), waiting_since)
        .where(
            Call.state.in_(WAITING_STATES),
            Call.answered_at.is_(None),
            Call.ended_at.is_(None),
            Call.started_at >= now - LOST_AFTER,
            *where,
        )
        .group_by(Call.queue_id)
    ).all()
    return {queue: (count, since) for queue, count, since in rows}  # MIN keeps the UTC column type


def _live_agents(session: Session, actor: Actor) -> list[tuple[Agent, User]]:
    """Logged-in agents the actor may see (the agent's department), refreshed after wrap-ups."""
    agents.finish_wrap_ups(session)
    stmt = (
        select(Agent, User)
        .join(User, User.id == Agent.user_id)
        .where(Agent.state.in_(LIVE_STATES))
        .order_by(User.name, User.id)
    )
    stmt = restrict(stmt, actor, MONITOR, owner=User.id, department=User.department_id)
    return [(a, u) for a, u in session.execute(stmt).all()]


def _agent_counts_by_queue(session: Session, queue_ids: list[int]) -> dict[int, Counter[str]]:
    """Logged-in agents per queue and state (every agent logged in to the queue, whoever sees them)."""
    counts: dict[int, Counter[str]] = {q: Counter() for q in queue_ids}
    rows = session.execute(select(Agent.state, Agent.queue_ids).where(Agent.state.in_(LIVE_STATES))).all()
    for state, logged_in_to in rows:
        for q in logged_in_to or []:
            if q in counts:
                counts[q][state] += 1
    return counts


def snapshot(
    session: Session,
    actor: Actor,
    *,
    queue_id: int | None = None,
    department_id: int | None = None,
    now: datetime | None = None,
) -> Snapshot:
    """Queues and agents now, within the actor's monitoring scope, optionally one queue or department."""
    now = now or clock.now()
    all_queues = visible_queues(session, actor)
    _check_queue(all_queues, queue_id)
    queues = [
        q
        for q in all_queues
        if (queue_id is None or q.id == queue_id)
        and (department_id is None or q.department_id == department_id)
    ]
    ids = [q.id for q in queues]
    in_queues: list[ColumnElement[bool]] = [Call.queue_id.in_(ids) if ids else false()]
    waiting = _waiting(session, now, in_queues)
    start, end = day_bounds(now)
    today = stats.aggregate(session, start=start, end=end, key=Call.queue_id, where=in_queues, threshold=None)
    per_queue = _agent_counts_by_queue(session, ids)
    live_queues = []
    for q in queues:
        count, since = waiting.get(q.id, (0, None))
        live_queues.append(
            QueueLive(
                id=q.id,
                code=q.code,
                name=q.name,
                department_id=q.department_id,
                service_level_seconds=q.service_level_seconds,
                service_level_target=q.service_level_target,
                waiting=count,
                oldest_waiting_since=since,
                longest_wait_seconds=_seconds_since(since, now),
                agents={s: per_queue[q.id].get(s, 0) for s in LIVE_STATES},
                today=today.get(q.id, stats.Figures()),
            )
        )
    visible = _live_agents(session, actor)
    live = [
        (a, u)
        for a, u in visible
        if (queue_id is None or queue_id in (a.queue_ids or []))
        and (department_id is None or u.department_id == department_id)
    ]
    return Snapshot(
        at=now,
        queue_id=queue_id,
        department_id=department_id,
        queues=live_queues,
        agents=_agent_rows(session, live, {q.id: q.name for q in all_queues}, now),
        departments=_departments(session, all_queues, [u for _, u in visible]),
        all_queues=[(q.id, q.name) for q in all_queues],
    )


def _seconds_since(since: datetime | None, now: datetime) -> int:
    return max(0, int((now - since).total_seconds())) if since is not None else 0


def _agent_rows(
    session: Session, live: list[tuple[Agent, User]], queue_names: dict[int, str], now: datetime
) -> list[AgentLive]:
    user_ids = [a.user_id for a, _ in live]
    calls_today: dict[int, int] = dict(
        session.execute(
            select(AgentStateSpan.user_id, func.count(AgentStateSpan.call_id.distinct()))
            .where(
                AgentStateSpan.user_id.in_(user_ids),
                AgentStateSpan.state == AgentState.TALKING.value,
                AgentStateSpan.started_at >= day_bounds(now)[0],
            )
            .group_by(AgentStateSpan.user_id)
        )
        .tuples()
        .all()
    )
    call_ids = [a.call_id for a, _ in live if a.call_id is not None]
    calls = {c.id: c for c in session.scalars(select(Call).where(Call.id.in_(call_ids)))} if call_ids else {}
    missing = {c.queue_id for c in calls.values() if c.queue_id and c.queue_id not in queue_names}
    if missing:
        queue_names = {
            **queue_names,
            **dict(
                session.execute(select(CallQueue.id, CallQueue.name).where(CallQueue.id.in_(missing)))
                .tuples()
                .all()
            ),
        }
    dept_names = _department_names(session, {u.department_id for _, u in live if u.department_id})
    locale = i18n.get_locale()
    rows = []
    for agent, user in live:
        call = calls.get(agent.call_id) if agent.call_id else None
        rows.append(
            AgentLive(
                user_id=user.id,
                name=user.name,
                agent_no=user.agent_no or "",
                extension=agent.extension,
                department_id=user.department_id,
                department_name=dept_names.get(user.department_id, "") if user.department_id else "",
                state=agent.state,
                since=agent.since,
                reason=agent.reason,
                reason_label=dictionary.label(session, agents.REASONS, agent.reason, locale)
                if agent.reason
                else "",
                queue_ids=list(agent.queue_ids or []),
                queue_names=[queue_names[q] for q in agent.queue_ids or [] if q in queue_names],
                call=_call_live(call, queue_names) if call is not None else None,
                calls_today=int(calls_today.get(user.id, 0)),
            )
        )
    return rows


def _call_live(call: Call, queue_names: dict[int, str]) -> CallLive:
    return CallLive(
        id=call.id,
        direction=call.direction,
        number=call.from_number if call.direction == Direction.IN else call.to_number,
        state=call.state,
        queue_name=queue_names.get(call.queue_id, "") if call.queue_id else "",
        since=call.answered_at or call.started_at,
    )


def _department_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        session.execute(select(Department.id, Department.name).where(Department.id.in_(ids))).tuples().all()
    )


def _departments(session: Session, queues: list[CallQueue], users: list[User]) -> list[tuple[int, str]]:
    ids = {q.department_id for q in queues if q.department_id} | {
        u.department_id for u in users if u.department_id
    }
    names = _department_names(session, {i for i in ids if i is not None})
    return sorted(names.items(), key=lambda item: (item[1], item[0]))


def board(
    session: Session, actor: Actor, *, queue_id: int | None = None, now: datetime | None = None
) -> Board:
    """The wallboard: agent states, calls waiting, today's figures and today's calls per half hour."""
    now = now or clock.now()
    queues = visible_queues(session, actor)
    _check_queue(queues, queue_id)
    ids = [q.id for q in queues]
    where = _calls_in_scope(actor, ids, queue_id)
    live = _live_agents(session, actor)
    if queue_id is not None:
        live = [(a, u) for a, u in live if queue_id in (a.queue_ids or [])]
    states = Counter(a.state for a, _ in live)
    waiting = _waiting(session, now, where)
    oldest = min((since for _, since in waiting.values()), default=None)
    local_day = clock.to_local(now).date()
    bounds = stats.time_buckets(local_day, local_day, SLOT_MINUTES)
    common: dict[str, Any] = {"start": bounds[0], "end": bounds[-1], "where": where, "threshold": None}
    per_slot = stats.aggregate(session, key=stats.bucket_of(Call.started_at, bounds), **common)
    slots = [
        Slot(clock.to_local(b).strftime("%H:%M"), b, per_slot.get(i, stats.Figures()))
        for i, b in enumerate(bounds[:-1])
    ]
    total = stats.Figures()
    for slot in slots:
        total.add(slot.figures)
    shown = [q for q in queues if queue_id is None or q.id == queue_id]
    return Board(
        at=now,
        queue_id=queue_id,
        agent_states={s: states.get(s, 0) for s in LIVE_STATES},
        waiting=sum(count for count, _ in waiting.values()),
        longest_wait_seconds=_seconds_since(oldest, now),
        oldest_waiting_since=oldest,
        today=total,
        slots=slots,
        service_level_target=shown[0].service_level_target if len(shown) == 1 else None,
    )
