"""CTI events (CC-1): what the PBX reports about calls, turned into calls, agent states, contact
records and screen pops.

Both endpoints — the native one and the Zammad-compatible one — translate their payload into a
`CtiEvent` and call `ingest`. Ingesting is idempotent and order-insensitive:

- every event is stored once under a dedupe key (the sender's `event_id`, else the event's content);
  a replay or a duplicate changes nothing and answers like the first;
- an event contributes *facts* to its call — the earliest ringing, the earliest answer, the hangup —
  and the call's state, outcome, wait and talk time are derived from the facts afterwards, so a late
  "answer" after its "hangup" still makes the call answered, and never reopens it;
- agent states only follow events that are newer than the agent's current state (`agents`).

The ringing agent receives `call.ringing` (the screen pop) when the transaction commits; monitors
and the wallboard receive `call.updated` for every change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kefu.callcenter import agents
from kefu.callcenter.models import (
    AgentState,
    Call,
    CallEvent,
    CallQueue,
    CallState,
    Direction,
    Outcome,
)
from kefu.core import clock, events
from kefu.customers import phones
from kefu.db import insert_ignoring_conflict
from kefu.org.models import User

CALL_RINGING = "call.ringing"
CALL_UPDATED = "call.updated"
DEFAULT_WRAP_UP = 30
MAX_IVR_KEYS = 40


class Kind(StrEnum):
    NEW_CALL = "new_call"  # the PBX has a call (inbound: the caller is in; outbound: dialling)
    IVR = "ivr"  # data the caller entered in the IVR (merged into the call)
    QUEUED = "queued"  # the caller waits in a queue
    RINGING = "ringing"  # the call rings at an agent
    NO_ANSWER = "no_answer"  # the agent let it ring out (the call goes on elsewhere)
    ANSWER = "answer"  # an agent answered (outbound: the customer answered)
    HOLD = "hold"
    UNHOLD = "unhold"
    TRANSFER = "transfer"  # to another agent or queue
    HANGUP = "hangup"
    RECORDING = "recording"  # the recording is available at `recording_url`


# Hang-up causes (Zammad's words; a PBX may send others): how a call that no agent answered ended.
CALLER_GAVE_UP = frozenset({"", "normalClearing", "cancel", "abandon"})


@dataclass(frozen=True)
class CtiEvent:
    kind: Kind
    call_id: str
    occurred_at: datetime
    direction: Direction | None = None
    from_number: str = ""
    to_number: str = ""
    queue: str = ""  # the queue's code as the PBX names it
    agent_id: int | None = None  # the agent the event concerns (ringing at, answered by …)
    offered_to: tuple[int, ...] = ()  # several agents (a group ring announced with the call)
    to_agent_id: int | None = None  # transfer target
    to_queue: str = ""
    cause: str = ""
    ivr: Mapping[str, Any] = field(default_factory=dict)
    recording_url: str = ""
    event_id: str = ""  # the sender's own id of the event, if it has one
    payload: Mapping[str, Any] = field(default_factory=dict)  # as received, for the event log

    def dedupe_key(self, source: str) -> str:
        if self.event_id:
            basis = f"{source}|id|{self.event_id}"
        else:
            content = {k: v for k, v in self.payload.items() if k not in {"token"}}
            basis = f"{source}|{self.kind}|{self.call_id}|" + json.dumps(
                content, sort_keys=True, ensure_ascii=False, default=str
            )
        return hashlib.sha256(basis.encode()).hexdigest()


@dataclass
class Ingested:
    call: Call
    duplicate: bool


def resolve_agent(session: Session, value: str | int | None) -> int | None:
    """The user an event names: a logged-in agent's extension, else a username, agent number,
    extension, e-mail, or user id (the order in which Zammad looks up `answeringNumber`, adapted)."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    at_phone = agents.by_extension(session, text)
    if at_phone is not None:
        return at_phone.user_id
    conditions = [
        User.username == text,
        User.agent_no == text,
        User.phone_ext == text,
        func.lower(User.email) == text.lower(),
    ]
    if text.isdigit() and len(text) < 10:
        conditions.append(User.id == int(text))
    found = session.scalars(select(User.id).where(or_(*conditions), User.is_active.is_(True)).limit(2)).all()
    return found[0] if len(found) == 1 else None


def resolve_agent_by_name(session: Session, name: str) -> int | None:
    """Zammad's `user[]` carries display names; a name shared by two people names nobody."""
    found = session.scalars(
        select(User.id).where(User.name == name.strip(), User.is_active.is_(True)).limit(2)
    ).all()
    return found[0] if len(found) == 1 else None


