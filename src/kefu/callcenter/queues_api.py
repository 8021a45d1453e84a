"""Queues, skills and agents' skill levels over HTTP (callcenter.config), and the routing request of a
PBX that delegates the choice of agent to kefu (callcenter.cti.report)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from kefu.callcenter import queues, routing
from kefu.callcenter.models import CallQueue
from kefu.callcenter.permissions import CONFIG_EDIT, CONFIG_VIEW, REPORT
from kefu.callcenter.queues_schemas import (
    AgentSkillsIn,
    AgentSkillsRead,
    QueueIn,
    QueueRead,
    QueueSkillIn,
    RouteIn,
    RouteOut,
    SkillIn,
    SkillRead,
)
from kefu.core.errors import NotFound
from kefu.org.models import User
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/callcenter", tags=["callcenter"])
Reader = Requires(CONFIG_VIEW, CONFIG_EDIT)
Editor = Requires(CONFIG_EDIT)


def _read(session: Session, queue: CallQueue) -> QueueRead:
    read = QueueRead.model_validate(queue)
    read.member_ids = queues.members(session, queue.id)
    read.skills = [
        QueueSkillIn(skill_id=s, min_level=level)
        for s, level in sorted(queues.skills_of(session, queue.id).items())
    ]
    return read


@router.get("/queues", response_model=list[QueueRead])
def queue_list(session: SessionDep, actor: Reader) -> list[QueueRead]:
    """Every queue with its rules, members and required skills."""
    return [_read(session, q) for q in queues.list_queues(session)]


@router.post("/queues", response_model=QueueRead, status_code=201)
def queue_create(session: SessionDep, actor: Editor, body: QueueIn) -> QueueRead:
    return _read(session, queues.create_queue(session, actor=actor, data=body.model_dump()))


@router.get("/queues/{queue_id}", response_model=QueueRead)
def queue_get(session: SessionDep, actor: Reader, queue_id: int) -> QueueRead:
    return _read(session, queues.get_queue(session, queue_id))


@router.put("/queues/{queue_id}", response_model=QueueRead)
def queue_update(session: SessionDep, actor: Editor, queue_id: int, body: QueueIn) -> QueueRead:
    queue = queues.get_queue(session, queue_id)
    return _read(session, queues.update_queue(session, actor=actor, queue=queue, data=body.model_dump()))


@router.delete("/queues/{queue_id}", status_code=204)
def queue_delete(session: SessionDep, actor: Editor, queue_id: int) -> Response:
    """Delete a queue no call or campaign refers to (409 otherwise: disable it instead)."""
    queues.delete_queue(session, actor=actor, queue=queues.get_queue(session, queue_id))
    return Response(status_code=204)


@router.get("/skills", response_model=list[SkillRead])
def skill_list(session: SessionDep, actor: Reader) -> list[SkillRead]:
    return [SkillRead.model_validate(s) for s in queues.list_skills(session)]


@router.post("/skills", response_model=SkillRead, status_code=201)
def skill_create(session: SessionDep, actor: Editor, body: SkillIn) -> SkillRead:
    return SkillRead.model_validate(queues.create_skill(session, actor=actor, data=body.model_dump()))


@router.get("/skills/{skill_id}", response_model=SkillRead)
def skill_get(session: SessionDep, actor: Reader, skill_id: int) -> SkillRead:
    return SkillRead.model_validate(queues.get_skill(session, skill_id))


@router.put("/skills/{skill_id}", response_model=SkillRead)
def skill_update(session: SessionDep, actor: Editor, skill_id: int, body: SkillIn) -> SkillRead:
    skill = queues.get_skill(session, skill_id)
    return SkillRead.model_validate(
        queues.update_skill(session, actor=actor, skill=skill, data=body.model_dump())
    )


@router.delete("/skills/{skill_id}", status_code=204)
def skill_delete(session: SessionDep, actor: Editor, skill_id: int) -> Response:
    """Delete a skill no queue requires (409 otherwise); agents' levels in it go with it."""
    queues.delete_skill(session, actor=actor, skill=queues.get_skill(session, skill_id))
    return Response(status_code=204)


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


@router.get("/agent-skills/{user_id}", response_model=AgentSkillsRead)
def agent_skills_get(session: SessionDep, actor: Reader, user_id: int) -> AgentSkillsRead:
    """An agent's skill levels (skill id -> 1..10)."""
    user = _user(session, user_id)
    return AgentSkillsRead(user_id=user.id, levels=queues.agent_skills(session, user.id))


@router.put("/agent-skills/{user_id}", response_model=AgentSkillsRead)
def agent_skills_set(
    session: SessionDep, actor: Editor, user_id: int, body: AgentSkillsIn
) -> AgentSkillsRead:
    """Replace an agent's skill levels."""
    user = _user(session, user_id)
    levels = queues.set_agent_skills(session, actor=actor, user=user, levels=body.levels)
    return AgentSkillsRead(user_id=user.id, levels=levels)


@router.post("/route", response_model=RouteOut)
def route(session: SessionDep, actor: Requires(REPORT), body: RouteIn) -> RouteOut:
    """A PBX that delegates routing asks which agent to ring for a caller in a queue routed by kefu:
    `agent_id` and `extension` (kefu counts the agent as ringing for the call from now on), or `wait`
    with the caller's position and an estimated wait — ask again, or wait for kefu's CTI adapter to
    offer the call. Asking again for the same call answers the same agent."""
    decision = routing.route(
        session, call_id=body.call_id, queue_code=body.queue, from_number=body.from_, tier=body.tier
    )
    if decision.wait:
        return RouteOut(
            call=decision.call.id,
            queue=decision.queue.code,
            wait=not decision.timed_out,
            position=decision.position,
            estimated_wait_seconds=decision.estimated_wait_seconds,
            timed_out=decision.timed_out,
        )
    return RouteOut(
        call=decision.call.id,
        queue=decision.queue.code,
        agent_id=decision.agent_id,
        extension=decision.extension,
    )
