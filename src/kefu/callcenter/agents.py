"""Agent states (座席状态, CC-3): login to queues with an extension, ready / not ready with a reason,
ringing, talking and wrap-up, each stretch logged in `cc_agent_state_log`.

Two kinds of change meet here. The agent's own (login, ready, not ready, logout) are commands: they
check what the agent may do now and fail with a 409 otherwise. The PBX's (a call rings, is answered,
ends) are facts reported through CTI, possibly late: one older than the agent's current state
changes nothing, so a delayed "ringing" never drags an agent back from the next call.

What the agent does is audited (login, ready, not ready, logout); what the PBX reports is not — it
is in the call's event log. Every state change is in the state log (the record of agent time) and
is published as `agent.state` for the desk, the monitor and the wallboard.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.callcenter.models import Agent, AgentState, AgentStateSpan, CallQueue, QueueMember
from kefu.callcenter.permissions import USE
from kefu.core import clock, events
from kefu.core.errors import Conflict, FieldError, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.org.config import dictionary

FUNCTION = "callcenter.agent"
AGENT_STATE = "agent.state"
REASONS = "not_ready_reason"
# States in which the agent is on (or just finishing) a call.
ON_CALL = frozenset({AgentState.RINGING, AgentState.TALKING})

NOT_LOGGED_IN = lazy("Log in to the call center first")
ON_A_CALL = lazy("Not while on a call")
NOT_A_MEMBER = lazy("You are not a member of queue %(queue)s")
CHOOSE_QUEUE = lazy("Choose at least one of your queues")
EXTENSION_TAKEN = lazy("Extension %(extension)s is in use by %(name)s")
EXTENSION_REQUIRED = lazy("Give the extension of your phone")
CHOOSE_REASON = lazy("Choose one of the offered reasons")


def get(session: Session, user_id: int, *, lock: bool = False) -> Agent:
    """The agent row of `user_id`, created offline on first use."""
    stmt = select(Agent).where(Agent.user_id == user_id)
    if lock:
        stmt = stmt.with_for_update()
    agent = session.scalar(stmt)
    if agent is None:
        agent = Agent(user_id=user_id, state=AgentState.OFFLINE.value, since=clock.now(), queue_ids=[])
        session.add(agent)
        session.flush()
    return agent


def by_extension(session: Session, extension: str) -> Agent | None:
    """The logged-in agent at `extension`, if any."""
    if not extension:
        return None
    return session.scalar(
        select(Agent).where(Agent.extension == extension, Agent.state != AgentState.OFFLINE.value).limit(1)
    )


def member_queue_ids(session: Session, user_id: int) -> list[int]:
    return list(
        session.scalars(
            select(QueueMember.queue_id)
            .join(CallQueue, CallQueue.id == QueueMember.queue_id)
            .where(QueueMember.user_id == user_id, CallQueue.enabled.is_(True))
            .order_by(QueueMember.queue_id)
        )
    )


def _publish(session: Session, agent: Agent) -> None:
    events.on_commit(
        session,
        events.Event(
            type=AGENT_STATE,
            data={
                "user_id": agent.user_id,
                "state": agent.state,
                "reason": agent.reason,
                "since": agent.since.isoformat(),
                "call": agent.call_id,
                "queues": list(agent.queue_ids or []),
                "wrap_up_until": agent.wrap_up_until.isoformat() if agent.wrap_up_until else None,
            },
        ),
    )


def enter(
    session: Session,
    agent: Agent,
    state: AgentState,
    *,
    at: datetime | None = None,
    reason: str = "",
    call_id: int | None = None,
    wrap_up_until: datetime | None = None,
) -> Agent:
    """Move `agent` into `state` at `at` (default now): close the open log span, open the next."""
    at = at or clock.now()
    at = max(at, agent.since)  # a span never ends before it began
    open_span = session.scalar(
        select(AgentStateSpan)
        .where(AgentStateSpan.user_id == agent.user_id, AgentStateSpan.ended_at.is_(None))
        .order_by(AgentStateSpan.id.desc())
        .limit(1)
    )
    if open_span is not None:
        open_span.ended_at = at
    if state is not AgentState.OFFLINE:
        session.add(
            AgentStateSpan(
                user_id=agent.user_id, state=state.value, reason=reason, started_at=at, call_id=call_id
            )
        )
    if agent.state in ON_CALL and state not in ON_CALL:
        agent.idle_since = at
    agent.state = state.value
    agent.reason = reason
    agent.since = at
    agent.call_id = call_id
    agent.wrap_up_until = wrap_up_until
    session.flush()
    _publish(session, agent)
    if state is AgentState.READY:
        from kefu.callcenter import routing  # a ready agent takes the best call waiting for kefu's ACD

        routing.agent_ready(session, agent)
    return agent


def refresh(session: Session, agent: Agent, now: datetime | None = None) -> Agent:
    """Finish a wrap-up whose time is over: the agent is ready again from that moment."""
    now = now or clock.now()
    if agent.state == AgentState.WRAP_UP and agent.wrap_up_until is not None and agent.wrap_up_until <= now:
        enter(session, agent, AgentState.READY, at=agent.wrap_up_until)
    return agent


def finish_wrap_ups(session: Session, now: datetime | None = None) -> int:
    """Make ready every agent whose wrap-up time is over (the monitor and the ACD call this)."""
    now = now or clock.now()
    due = session.scalars(
        select(Agent)
        .where(Agent.state == AgentState.WRAP_UP.value, Agent.wrap_up_until <= now)
        .with_for_update(skip_locked=True)  # another run (or the agent) is at it: leave it to them
    ).all()
    for agent in due:
        refresh(session, agent, now)
    return len(due)


# Commands of the agent


def _require(actor: Actor) -> None:
    if not actor.can(USE):
        raise PermissionDenied()


def login(
    session: Session, *, actor: Actor, extension: str | None = None, queue_ids: Sequence[int] | None = None
) -> Agent:
    """Log in to queues (签入) at an extension; the agent starts not ready until they say ready.

    `extension` defaults to the user's own (staff record); `queue_ids` to every queue they belong to.
    Logging in again changes the extension or the queues without leaving the current state.
    """
    _require(actor)
    agent = get(session, actor.user.id, lock=True)
    extension = (extension if extension is not None else actor.user.phone_ext or "").strip()
    if not extension:
        raise FieldError("extension", EXTENSION_REQUIRED)
    if len(extension) > 20:
        raise FieldError("extension", lazy("At most %(max)s characters"), max=20)
    holder = by_extension(session, extension)
    if holder is not None and holder.user_id != agent.user_id:
        from kefu.org.models import User

        other = session.get(User, holder.user_id)
        raise FieldError("extension", EXTENSION_TAKEN, extension=extension, name=other.name if other else "")
    allowed = member_queue_ids(session, actor.user.id)
    chosen = list(dict.fromkeys(queue_ids)) if queue_ids is not None else allowed
    for queue_id in chosen:
        if queue_id not in allowed:
            raise FieldError("queue_ids", NOT_A_MEMBER, queue=queue_id)
    if not chosen:
        raise FieldError("queue_ids", CHOOSE_QUEUE)
    first = agent.state == AgentState.OFFLINE
    agent.extension = extension
    agent.queue_ids = chosen
    if first:
        agent.logged_in_at = clock.now()
        enter(session, agent, AgentState.NOT_READY, reason="")
    else:
        session.flush()
        _publish(session, agent)
    audit.record(
        session,
        actor=actor,
        action="agent.login",
        function=FUNCTION,
        target_type="cc_agent",
        target_id=agent.user_id,
        target_label=actor.user.name,
        after={"extension": extension, "queue_ids": chosen},
    )
    return agent


def _audit(session: Session, actor: Actor, agent: Agent, action: str, *, before: str, **after: str) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        function=FUNCTION,
        target_type="cc_agent",
        target_id=agent.user_id,
        target_label=actor.user.name,
        before={"state": before},
        after={"state": agent.state, **after},
    )


def _logged_in(session: Session, actor: Actor) -> Agent:
    _require(actor)
    agent = refresh(session, get(session, actor.user.id, lock=True))
    if agent.state == AgentState.OFFLINE:
        raise Conflict(NOT_LOGGED_IN)
    return agent


def ready(session: Session, *, actor: Actor) -> Agent:
    """Say ready (示闲): from not ready, or ending a wrap-up early."""
    agent = _logged_in(session, actor)
    if agent.state in ON_CALL:
        raise Conflict(ON_A_CALL)
    if agent.state != AgentState.READY:
        before = agent.state
        enter(session, agent, AgentState.READY)
        _audit(session, actor, agent, "agent.ready", before=before)
    return agent


def not_ready(session: Session, *, actor: Actor, reason: str) -> Agent:
    """Say not ready (示忙) with a reason of the `not_ready_reason` dictionary."""
    agent = _logged_in(session, actor)
    reason = (reason or "").strip()
    if reason not in {i.code for i in dictionary.items(session, REASONS)}:
        raise FieldError("reason", CHOOSE_REASON)
    if agent.state in ON_CALL:
        raise Conflict(ON_A_CALL)
    if agent.state != AgentState.NOT_READY or agent.reason != reason:
        before = agent.state
        enter(session, agent, AgentState.NOT_READY, reason=reason)
        _audit(session, actor, agent, "agent.not_ready", before=before, reason=reason)
    return agent


def logout(session: Session, *, actor: Actor) -> Agent:
    """Log out of the call center (签出); not while a call rings or is in progress."""
    agent = _logged_in(session, actor)
    if agent.state in ON_CALL:
        raise Conflict(ON_A_CALL)
    enter(session, agent, AgentState.OFFLINE)
    agent.queue_ids = []
    agent.logged_in_at = None
    audit.record(
        session,
        actor=actor,
        action="agent.logout",
        function=FUNCTION,
        target_type="cc_agent",
        target_id=agent.user_id,
        target_label=actor.user.name,
    )
    return agent


# Facts reported by the PBX (through the CTI service)


def _stale(agent: Agent, at: datetime) -> bool:
    return at < agent.since


def call_ringing(session: Session, user_id: int, call_pk: int, at: datetime) -> bool:
    """A call rings at the agent. True if the agent's state changed."""
    agent = refresh(session, get(session, user_id, lock=True), at)
    if _stale(agent, at) or agent.state in (AgentState.TALKING, AgentState.OFFLINE):
        return False
    if agent.state == AgentState.RINGING and agent.call_id == call_pk:
        return False
    enter(session, agent, AgentState.RINGING, at=at, call_id=call_pk)
    return True