def _queue(session: Session, code: str) -> CallQueue | None:
    """The queue the PBX names; one it names for the first time is created (an administrator can
    rename it and give it members), so that no call is left out of the statistics."""
    code = code.strip()[:40]
    if not code:
        return None
    queue = session.scalar(select(CallQueue).where(CallQueue.code == code))
    if queue is None:
        queue = CallQueue(code=code, name=code)
        try:
            with session.begin_nested():
                session.add(queue)
        except IntegrityError:  # another event created it meanwhile
            queue = session.scalar(select(CallQueue).where(CallQueue.code == code))
    return queue


def _find_or_create(session: Session, event: CtiEvent) -> Call:
    """The event's call, locked; created when this is its first event (a concurrent first event
    of the same call finds the row the other wrote)."""
    stmt = select(Call).where(Call.call_id == event.call_id).with_for_update()
    call = session.scalar(stmt)
    if call is not None:
        return call
    values = {
        "call_id": event.call_id,
        "direction": (event.direction or Direction.IN).value,
        "started_at": event.occurred_at,
        "last_event_at": event.occurred_at,
        "offered_to": [],
        "ivr": {},
        "hold_seconds": 0,
        "transfers": 0,
    }
    insert = insert_ignoring_conflict(session, Call, values, unique=["call_id"]).returning(Call)
    created = session.scalars(insert, execution_options={"populate_existing": True}).first()
    return created if created is not None else session.scalars(stmt).one()


def _customer_side(call: Call) -> str:
    return call.from_number if call.direction == Direction.IN else call.to_number


def _identify(session: Session, call: Call) -> None:
    """Key the customer's number and link the customer it belongs to, when exactly one."""
    number = _customer_side(call)
    if not number or call.remote_key:
        return
    call.remote_key = phones.lookup_key(number) or ""
    if call.remote_key and call.direction == Direction.IN:
        from kefu.messaging import blacklist

        blacklist.recognise(session, call.remote_key)  # one hit per call: the key is set once
    if call.remote_key and call.customer_id is None:
        from kefu.customers.search import find_by_phone

        matches = find_by_phone(session, call.remote_key, limit=2)
        if len(matches) == 1:
            call.customer_id = matches[0].id


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


def _wrap_up_seconds(session: Session, call: Call) -> int:
    if call.queue_id is not None:
        queue = session.get(CallQueue, call.queue_id)
        if queue is not None:
            return queue.wrap_up_seconds
    return DEFAULT_WRAP_UP


def derive(call: Call) -> None:
    """Recompute the call's state, outcome, wait and talk time from its facts."""
    if call.ended_at is not None:
        call.state = CallState.ENDED.value
    elif call.hold_started_at is not None:
        call.state = CallState.HELD.value
    elif call.answered_at is not None:
        call.state = CallState.TALKING.value
    elif call.ringing_at is not None:
        call.state = CallState.RINGING.value
    elif call.queued_at is not None:
        call.state = CallState.QUEUED.value
    else:
        call.state = CallState.NEW.value
    waiting_from = call.queued_at or call.started_at
    answered = call.answered_at is not None and (call.ended_at is None or call.answered_at <= call.ended_at)
    if answered:
        assert call.answered_at is not None
        call.wait_seconds = max(0, round((call.answered_at - waiting_from).total_seconds()))
    elif call.ended_at is not None:
        call.wait_seconds = max(0, round((call.ended_at - waiting_from).total_seconds()))
    if call.ended_at is None:
        call.outcome = None
        call.talk_seconds = None
        return
    if answered:
        assert call.answered_at is not None
        talk = (call.ended_at - call.answered_at).total_seconds() - (call.hold_seconds or 0)
        call.talk_seconds = max(0, round(talk))
        call.outcome = Outcome.ANSWERED.value
    elif call.direction == Direction.OUT:
        call.outcome = Outcome.UNANSWERED.value
    elif call.queued_at is None and call.ringing_at is None:
        # Never offered to an agent: finished in the IVR (self-service) or dropped before the queue.
        call.outcome = Outcome.SELF_SERVICE.value
    elif call.end_cause in CALLER_GAVE_UP:
        call.outcome = Outcome.ABANDONED.value
    else:
        call.outcome = Outcome.MISSED.value


def _merge_ivr(call: Call, data: Mapping[str, Any]) -> None:
    if not data:
        return
    merged = {**(call.ivr or {}), **{str(k)[:40]: v for k, v in data.items()}}
    call.ivr = dict(list(merged.items())[:MAX_IVR_KEYS])


