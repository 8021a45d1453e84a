"""Call control from the agent desk (软电话, CC-1): answer, hang up, hold, transfer, dial.

kefu is not a PBX. A command is checked here (is the call at this agent, in a state that allows it)
and handed to the `CtiAdapter` of the deployment, which asks the PBX to do it. The PBX then reports
what happened through the CTI API like any other call event, so the desk, the statistics and the
contact records follow the PBX's truth, not the button.

`SimulatedPbx` is the adapter of demos and tests: it reports the consequences at once, in the same
transaction, exactly as a PBX would report them through the CTI API. An adapter for a real PBX
(Asterisk AMI/ARI, FreeSWITCH ESL, a cloud contact center) implements the same protocol.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.callcenter import agents, cti
from kefu.callcenter.models import Agent, AgentState, Call, CallQueue, CallState, Campaign, Direction
from kefu.callcenter.permissions import USE
from kefu.core import clock
from kefu.core.errors import Conflict, FieldError, KefuError, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.customers import phones
from kefu.org.models import User

NOT_RINGING_HERE = lazy("This call is not ringing at your phone")
NOT_YOUR_CALL = lazy("You are not on this call")
ALREADY_HELD = lazy("The call is already on hold")
NOT_HELD = lazy("The call is not on hold")
CHOOSE_TARGET = lazy("Choose an agent or a queue to transfer to")
AGENT_UNAVAILABLE = lazy("This agent is not logged in")
NO_SUCH_QUEUE = lazy("No such queue")
BUSY = lazy("Finish your current call first")


class NoPbx(KefuError):
    status_code = 409
    code = "no_pbx"

    def __init__(self) -> None:
        super().__init__("No telephone system is connected: use the buttons of your phone")


class CtiAdapter(Protocol):
    """Sends call commands to the PBX. Each method may raise `KefuError` when the PBX refuses."""

    name: str

    def answer(self, session: Session, *, call: Call, agent: Agent) -> None: ...

    def hangup(self, session: Session, *, call: Call, agent: Agent) -> None: ...

    def hold(self, session: Session, *, call: Call, agent: Agent, on: bool) -> None: ...

    def transfer(
        self,
        session: Session,
        *,
        call: Call,
        agent: Agent,
        to_agent: Agent | None,
        to_queue: CallQueue | None,
    ) -> None: ...

    def dial(self, session: Session, *, agent: Agent, number: str) -> str:
        """Start an outbound call from the agent's extension; returns the PBX's call id."""
        ...

    def originate(
        self,
        session: Session,
        *,
        number: str,
        call_id: str,
        campaign: Campaign,
        queue_code: str | None = None,
    ) -> None:
        """Start an agent-less outbound call (a campaign's) to `number` under kefu's `call_id`: the PBX
        reports it through CTI with that id; answered, it asks the campaign step API what to play, or
        (with `queue_code`) puts the customer in that queue."""
        ...

    def offer(self, session: Session, *, call: Call, agent: Agent) -> None:
        """Ring `agent` with `call`, a caller waiting in a queue kefu's ACD routes (CC-2); the PBX
        reports the ringing (kefu already counts the agent as ringing for it)."""
        ...

    def queue_timeout(self, session: Session, *, call: Call, queue: CallQueue) -> None:
        """The caller reached the queue's maximum wait: play the PBX's message and end the call
        (the PBX reports the hangup)."""
        ...


class NoAdapter:
    name = "none"

    def answer(self, session: Session, *, call: Call, agent: Agent) -> None:
        raise NoPbx()

    def hangup(self, session: Session, *, call: Call, agent: Agent) -> None:
        raise NoPbx()

    def hold(self, session: Session, *, call: Call, agent: Agent, on: bool) -> None:
        raise NoPbx()

    def transfer(
        self,
        session: Session,
        *,
        call: Call,
        agent: Agent,
        to_agent: Agent | None,
        to_queue: CallQueue | None,
    ) -> None:
        raise NoPbx()

    def dial(self, session: Session, *, agent: Agent, number: str) -> str:
        raise NoPbx()

    def originate(
        self,
        session: Session,
        *,
        number: str,
        call_id: str,
        campaign: Campaign,
        queue_code: str | None = None,
    ) -> None:
        raise NoPbx()

    def offer(self, session: Session, *, call: Call, agent: Agent) -> None:
        raise NoPbx()

    def queue_timeout(self, session: Session, *, call: Call, queue: CallQueue) -> None:
        raise NoPbx()


class SimulatedPbx:
    """A PBX in software: every command succeeds and is reported back at once through `cti.ingest`.

    A campaign call (`originate`) ends as scripted for its number with `will` (tests), else as
    `default_outcome`: answered (and hung up at once), talking (answered, still up), busy,
    no_answer, failed, or silent (the PBX never reports anything).
    """

    name = "simulated"
    source = "simulator"
    OUTCOMES = ("answered", "talking", "busy", "no_answer", "failed", "silent")
    HANGUP_CAUSES = {"busy": "busy", "no_answer": "noAnswer", "failed": "failed"}

    def __init__(self) -> None:
        self.default_outcome = "answered"
        self._scripted: dict[str, list[str]] = {}

    def will(self, number: str, *outcomes: str) -> None:
        """Script the next campaign calls to `number` (one outcome per call, in order)."""
        assert all(o in self.OUTCOMES for o in outcomes), outcomes
        key = phones.lookup_key(number) or number
        self._scripted.setdefault(key, []).extend(outcomes)

    def reset(self) -> None:
        self.default_outcome = "answered"
        self._scripted.clear()

    def _report(self, session: Session, call_id: str, kind: cti.Kind, **facts: object) -> None:
        event = cti.CtiEvent(
            kind=kind,
            call_id=call_id,
            occurred_at=clock.now(),
            event_id=secrets.token_hex(8),
            payload={"event": kind.value, "call_id": call_id},
            **facts,  # type: ignore[arg-type]
        )
        cti.ingest(session, event, source=self.source)

    def answer(self, session: Session, *, call: Call, agent: Agent) -> None:
        self._report(session, call.call_id, cti.Kind.ANSWER, agent_id=agent.user_id)

    def hangup(self, session: Session, *, call: Call, agent: Agent) -> None:
        self._report(session, call.call_id, cti.Kind.HANGUP, agent_id=agent.user_id, cause="normalClearing")

    def hold(self, session: Session, *, call: Call, agent: Agent, on: bool) -> None:
        self._report(session, call.call_id, cti.Kind.HOLD if on else cti.Kind.UNHOLD, agent_id=agent.user_id)

    def transfer(
        self,
        session: Session,
        *,
        call: Call,
        agent: Agent,
        to_agent: Agent | None,
        to_queue: CallQueue | None,
    ) -> None:
        self._report(
            session,
            call.call_id,
            cti.Kind.TRANSFER,
            agent_id=agent.user_id,
            to_agent_id=to_agent.user_id if to_agent else None,
            to_queue=to_queue.code if to_queue else "",
        )

    def dial(self, session: Session, *, agent: Agent, number: str) -> str:
        call_id = "sim-" + secrets.token_hex(8)
        self._report(
            session,
            call_id,
            cti.Kind.NEW_CALL,
            direction=Direction.OUT,
            from_number=agent.extension,
            to_number=number,
            offered_to=(agent.user_id,),
        )
        return call_id

    def originate(
        self,
        session: Session,
        *,
        number: str,
        call_id: str,
        campaign: Campaign,
        queue_code: str | None = None,
    ) -> None:
        key = phones.lookup_key(number) or number
        script = self._scripted.get(key)
        outcome = script.pop(0) if script else self.default_outcome
        if outcome == "silent":
            return
        self._report(session, call_id, cti.Kind.NEW_CALL, direction=Direction.OUT, to_number=number)
        if outcome in ("answered", "talking"):
            self._report(session, call_id, cti.Kind.ANSWER)
            if queue_code:
                self._report(session, call_id, cti.Kind.QUEUED, queue=queue_code)
        if outcome != "talking":
            self._report(
                session, call_id, cti.Kind.HANGUP, cause=self.HANGUP_CAUSES.get(outcome, "normalClearing")
            )

    def offer(self, session: Session, *, call: Call, agent: Agent) -> None:
        self._report(session, call.call_id, cti.Kind.RINGING, agent_id=agent.user_id)

    def queue_timeout(self, session: Session, *, call: Call, queue: CallQueue) -> None:
        self._report(session, call.call_id, cti.Kind.HANGUP, cause="queue_timeout")


_ADAPTERS: dict[str, CtiAdapter] = {"none": NoAdapter(), "simulated": SimulatedPbx()}


def adapter() -> CtiAdapter:
    from kefu.settings import get_settings

    return _ADAPTERS.get(get_settings().cti_adapter, _ADAPTERS["none"])


def register_adapter(adapter: CtiAdapter) -> None:
    """Make an adapter choosable with `KEFU_CTI_ADAPTER=<adapter.name>` (a plug-in's entry point)."""
    _ADAPTERS[adapter.name] = adapter


def _agent(session: Session, actor: Actor) -> Agent:
    if not actor.can(USE):
        raise PermissionDenied()
    agent = agents.refresh(session, agents.get(session, actor.user.id, lock=True))
    if agent.state == AgentState.OFFLINE:
        raise Conflict(agents.NOT_LOGGED_IN)
    return agent


def answer(session: Session, *, actor: Actor, call: Call) -> Call:
    agent = _agent(session, actor)
    if agent.state != AgentState.RINGING or agent.call_id != call.id or call.state == CallState.ENDED:
        raise Conflict(NOT_RINGING_HERE)
    adapter().answer(session, call=call, agent=agent)
    _audit(session, actor, call, "call.answer")
    return call


def _audit(session: Session, actor: Actor, call: Call, action: str, **after: object) -> None:
    """Agent call controls are audited (who hung up on the customer); their effect is the PBX's."""
    audit.record(
        session,
        actor=actor,
        action=action,
        function="callcenter.agent",
        target_type="cc_call",
        target_id=call.id,
        target_label=call.call_id,
        after={"adapter": adapter().name, **after},
    )


def _on_call(agent: Agent, call: Call) -> None:
    if call.agent_id != agent.user_id or call.state not in (CallState.TALKING, CallState.HELD):
        raise Conflict(NOT_YOUR_CALL)


def hangup(session: Session, *, actor: Actor, call: Call) -> Call:
    """Hang up (an answered call) or reject/stop (a call ringing at me, a call I am dialling)."""
    agent = _agent(session, actor)
    ringing_here = agent.state == AgentState.RINGING and agent.call_id == call.id
    if not ringing_here:
        _on_call(agent, call)
    adapter().hangup(session, call=call, agent=agent)
    _audit(session, actor, call, "call.hangup")
    return call


def hold(session: Session, *, actor: Actor, call: Call, on: bool) -> Call:
    agent = _agent(session, actor)
    _on_call(agent, call)
    if on and call.state == CallState.HELD:
        raise Conflict(ALREADY_HELD)
    if not on and call.state != CallState.HELD:
        raise Conflict(NOT_HELD)
    adapter().hold(session, call=call, agent=agent, on=on)
    _audit(session, actor, call, "call.hold" if on else "call.unhold")
    return call


def transfer(
    session: Session, *, actor: Actor, call: Call, to_agent_id: int | None, to_queue_id: int | None
) -> Call:
    """Blind transfer (转接) to a logged-in agent or to a queue."""
    agent = _agent(session, actor)
    _on_call(agent, call)
    if (to_agent_id is None) == (to_queue_id is None):
        raise FieldError("to_agent_id", CHOOSE_TARGET)
    target_agent = target_queue = None
    if to_agent_id is not None:
        target_agent = agents.get(session, to_agent_id) if session.get(User, to_agent_id) else None
        if target_agent is None or target_agent.state == AgentState.OFFLINE or to_agent_id == agent.user_id:
            raise FieldError("to_agent_id", AGENT_UNAVAILABLE)
    if to_queue_id is not None:
        target_queue = session.get(CallQueue, to_queue_id)
        if target_queue is None or not target_queue.enabled:
            raise FieldError("to_queue_id", NO_SUCH_QUEUE)
    adapter().transfer(session, call=call, agent=agent, to_agent=target_agent, to_queue=target_queue)
    _audit(session, actor, call, "call.transfer", to_agent_id=to_agent_id, to_queue_id=to_queue_id)
    return call


def dial(session: Session, *, actor: Actor, number: str) -> Call:
    """Outbound call (外呼) from the agent's extension."""
    from kefu.customers import phones

    agent = _agent(session, actor)
    if agent.state in agents.ON_CALL:
        raise Conflict(BUSY)
    number = number.strip()
    if phones.lookup_key(number) is None and not (number.isdigit() and 3 <= len(number) <= 8):
        raise FieldError("number", lazy("Not a phone number"))
    call_id = adapter().dial(session, agent=agent, number=number)
    call = cti.call_by_id(session, call_id)
    _audit(session, actor, call, "call.dial", number=number)
    return call
