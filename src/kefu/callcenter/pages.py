"""The agent desk (座席工作台): state and login, the call at hand with its controls and screen pop,
dialling, and the agent's recent calls. The page listens to the agent's event stream and reloads
its panel when a call rings, the agent's state changes or a call of theirs changes.

Every button posts to a page route that calls the same service function as the JSON API and
answers with the panel again (with the message of a refused action beside it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kefu.callcenter import access, agents, control, pop
from kefu.callcenter.models import Agent, AgentState, Call, CallQueue
from kefu.callcenter.permissions import CALLS_VIEW, MONITOR, USE
from kefu.core import i18n
from kefu.core.errors import KefuError, NotFound
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.org.config import dictionary
from kefu.org.models import User
from kefu.web import nav
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import FormDep, field_errors, optional_int
from kefu.web.templating import render

router = APIRouter(prefix="/callcenter", include_in_schema=False)
nav.section("callcenter", "Call center", 15)
nav.register(nav.NavItem("callcenter", "Agent desk", "/callcenter/desk", "bi-telephone", (USE,), 10))
nav.register(nav.NavItem("callcenter", "Monitor", "/callcenter/monitor", "bi-display", (MONITOR,), 20))
nav.register(nav.NavItem("callcenter", "Wallboard", "/callcenter/wallboard", "bi-tv", (MONITOR,), 30))
nav.register(
    nav.NavItem("callcenter", "Call statistics", "/callcenter/stats", "bi-bar-chart", (CALLS_VIEW,), 40)
)

STATE_LABELS = {
    AgentState.OFFLINE: lazy("Logged out"),
    AgentState.READY: lazy("Ready"),
    AgentState.NOT_READY: lazy("Not ready"),
    AgentState.RINGING: lazy("Ringing"),
    AgentState.TALKING: lazy("On a call"),
    AgentState.WRAP_UP: lazy("Wrap-up"),
}
CALL_STATE_LABELS = {
    "new": lazy("In the IVR"),
    "queued": lazy("Waiting in queue"),
    "ringing": lazy("Ringing"),
    "talking": lazy("Talking"),
    "held": lazy("Call on hold"),
    "ended": lazy("Ended"),
}
OUTCOME_LABELS = {
    "answered": lazy("Call answered"),
    "abandoned": lazy("Abandoned"),
    "missed": lazy("Missed"),
    "unanswered": lazy("Not reached"),
    "ivr": lazy("Self-service"),
}
RECENT_CALLS = 10


def _panel_context(session: Session, actor: Actor, errors: dict[str, str] | None = None) -> dict[str, Any]:
    agent = agents.refresh(session, agents.get(session, actor.user.id))
    member_of = agents.member_queue_ids(session, actor.user.id)
    queues = {q.id: q for q in session.scalars(select(CallQueue).where(CallQueue.id.in_(member_of)))}
    call = session.get(Call, agent.call_id) if agent.call_id else None
    screen = pop.build(session, actor, call) if call is not None else None
    recent = session.scalars(
        select(Call).where(Call.agent_id == actor.user.id).order_by(Call.id.desc()).limit(RECENT_CALLS)
    ).all()
    locale = i18n.get_locale()
    reasons = [(i.code, i.text(locale)) for i in dictionary.items(session, agents.REASONS)]
    colleagues: list[Any] = []
    if call is not None and agent.state == AgentState.TALKING:
        colleagues = list(
            session.execute(
                select(User.id, User.name, Agent.extension)
                .join(Agent, Agent.user_id == User.id)
                .where(Agent.state != AgentState.OFFLINE.value, User.id != actor.user.id)
                .order_by(User.name)
            ).all()
        )
    return {
        "agent": agent,
        "state_label": STATE_LABELS[AgentState(agent.state)],
        "queues": [queues[i] for i in member_of if i in queues],
        "logged_queues": [queues[i].name for i in agent.queue_ids or [] if i in queues],
        "call": call,
        "pop": screen,
        "recent": recent,
        "reasons": reasons,
        "reason_labels": dict(reasons),
        "colleagues": colleagues,
        "all_queues": session.scalars(
            select(CallQueue).where(CallQueue.enabled.is_(True)).order_by(CallQueue.name)
        ).all(),
        "call_states": CALL_STATE_LABELS,
        "outcomes": OUTCOME_LABELS,
        "errors": errors or {},
        "extension": agent.extension or actor.user.phone_ext,
    }


@router.get("/desk")
def desk(request: Request, session: SessionDep, actor: Requires(USE)) -> Response:
    return render(request, "callcenter/desk.html", _panel_context(session, actor))


@router.get("/desk/panel")
def panel(request: Request, session: SessionDep, actor: Requires(USE)) -> Response:
    return render(request, "callcenter/_panel.html", _panel_context(session, actor))


def _call(session: Session, actor: Actor, form: FormData) -> Call:
    call_pk = optional_int(form.get("call"))
    if call_pk is None:
        raise NotFound()
    return access.call(session, actor, call_pk)


ACTIONS: dict[str, Callable[[Session, Actor, FormData], object]] = {
    "login": lambda s, a, f: agents.login(
        s,
        actor=a,
        extension=str(f.get("extension") or ""),
        queue_ids=[q for q in (optional_int(v) for v in f.getlist("queue_ids")) if q is not None],
    ),
    "ready": lambda s, a, f: agents.ready(s, actor=a),
    "not-ready": lambda s, a, f: agents.not_ready(s, actor=a, reason=str(f.get("reason") or "")),
    "logout": lambda s, a, f: agents.logout(s, actor=a),
    "answer": lambda s, a, f: control.answer(s, actor=a, call=_call(s, a, f)),
    "hangup": lambda s, a, f: control.hangup(s, actor=a, call=_call(s, a, f)),
    "hold": lambda s, a, f: control.hold(s, actor=a, call=_call(s, a, f), on=True),
    "unhold": lambda s, a, f: control.hold(s, actor=a, call=_call(s, a, f), on=False),
    "transfer": lambda s, a, f: control.transfer(
        s,
        actor=a,
        call=_call(s, a, f),
        to_agent_id=optional_int(f.get("to_agent_id")),
        to_queue_id=optional_int(f.get("to_queue_id")),
    ),
    "dial": lambda s, a, f: control.dial(s, actor=a, number=str(f.get("number") or "")),
}


@router.post("/desk/{action}")
def act(request: Request, session: SessionDep, actor: Requires(USE), action: str, form: FormDep) -> Response:
    """One button of the desk; the answer is the panel (422/409 with the message when refused)."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise NotFound()
    try:
        handler(session, actor, form)
    except KefuError as exc:
        if exc.status_code not in (409, 422):
            raise
        session.rollback()
        context = _panel_context(session, actor, field_errors(exc))
        return render(request, "callcenter/_panel.html", context, status_code=exc.status_code)
    session.flush()
    return render(request, "callcenter/_panel.html", _panel_context(session, actor))