def _ring(session: Session, call: Call, user_id: int, at: datetime) -> None:
    call.ringing_at = _earliest(call.ringing_at, at)
    if call.agent_id is None and call.department_id is None:
        # No queue department: the call belongs to the department it first rang in until answered.
        ringing_user = session.get(User, user_id)
        call.department_id = ringing_user.department_id if ringing_user else None
    if user_id not in (call.offered_to or []):
        call.offered_to = [*(call.offered_to or []), user_id]
    # After an answer, only a transfer rings further (a late ringing of before the answer does not).
    live = call.ended_at is None and (call.answered_at is None or at > call.answered_at)
    if live and agents.call_ringing(session, user_id, call.id, at):
        events.on_commit(
            session,
            events.Event(
                type=CALL_RINGING,
                data={
                    "call": call.id,
                    "call_id": call.call_id,
                    "direction": call.direction,
                    "from": call.from_number,
                    "to": call.to_number,
                    "customer_id": call.customer_id,
                    "queue_id": call.queue_id,
                    "ivr": call.ivr or {},
                },
                audience=(user_id,),
            ),
        )


def _release_ringing(session: Session, call: Call, at: datetime, *, except_user: int | None) -> None:
    """The call stopped ringing at the agents it was offered to (answered by one, or ended)."""
    for user_id in call.offered_to or []:
        if user_id != except_user:
            agents.call_released(session, user_id, call.id, at, talked=False, wrap_up_seconds=0)


def _answered(session: Session, call: Call, user_id: int | None, at: datetime) -> None:
    call.answered_at = _earliest(call.answered_at, at)
    if user_id is None:
        return
    if call.agent_since is None or at >= call.agent_since:
        call.agent_id, call.agent_since = user_id, at
        agent_user = session.get(User, user_id)
        call.department_id = agent_user.department_id if agent_user else call.department_id
    if call.ended_at is None:
        agents.call_answered(session, user_id, call.id, at)
        _release_ringing(session, call, at, except_user=user_id)
    if user_id not in (call.offered_to or []):  # who took part keeps seeing the call
        call.offered_to = [*(call.offered_to or []), user_id]


def _hangup(session: Session, call: Call, event: CtiEvent) -> None:
    at = event.occurred_at
    if call.ended_at is not None and call.ended_at <= at:
        return  # the first hangup stands
    call.ended_at = at
    if event.cause and not call.end_cause:
        call.end_cause = event.cause[:40]
    _recount_hold(session, call)
    talked = call.answered_at is not None and call.answered_at <= at
    if call.agent_id is not None:
        agents.call_released(
            session,
            call.agent_id,
            call.id,
            at,
            talked=talked,
            wrap_up_seconds=_wrap_up_seconds(session, call),
        )
    _release_ringing(session, call, at, except_user=call.agent_id)


def _recount_hold(session: Session, call: Call) -> None:
    """Hold time from the call's hold and unhold events in time order, whatever order they came in;
    a hold still open at the hangup lasts until the hangup."""
    rows = session.execute(
        select(CallEvent.kind, CallEvent.occurred_at)
        .where(CallEvent.call_pk == call.id, CallEvent.kind.in_([Kind.HOLD.value, Kind.UNHOLD.value]))
        .order_by(CallEvent.occurred_at, CallEvent.id)
    ).all()
    total, started = 0.0, None
    for kind, at in rows:
        if call.ended_at is not None and at > call.ended_at:
            break
        if kind == Kind.HOLD and started is None:
            started = at
        elif kind == Kind.UNHOLD and started is not None:
            total += (at - started).total_seconds()
            started = None
    if started is not None and call.ended_at is not None:
        total += (call.ended_at - started).total_seconds()
        started = None
    call.hold_seconds = max(0, round(total))
    call.hold_started_at = started


def _transfer(session: Session, call: Call, event: CtiEvent) -> None:
    at = event.occurred_at
    call.transfers += 1
    from_agent = event.agent_id or call.agent_id
    if from_agent is not None and call.ended_at is None:
        agents.call_released(
            session, from_agent, call.id, at, talked=True, wrap_up_seconds=_wrap_up_seconds(session, call)
        )
    if event.to_queue:
        queue = _queue(session, event.to_queue)
        if queue is not None:
            call.queue_id = queue.id
    if event.to_agent_id is not None:
        _ring(session, call, event.to_agent_id, at)