def call_answered(session: Session, user_id: int, call_pk: int, at: datetime) -> bool:
    """The agent answered the call (also: an outbound call they dialled was answered)."""
    agent = refresh(session, get(session, user_id, lock=True), at)
    if agent.state == AgentState.TALKING and agent.call_id == call_pk:
        return False
    if _stale(agent, at) and agent.call_id != call_pk:
        return False
    if agent.state == AgentState.OFFLINE:
        # A PBX can connect a call to a phone whose agent is not logged in: count the talk anyway.
        agent.logged_in_at = agent.logged_in_at or at
    enter(session, agent, AgentState.TALKING, at=at, call_id=call_pk)
    return True


def call_released(
    session: Session, user_id: int, call_pk: int, at: datetime, *, talked: bool, wrap_up_seconds: int
) -> bool:
    """The call left the agent (hung up, transferred away, answered elsewhere, stopped ringing).

    After a conversation the agent wraps up for `wrap_up_seconds` (0: ready at once); a call that
    only rang gives the agent back the state they had before it rang (ready).
    """
    agent = get(session, user_id, lock=True)
    if agent.call_id != call_pk or agent.state not in ON_CALL:
        return False
    if not agent.queue_ids:  # connected without being logged in (see `call_answered`)
        enter(session, agent, AgentState.OFFLINE, at=at)
        agent.logged_in_at = None
    elif not talked or agent.state == AgentState.RINGING:
        enter(session, agent, AgentState.READY, at=at)
    elif wrap_up_seconds > 0:
        enter(
            session,
            agent,
            AgentState.WRAP_UP,
            at=at,
            call_id=call_pk,
            wrap_up_until=at + timedelta(seconds=wrap_up_seconds),
        )
    else:
        enter(session, agent, AgentState.READY, at=at)
    return True
