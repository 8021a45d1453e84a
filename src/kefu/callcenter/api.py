"""The call center over HTTP: CTI events in (native and Zammad-compatible), the agent's state and
call controls, call records, the screen pop and the agent's event stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sse_starlette.sse import EventSourceResponse

from kefu.callcenter import access, agents, control, cti, pop
from kefu.callcenter.models import Agent, Call, Direction
from kefu.callcenter.permissions import CALLS_VIEW, REPORT, USE
from kefu.callcenter.schemas import (
    AgentLogin,
    AgentRead,
    CallRead,
    CtiEventIn,
    CtiResult,
    Dial,
    NotReady,
    Transfer,
)
from kefu.core import clock, context, events
from kefu.core.errors import NotAuthenticated, PermissionDenied
from kefu.core.permissions import build_actor
from kefu.customers.contacts.service import aware
from kefu.org import auth_service
from kefu.web.deps import CurrentActor, Requires, SessionDep

router = APIRouter(prefix="/api/v1/callcenter", tags=["callcenter"])
zammad_router = APIRouter(prefix="/api/v1/cti", tags=["callcenter"])


def _event(session: SessionDep, body: CtiEventIn) -> cti.CtiEvent:
    occurred = aware(body.timestamp) or clock.now()
    return cti.CtiEvent(
        kind=body.event,
        call_id=body.call_id,
        occurred_at=occurred,
        direction=Direction(body.direction) if body.direction else None,
        from_number=body.from_,
        to_number=body.to,
        queue=body.queue,
        agent_id=cti.resolve_agent(session, body.agent),
        offered_to=tuple(a for a in (cti.resolve_agent(session, x) for x in body.agents) if a is not None),
        to_agent_id=cti.resolve_agent(session, body.to_agent),
        to_queue=body.to_queue,
        cause=body.cause,
        ivr=body.ivr,
        recording_url=body.recording_url,
        event_id=body.event_id,
        payload=body.model_dump(mode="json", by_alias=True, exclude_defaults=True),
    )


@router.post("/cti/events", response_model=CtiResult)
def cti_event(session: SessionDep, actor: Requires(REPORT), body: CtiEventIn) -> CtiResult:
    """Report one call event from the PBX (CTI). Idempotent: a duplicate answers `duplicate: true`
    and changes nothing; events may arrive out of order."""
    done = cti.ingest(session, _event(session, body))
    return CtiResult(call=CallRead.model_validate(done.call), duplicate=done.duplicate)


# --- Zammad's generic CTI ---------------------------------------------------------------------------

ZAMMAD_EVENTS = {"newCall": cti.Kind.NEW_CALL, "answer": cti.Kind.ANSWER, "hangup": cti.Kind.HANGUP}


async def _zammad_payload(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}
    form = await request.form()
    payload: dict[str, Any] = {}
    for key in form:
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        name = key[:-2] if key.endswith("[]") else key
        payload[name] = values if key.endswith("[]") or len(values) > 1 else (values[0] if values else "")
    return payload


def _zammad_error(field: str, message: str) -> JSONResponse:
    """Zammad's bridges read `error`; kefu's clients read `detail` naming the field."""
    detail = [{"loc": ["body", field], "msg": message, "type": "value_error"}]
    return JSONResponse({"error": message, "detail": detail}, status_code=422)


@zammad_router.post("/{token}", include_in_schema=True)
def zammad_event(
    session: SessionDep, token: str, payload: Annotated[dict[str, Any], Depends(_zammad_payload)]
) -> JSONResponse:
    """Zammad's generic CTI push API (`newCall`, `answer`, `hangup`; JSON or form-encoded), so PBX
    bridges written for Zammad work unchanged: the token is an API token of a user holding
    `callcenter.cti.report`."""
    user = auth_service.resolve_token(session, token)
    if user is None:
        raise NotAuthenticated("Invalid or expired API token")
    ip = context.current().client_ip
    if not auth_service.ip_allowed(session, user=user, ip=ip):
        auth_service.audit_ip_refusal(session, user=user, ip=ip, path="/api/v1/cti")
        raise auth_service.IpRefused(ip)
    if not build_actor(session, user, via_token=True).can(REPORT):
        raise PermissionDenied()
    kind = ZAMMAD_EVENTS.get(str(payload.get("event", "")))
    call_id = str(payload.get("callId", "")).strip()
    if kind is None:
        return _zammad_error("event", "event must be newCall, answer or hangup")
    if not call_id or len(call_id) > 250:
        return _zammad_error("callId", "callId is required (at most 250 characters)")
    direction = str(payload.get("direction", "in"))
    if direction not in ("in", "out"):
        return _zammad_error("direction", "direction must be in or out")
    names = payload.get("user") or []
    names = [names] if isinstance(names, str) else [str(n) for n in names]
    users = [u for u in (cti.resolve_agent_by_name(session, n) for n in names if n) if u is not None]
    answering = cti.resolve_agent(session, str(payload.get("answeringNumber", "") or "")[:200])
    event = cti.CtiEvent(
        kind=kind,
        call_id=call_id,
        occurred_at=clock.now(),
        direction=Direction(direction),
        from_number=str(payload.get("from", ""))[:80],
        to_number=str(payload.get("to", ""))[:80],
        queue=str(payload.get("queue", "") or "")[:40],
        agent_id=answering or (users[0] if users and kind != cti.Kind.NEW_CALL else None),
        offered_to=tuple(users) if kind == cti.Kind.NEW_CALL else (),
        cause=str(payload.get("cause", "") or "")[:40],
        payload={k: v for k, v in payload.items() if k != "token"},
    )
    cti.ingest(session, event, source="zammad")
    return JSONResponse({})


# --- the agent ----------------------------------------------------------------------------------------


def _agent_read(agent: Agent) -> AgentRead:
    return AgentRead.model_validate(agent)


@router.get("/agent", response_model=AgentRead)
def my_state(session: SessionDep, actor: Requires(USE)) -> AgentRead:
    """My call-center state (offline until I log in)."""
    return _agent_read(agents.refresh(session, agents.get(session, actor.user.id)))


@router.post("/agent/login", response_model=AgentRead)
def login(session: SessionDep, actor: Requires(USE), body: AgentLogin) -> AgentRead:
    """Log in to my queues (签入) at an extension; I start not ready."""
    return _agent_read(agents.login(session, actor=actor, extension=body.extension, queue_ids=body.queue_ids))


@router.post("/agent/ready", response_model=AgentRead)
def ready(session: SessionDep, actor: Requires(USE)) -> AgentRead:
    """Ready for calls (示闲); also ends a wrap-up early."""
    return _agent_read(agents.ready(session, actor=actor))


@router.post("/agent/not-ready", response_model=AgentRead)
def not_ready(session: SessionDep, actor: Requires(USE), body: NotReady) -> AgentRead:
    """Not ready (示忙), with a reason."""
    return _agent_read(agents.not_ready(session, actor=actor, reason=body.reason))


@router.post("/agent/logout", response_model=AgentRead)
def logout(session: SessionDep, actor: Requires(USE)) -> AgentRead:
    """Log out (签出)."""
    return _agent_read(agents.logout(session, actor=actor))


# --- calls ----------------------------------------------------------------------------------------


@router.get("/calls", response_model=list[CallRead])
def list_calls(
    session: SessionDep,
    actor: Requires(CALLS_VIEW),
    since: datetime | None = None,
    until: datetime | None = None,
    agent_id: int | None = None,
    queue_id: int | None = None,
    direction: str | None = Query(default=None, pattern="^(in|out)$"),
    outcome: str | None = Query(default=None, max_length=12),
    number: str | None = Query(default=None, max_length=80, description="The customer's number"),
    before_id: int | None = None,
    limit: int = Query(default=50, ge=1, le=200),
) -> list[Call]:
    """Calls within my data scope, newest first; page with `before_id` = the last id shown."""
    from kefu.customers import phones

    stmt = access.restrict_calls(select(Call), actor)
    if since is not None:
        stmt = stmt.where(Call.started_at >= aware(since))
    if until is not None:
        stmt = stmt.where(Call.started_at < aware(until))
    if agent_id is not None:
        stmt = stmt.where(Call.agent_id == agent_id)
    if queue_id is not None:
        stmt = stmt.where(Call.queue_id == queue_id)
    if direction is not None:
        stmt = stmt.where(Call.direction == direction)
    if outcome is not None:
        stmt = stmt.where(Call.outcome == outcome)
    if number:
        stmt = stmt.where(Call.remote_key == (phones.lookup_key(number) or number))
    if before_id is not None:
        stmt = stmt.where(Call.id < before_id)
    return list(session.scalars(stmt.order_by(Call.id.desc()).limit(limit)))


@router.get("/calls/{call_pk}", response_model=CallRead)
def get_call(session: SessionDep, actor: CurrentActor, call_pk: int) -> Call:
    """A call I took part in, or one within my data scope."""
    return access.call(session, actor, call_pk)


@router.get("/calls/{call_pk}/pop", response_model=pop.PopRead)
def screen_pop(session: SessionDep, actor: Requires(USE), call_pk: int) -> pop.PopRead:
    """The screen pop (来电弹屏): the caller's customer (or candidates, or unknown), what they entered
    in the IVR, their open tickets and recent contacts, and where to register a ticket from the call."""
    return pop.read(session, actor, access.call(session, actor, call_pk))


@router.post("/calls/{call_pk}/answer", response_model=CallRead)
def answer(session: SessionDep, actor: Requires(USE), call_pk: int) -> Call:
    return control.answer(session, actor=actor, call=access.call(session, actor, call_pk))


@router.post("/calls/{call_pk}/hangup", response_model=CallRead)
def hangup(session: SessionDep, actor: Requires(USE), call_pk: int) -> Call:
    return control.hangup(session, actor=actor, call=access.call(session, actor, call_pk))


@router.post("/calls/{call_pk}/hold", response_model=CallRead)
def hold(session: SessionDep, actor: Requires(USE), call_pk: int) -> Call:
    return control.hold(session, actor=actor, call=access.call(session, actor, call_pk), on=True)


@router.post("/calls/{call_pk}/unhold", response_model=CallRead)
def unhold(session: SessionDep, actor: Requires(USE), call_pk: int) -> Call:
    return control.hold(session, actor=actor, call=access.call(session, actor, call_pk), on=False)


@router.post("/calls/{call_pk}/transfer", response_model=CallRead)
def transfer(session: SessionDep, actor: Requires(USE), call_pk: int, body: Transfer) -> Call:
    """Blind transfer (转接) to a logged-in agent or a queue."""
    call = access.call(session, actor, call_pk)
    return control.transfer(
        session, actor=actor, call=call, to_agent_id=body.to_agent_id, to_queue_id=body.to_queue_id
    )


@router.post("/dial", response_model=CallRead, status_code=201)
def dial(session: SessionDep, actor: Requires(USE), body: Dial) -> Call:
    """Call a number from my extension (外呼)."""
    return control.dial(session, actor=actor, number=body.number)


# --- the agent's event stream -------------------------------------------------------------------------


@router.get("/stream")
async def stream(request: Request, actor: CurrentActor) -> EventSourceResponse:
    """Server-sent events for the agent desk: `ringing` (a call rings at me: the screen pop), `state`
    (my state changed), `call` (a call of mine changed). Agents only (403 for others)."""
    if not actor.can(USE):  # checked here, not by a gate: a stream that never ends tests badly
        raise PermissionDenied()
    desk = _DeskFilter(actor.user.id)

    async def generate() -> AsyncIterator[dict[str, str]]:
        async for event in events.hub.subscribe(_DeskFilter.TYPES, accept=desk):
            name = _DeskFilter.TYPES[event.type]
            yield {"event": name, "data": json.dumps(event.data, ensure_ascii=False)}

    return EventSourceResponse(generate(), ping=15)


class _DeskFilter:
    """Which events an agent's desk stream takes: calls ringing at the agent, the agent's own state
    changes, and updates of the calls it has seen (or that name the agent). Applied by the events
    hub at delivery, in publication order, so the calls followed are known before their updates."""

    TYPES = {cti.CALL_RINGING: "ringing", agents.AGENT_STATE: "state", cti.CALL_UPDATED: "call"}

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.calls: set[int] = set()

    def __call__(self, event: events.Event) -> bool:
        data = event.data
        if event.type == cti.CALL_RINGING:
            if not event.reaches(self.user_id):
                return False
            self.calls.add(int(data["call"]))
            return True
        if event.type == agents.AGENT_STATE:
            if data.get("user_id") != self.user_id:
                return False
            if data.get("call"):
                self.calls.add(int(data["call"]))
            return True
        return data.get("call") in self.calls or data.get("agent_id") == self.user_id