def _apply(session: Session, call: Call, event: CtiEvent) -> None:
    at = event.occurred_at
    call.started_at = min(call.started_at, at)
    if event.direction is not None and event.kind == Kind.NEW_CALL:
        call.direction = event.direction.value
    if event.from_number and not call.from_number:
        call.from_number = event.from_number[:80]
    if event.to_number and not call.to_number:
        call.to_number = event.to_number[:80]
    _identify(session, call)
    _merge_ivr(call, event.ivr)
    from kefu.callcenter import ivr_engine  # what the caller entered in kefu's IVR joins the pop

    ivr_engine.merge_into(session, call)
    if event.queue:
        queue = _queue(session, event.queue)
        if queue is not None and (call.queue_id is None or event.kind == Kind.QUEUED):
            call.queue_id = queue.id
            if call.agent_id is None and queue.department_id is not None:
                # Until an agent answers, the call belongs to the queue's department: a missed or
                # abandoned call stays visible to that department's leads.
                call.department_id = queue.department_id
    kind = event.kind
    if kind == Kind.NEW_CALL:
        for user_id in event.offered_to:
            _ring(session, call, user_id, at)
        if event.queue and not event.offered_to and call.direction == Direction.IN:
            call.queued_at = _earliest(call.queued_at, at)
    elif kind == Kind.QUEUED:
        call.queued_at = _earliest(call.queued_at, at)
    elif kind == Kind.RINGING and event.agent_id is not None:
        _ring(session, call, event.agent_id, at)
    elif kind == Kind.NO_ANSWER and event.agent_id is not None:
        agent = agents.get(session, event.agent_id, lock=True)
        if agent.call_id == call.id and agent.state == AgentState.RINGING and at >= agent.since:
            # Redirect on no answer: an agent who lets a call ring out is most likely away.
            agents.enter(session, agent, AgentState.NOT_READY, at=at, reason="no_answer")
    elif kind == Kind.ANSWER:
        _answered(session, call, event.agent_id, at)
    elif kind in (Kind.HOLD, Kind.UNHOLD):
        _recount_hold(session, call)
    elif kind == Kind.TRANSFER:
        _transfer(session, call, event)
    elif kind == Kind.HANGUP:
        _hangup(session, call, event)
    elif kind == Kind.RECORDING and event.recording_url:
        call.recording_url = event.recording_url[:500]
    call.last_event_at = max(call.last_event_at, at)
    call.updated_at = clock.now()
    derive(call)


def _record_contact(session: Session, call: Call) -> None:
    """Keep the call's contact record (接触记录) in step: opened when an agent answers, completed at
    hangup; a call that ended unanswered is recorded too (a missed or abandoned contact)."""
    from kefu.customers.contacts import service as contacts
    from kefu.customers.contacts.models import ContactRecord

    record = session.get(ContactRecord, call.contact_id) if call.contact_id else None
    if record is None and (call.answered_at is not None or call.ended_at is not None):
        record = contacts.record_contact(
            session,
            None,
            customer_id=call.customer_id,
            channel="phone",
            direction="inbound" if call.direction == Direction.IN else "outbound",
            started_at=call.started_at,
            remote_address=_customer_side(call)[:200],
            agent_id=call.agent_id,
            call_id=call.call_id[:64],
        )
        call.contact_id = record.id
        if call.customer_id is None:
            call.customer_id = record.customer_id
    if record is not None and call.ended_at is not None and record.ended_at is None:
        contacts.finish(session, record=record, ended_at=call.ended_at, agent_id=call.agent_id)
        if call.outcome and call.outcome != Outcome.ANSWERED and not record.summary:
            record.summary = call.outcome
    if record is not None and record.department_id is None:
        record.department_id = call.department_id  # unanswered: the queue's (or ringing) department


def _announce(session: Session, call: Call) -> None:
    events.on_commit(
        session,
        events.Event(
            type=CALL_UPDATED,
            data={
                "call": call.id,
                "state": call.state,
                "outcome": call.outcome,
                "queue_id": call.queue_id,
                "agent_id": call.agent_id,
                "direction": call.direction,
            },
        ),
    )


def ingest(session: Session, event: CtiEvent, *, source: str = "native") -> Ingested:
    """Apply one CTI event (see the module's docstring). Never commits."""
    key = event.dedupe_key(source)
    if session.scalar(select(CallEvent.id).where(CallEvent.dedupe_key == key)) is not None:
        return Ingested(call=call_by_id(session, event.call_id), duplicate=True)  # a replay: no lock
    call = _find_or_create(session, event)
    row = {
        "call_pk": call.id,
        "kind": event.kind.value,
        "dedupe_key": key,
        "occurred_at": event.occurred_at,
        "received_at": clock.now(),
        "agent_id": event.agent_id,
        "payload": dict(event.payload),
    }
    written = session.scalar(
        insert_ignoring_conflict(session, CallEvent, row, unique=["dedupe_key"]).returning(CallEvent.id)
    )
    if written is None:  # the same event, sent twice at once: the other one applies it
        return Ingested(call=call, duplicate=True)
    with session.no_autoflush:  # the call's changes are written once, not before every lookup
        _apply(session, call, event)
    session.flush()
    _record_contact(session, call)
    _announce(session, call)
    from kefu.callcenter import routing  # a caller entering a queue routed by kefu's ACD is offered

    routing.on_event(session, call, event, source=source)
    from kefu.callcenter import campaign_dialer  # an outbound campaign's call settles its target

    campaign_dialer.call_reported(session, call)
    return Ingested(call=call, duplicate=False)


def call_by_id(session: Session, call_id: str) -> Call:
    """The call the PBX knows as `call_id` (which must exist)."""
    return session.scalars(select(Call).where(Call.call_id == call_id)).one()
