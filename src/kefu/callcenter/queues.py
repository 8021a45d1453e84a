"""Queues and skills (队列与技能, CC-2): the administration of what routing reads.

A queue has a strategy, a department, who routes it (the PBX, or kefu's ACD), wrap-up, a service
level, a maximum wait, an overflow (after N seconds to another queue; never in a cycle: acd's check),
priorities of customer tiers, its members and the skills it requires at minimum levels. A skill is
a code and a name; an agent has a level 1..10 in each of their skills.

Deleting a queue that calls (or a campaign) reference is refused: disable it instead, so that call
records and statistics keep their queue. Deleting a skill that a queue requires is refused too
(its requirement would silently vanish from routing); an agent's levels go with the skill.
Every change is audited under `callcenter.config`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.callcenter import acd, routing
from kefu.callcenter.models import (
    Agent,
    AgentSkill,
    Call,
    CallQueue,
    Campaign,
    QueueMember,
    QueueSkill,
    QueueStrategy,
    Skill,
)
from kefu.callcenter.permissions import CONFIG_EDIT
from kefu.core import clock
from kefu.core.errors import Conflict, FieldError, FieldErrors, NotFound, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.org.config import dictionary
from kefu.org.models import Department, User
from kefu.tickets.setup.service.common import CODE_RE

FUNCTION = "callcenter.config"
TIERS = "customer_tier"
ROUTINGS = (routing.PBX, routing.KEFU)

REQUIRED = lazy("This field is required")
CODE_FORMAT = lazy("Use a letter first, then letters, digits, '_' or '-'")
CODE_TAKEN = lazy("This code is already in use")
CHOOSE = lazy("Choose one of the offered values")
TOO_LONG = lazy("At most %(max)s characters")
BETWEEN = lazy("Between %(low)s and %(high)s")
OVERFLOW_PAIR = lazy("Give both the overflow queue and the seconds before overflowing")
OVERFLOW_SELF = lazy("A queue cannot overflow to itself")
OVERFLOW_KEFU = lazy("A queue routed by kefu overflows only to another queue routed by kefu")
OVERFLOW_TARGET = lazy("Queue %(queue)s routed by kefu overflows to this queue")
UNKNOWN_USER = lazy("Unknown or inactive user %(id)s")
UNKNOWN_SKILL = lazy("Unknown skill %(id)s")
TWICE = lazy("Listed twice: %(id)s")
UNKNOWN_TIER = lazy("Not a customer tier: %(tier)s")
QUEUE_USED = lazy("Calls or campaigns refer to this queue; disable it instead")
QUEUE_IS_TARGET = lazy("Queue %(queue)s overflows to this queue")
SKILL_REQUIRED = lazy("Queue %(queue)s requires this skill; remove it there first or disable the skill")

QUEUE_FIELDS = (
    "code",
    "name",
    "strategy",
    "department_id",
    "routing",
    "wrap_up_seconds",
    "service_level_seconds",
    "service_level_target",
    "max_wait_seconds",
    "overflow_after_seconds",
    "overflow_queue_id",
    "tier_priority",
    "enabled",
)


def _require(actor: Actor) -> None:
    if not actor.can(CONFIG_EDIT):
        raise PermissionDenied()


def _text(errors: list[FieldError], data: Mapping[str, Any], field: str, max_len: int) -> str:
    value = str(data.get(field) or "").strip()
    if not value:
        errors.append(FieldError(field, REQUIRED))
    elif len(value) > max_len:
        errors.append(FieldError(field, TOO_LONG, max=max_len))
    return value


def _code(
    errors: list[FieldError], session: Session, data: Mapping[str, Any], model: Any, current_id: int | None
) -> str:
    code = str(data.get("code") or "").strip()
    if not code:
        errors.append(FieldError("code", REQUIRED))
    elif not CODE_RE.fullmatch(code):
        errors.append(FieldError("code", CODE_FORMAT))
    else:
        clash = session.scalar(select(model.id).where(model.code == code))
        if clash is not None and clash != current_id:
            errors.append(FieldError("code", CODE_TAKEN))
    return code


def _int(
    errors: list[FieldError], data: Mapping[str, Any], field: str, low: int, high: int, *, optional: bool
) -> int | None:
    raw = data.get(field)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if optional:
            return None
        errors.append(FieldError(field, REQUIRED))
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        errors.append(FieldError(field, BETWEEN, low=low, high=high))
        return None
    if not low <= value <= high:
        errors.append(FieldError(field, BETWEEN, low=low, high=high))
        return None
    return value


def _bool(value: Any, default: bool = True) -> bool:
    if value is None:
        return default
    return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "on", "yes")


# --- skills -------------------------------------------------------------------------------------------


def list_skills(session: Session) -> list[Skill]:
    return list(session.scalars(select(Skill).order_by(Skill.code)))


def get_skill(session: Session, skill_id: int) -> Skill:
    skill = session.get(Skill, skill_id)
    if skill is None:
        raise NotFound()
    return skill


def _clean_skill(session: Session, data: Mapping[str, Any], current: Skill | None) -> dict[str, Any]:
    errors: list[FieldError] = []
    values = {
        "code": _code(errors, session, data, Skill, current.id if current else None),
        "name": _text(errors, data, "name", 100),
        "enabled": _bool(data.get("enabled")),
    }
    if errors:
        raise FieldErrors(errors)
    return values


def create_skill(session: Session, *, actor: Actor, data: Mapping[str, Any]) -> Skill:
    _require(actor)
    values = _clean_skill(session, data, None)
    skill = Skill(**values, created_at=clock.now())
    session.add(skill)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="callcenter.skill.create",
        function=FUNCTION,
        target=skill,
        target_label=f"{skill.code} {skill.name}",
        after={k: str(v) for k, v in values.items()},
    )
    return skill


def update_skill(session: Session, *, actor: Actor, skill: Skill, data: Mapping[str, Any]) -> Skill:
    _require(actor)
    values = _clean_skill(session, data, skill)
    before = {k: str(getattr(skill, k)) for k in values}
    for name, value in values.items():
        setattr(skill, name, value)
    session.flush()
    after = {k: str(getattr(skill, k)) for k in values}
    audit.record(
        session,
        actor=actor,
        action="callcenter.skill.update",
        function=FUNCTION,
        target=skill,
        target_label=f"{skill.code} {skill.name}",
        before={k: v for k, v in before.items() if after[k] != v},
        after={k: v for k, v in after.items() if before[k] != v},
    )
    return skill


def delete_skill(session: Session, *, actor: Actor, skill: Skill) -> None:
    """Delete a skill no queue requires (agents' levels in it go with it)."""
    _require(actor)
    queue = session.scalar(
        select(CallQueue)
        .join(QueueSkill, QueueSkill.queue_id == CallQueue.id)
        .where(QueueSkill.skill_id == skill.id)
    )
    if queue is not None:
        raise Conflict(SKILL_REQUIRED, queue=queue.code)
    audit.record(
        session,
        actor=actor,
        action="callcenter.skill.delete",
        function=FUNCTION,
        target=skill,
        target_label=f"{skill.code} {skill.name}",
    )
    for row in session.scalars(select(AgentSkill).where(AgentSkill.skill_id == skill.id)):
        session.delete(row)
    session.delete(skill)
    session.flush()


# --- agents' skill levels -----------------------------------------------------------------------------


def agent_skills(session: Session, user_id: int) -> dict[int, int]:
    """skill id -> level of the user (every skill, enabled or not)."""
    rows = session.execute(select(AgentSkill.skill_id, AgentSkill.level).where(AgentSkill.user_id == user_id))
    return {skill_id: level for skill_id, level in rows}


def set_agent_skills(
    session: Session, *, actor: Actor, user: User, levels: Mapping[Any, Any]
) -> dict[int, int]:
    """Replace the user's skill levels with `levels` (skill id -> 1..10; a skill left out is removed)."""
    _require(actor)
    errors: list[FieldError] = []
    known = {s.id for s in list_skills(session)}
    wanted: dict[int, int] = {}
    for raw_id, raw_level in levels.items():
        try:
            skill_id = int(str(raw_id))
        except ValueError:
            skill_id = -1
        field = f"levels.{raw_id}"
        if skill_id not in known:
            errors.append(FieldError(field, UNKNOWN_SKILL, id=raw_id))
            continue
        level = _int(errors, {field: raw_level}, field, acd.MIN_LEVEL, acd.MAX_LEVEL, optional=False)
        if level is not None:
            wanted[skill_id] = level
    if errors:
        raise FieldErrors(errors)
    before = agent_skills(session, user.id)
    rows = {r.skill_id: r for r in session.scalars(select(AgentSkill).where(AgentSkill.user_id == user.id))}
    for skill_id, row in rows.items():
        if skill_id not in wanted:
            session.delete(row)
    for skill_id, level in wanted.items():
        if skill_id in rows:
            rows[skill_id].level = level
        else:
            session.add(AgentSkill(user_id=user.id, skill_id=skill_id, level=level))
    session.flush()
    if before != wanted:
        audit.record(
            session,
            actor=actor,
            action="callcenter.agent_skills.update",
            function=FUNCTION,
            target_type="app_user",
            target_id=user.id,
            target_label=user.name,
            before={str(k): v for k, v in sorted(before.items())},
            after={str(k): v for k, v in sorted(wanted.items())},
        )
    return wanted


# --- queues -------------------------------------------------------------------------------------------


def list_queues(session: Session) -> list[CallQueue]:
    return list(session.scalars(select(CallQueue).order_by(CallQueue.code)))


def get_queue(session: Session, queue_id: int) -> CallQueue:
    queue = session.get(CallQueue, queue_id)
    if queue is None:
        raise NotFound()
    return queue


def members(session: Session, queue_id: int) -> list[int]:
    return list(
        session.scalars(
            select(QueueMember.user_id).where(QueueMember.queue_id == queue_id).order_by(QueueMember.user_id)
        )
    )


def skills_of(session: Session, queue_id: int) -> dict[int, int]:
    """skill id -> minimum level the queue requires."""
    rows = session.execute(
        select(QueueSkill.skill_id, QueueSkill.min_level).where(QueueSkill.queue_id == queue_id)
    )
    return {skill_id: level for skill_id, level in rows}


def _clean_queue(session: Session, data: Mapping[str, Any], current: CallQueue | None) -> dict[str, Any]:
    errors: list[FieldError] = []
    v: dict[str, Any] = {
        "code": _code(errors, session, data, CallQueue, current.id if current else None),
        "name": _text(errors, data, "name", 100),
    }
    strategy = str(data.get("strategy") or QueueStrategy.LONGEST_IDLE.value)
    if strategy not in {s.value for s in QueueStrategy}:
        errors.append(FieldError("strategy", CHOOSE))
    v["strategy"] = strategy
    routing_by = str(data.get("routing") or routing.PBX)
    if routing_by not in ROUTINGS:
        errors.append(FieldError("routing", CHOOSE))
    v["routing"] = routing_by
    department_id = data.get("department_id")
    if department_id in (None, ""):
        v["department_id"] = None
    else:
        dept = _int(errors, data, "department_id", 1, 2**62, optional=True)
        if dept is not None and session.get(Department, dept) is None:
            errors.append(FieldError("department_id", CHOOSE))
        v["department_id"] = dept
    v["wrap_up_seconds"] = _int(
        errors,
        {"wrap_up_seconds": data.get("wrap_up_seconds", 30)},
        "wrap_up_seconds",
        0,
        3600,
        optional=False,
    )
    v["service_level_seconds"] = _int(
        errors,
        {"service_level_seconds": data.get("service_level_seconds", 20)},
        "service_level_seconds",
        1,
        3600,
        optional=False,
    )
    target = data.get("service_level_target", 0.8)
    try:
        v["service_level_target"] = float(str(target))
        if not 0 < v["service_level_target"] <= 1:
            raise ValueError
    except ValueError:
        errors.append(FieldError("service_level_target", BETWEEN, low="0", high="1"))
    v["max_wait_seconds"] = _int(errors, data, "max_wait_seconds", 1, 86400, optional=True)
    v["overflow_after_seconds"] = _int(errors, data, "overflow_after_seconds", 0, 86400, optional=True)
    v["overflow_queue_id"] = _int(errors, data, "overflow_queue_id", 1, 2**62, optional=True)
    v["enabled"] = _bool(data.get("enabled"))
    v["tier_priority"] = _tiers(session, errors, data.get("tier_priority") or {})
    v["member_ids"] = _members(session, errors, data.get("member_ids") or [])
    v["skills"] = _skills(session, errors, data.get("skills") or [])
    if not any(e.field.startswith("overflow") for e in errors):
        _check_overflow(session, errors, v, current)
    if current is not None and v["routing"] != routing.KEFU:
        source = session.scalar(
            select(CallQueue).where(
                CallQueue.overflow_queue_id == current.id,
                CallQueue.routing == routing.KEFU,
                CallQueue.id != current.id,
            )
        )
        if source is not None:
            errors.append(FieldError("routing", OVERFLOW_TARGET, queue=source.code))
    if errors:
        raise FieldErrors(errors)
    return v


def _tiers(session: Session, errors: list[FieldError], raw: Any) -> dict[str, int]:
    if not isinstance(raw, Mapping):
        errors.append(FieldError("tier_priority", CHOOSE))
        return {}
    if not raw:
        return {}
    tiers = {code for code, _label in tier_items(session, include_disabled=True)}
    found: dict[str, int] = {}
    for tier, priority in raw.items():
        field = f"tier_priority.{tier}"
        if tier not in tiers:
            errors.append(FieldError(field, UNKNOWN_TIER, tier=tier))
            continue
        if priority in (None, ""):
            continue
        value = _int(errors, {field: priority}, field, -1000, 1000, optional=False)
        if value is not None:
            found[str(tier)] = value
    return found


def tier_items(session: Session, *, include_disabled: bool = False) -> list[tuple[str, str]]:
    """(code, label) of the `customer_tier` dictionary (none while it is missing)."""
    try:
        return [
            (i.code, i.label) for i in dictionary.items(session, TIERS, include_disabled=include_disabled)
        ]
    except NotFound:
        return []


def _members(session: Session, errors: list[FieldError], raw: Any) -> list[int]:
    ids: list[int] = []
    for item in raw if isinstance(raw, list | tuple) else [raw]:
        try:
            user_id = int(str(item))
        except ValueError:
            errors.append(FieldError("member_ids", UNKNOWN_USER, id=item))
            continue
        if user_id in ids:
            errors.append(FieldError("member_ids", TWICE, id=user_id))
            continue
        ids.append(user_id)
    if ids:
        active = set(session.scalars(select(User.id).where(User.id.in_(ids), User.is_active.is_(True))))
        for user_id in ids:
            if user_id not in active:
                errors.append(FieldError("member_ids", UNKNOWN_USER, id=user_id))
    return ids


def _skills(session: Session, errors: list[FieldError], raw: Any) -> dict[int, int]:
    """[{skill_id, min_level}] -> {skill id: min level}."""
    found: dict[int, int] = {}
    known = {s.id for s in list_skills(session)}
    for n, item in enumerate(raw if isinstance(raw, list | tuple) else []):
        field = f"skills.{n}"
        item = item if isinstance(item, Mapping) else {}
        skill_id = _int(errors, {field: item.get("skill_id")}, field, 1, 2**62, optional=False)
        if skill_id is None:
            continue
        if skill_id not in known:
            errors.append(FieldError(field, UNKNOWN_SKILL, id=skill_id))
            continue
        if skill_id in found:
            errors.append(FieldError(field, TWICE, id=skill_id))
            continue
        level_field = f"{field}.min_level"
        level = _int(
            errors,
            {level_field: item.get("min_level", 1)},
            level_field,
            acd.MIN_LEVEL,
            acd.MAX_LEVEL,
            optional=False,
        )
        if level is not None:
            found[skill_id] = level
    return found


def _check_overflow(
    session: Session, errors: list[FieldError], v: dict[str, Any], current: CallQueue | None
) -> None:
    after, target_id = v["overflow_after_seconds"], v["overflow_queue_id"]
    if (after is None) != (target_id is None):
        errors.append(
            FieldError("overflow_queue_id" if target_id is None else "overflow_after_seconds", OVERFLOW_PAIR)
        )
        return
    if target_id is None:
        return
    target = session.get(CallQueue, target_id)
    if target is None:
        errors.append(FieldError("overflow_queue_id", CHOOSE))
        return
    if current is not None and target.id == current.id:
        errors.append(FieldError("overflow_queue_id", OVERFLOW_SELF))
        return
    if v["routing"] == routing.KEFU and target.routing != routing.KEFU:
        errors.append(FieldError("overflow_queue_id", OVERFLOW_KEFU))
        return
    # acd's own check of the whole graph, with this queue as it would be saved.
    code = v["code"] or "?"
    edges = {
        q.code: q.overflow_queue_id for q in list_queues(session) if current is None or q.id != current.id
    }
    codes = {q.id: q.code for q in list_queues(session)}
    graph = [(c, codes.get(t) if t else None) for c, t in edges.items()]
    graph.append((code, target.code))
    problem = routing.overflow_error(graph)
    if problem is not None:
        errors.append(FieldError("overflow_queue_id", problem.message, **problem.params))


def _save(session: Session, queue: CallQueue, v: dict[str, Any]) -> None:
    for name in QUEUE_FIELDS:
        setattr(queue, name, v[name])
    queue.updated_at = clock.now()
    session.flush()
    current_members = {
        m.user_id: m for m in session.scalars(select(QueueMember).where(QueueMember.queue_id == queue.id))
    }
    for user_id, row in current_members.items():
        if user_id not in v["member_ids"]:
            session.delete(row)
    session.add_all(
        QueueMember(queue_id=queue.id, user_id=u) for u in v["member_ids"] if u not in current_members
    )
    current_skills = {
        s.skill_id: s for s in session.scalars(select(QueueSkill).where(QueueSkill.queue_id == queue.id))
    }
    for skill_id, required in current_skills.items():
        if skill_id not in v["skills"]:
            session.delete(required)
    for skill_id, level in v["skills"].items():
        if skill_id in current_skills:
            current_skills[skill_id].min_level = level
        else:
            session.add(QueueSkill(queue_id=queue.id, skill_id=skill_id, min_level=level))
    session.flush()


def _state(session: Session, queue: CallQueue) -> dict[str, Any]:
    found = {k: getattr(queue, k) for k in QUEUE_FIELDS}
    found["member_ids"] = members(session, queue.id)
    found["skills"] = {str(k): v for k, v in sorted(skills_of(session, queue.id).items())}
    return {
        k: v if isinstance(v, int | float | bool | str | list | dict) or v is None else str(v)
        for k, v in found.items()
    }


def create_queue(session: Session, *, actor: Actor, data: Mapping[str, Any]) -> CallQueue:
    _require(actor)
    v = _clean_queue(session, data, None)
    now = clock.now()
    queue = CallQueue(created_at=now, updated_at=now)
    session.add(queue)
    _save(session, queue, v)
    audit.record(
        session,
        actor=actor,
        action="callcenter.queue.create",
        function=FUNCTION,
        target=queue,
        target_label=f"{queue.code} {queue.name}",
        after=_state(session, queue),
    )
    return queue


def update_queue(session: Session, *, actor: Actor, queue: CallQueue, data: Mapping[str, Any]) -> CallQueue:
    """Change a queue; calls waiting in it keep their place and are re-prioritised by the new rules."""
    _require(actor)
    v = _clean_queue(session, data, queue)
    before = _state(session, queue)
    _save(session, queue, v)
    after = _state(session, queue)
    audit.record(
        session,
        actor=actor,
        action="callcenter.queue.update",
        function=FUNCTION,
        target=queue,
        target_label=f"{queue.code} {queue.name}",
        before={k: x for k, x in before.items() if after[k] != x},
        after={k: x for k, x in after.items() if before[k] != x},
    )
    return queue


def delete_queue(session: Session, *, actor: Actor, queue: CallQueue) -> None:
    """Delete a queue no call or campaign refers to and no queue overflows to; else disable it."""
    _require(actor)
    used = session.scalar(select(Call.id).where(Call.queue_id == queue.id).limit(1)) or session.scalar(
        select(Campaign.id).where(Campaign.queue_id == queue.id).limit(1)
    )
    if used is not None:
        raise Conflict(QUEUE_USED)
    source = session.scalar(
        select(CallQueue).where(CallQueue.overflow_queue_id == queue.id, CallQueue.id != queue.id)
    )
    if source is not None:
        raise Conflict(QUEUE_IS_TARGET, queue=source.code)
    audit.record(
        session,
        actor=actor,
        action="callcenter.queue.delete",
        function=FUNCTION,
        target=queue,
        target_label=f"{queue.code} {queue.name}",
        before=_state(session, queue),
    )
    for agent in session.scalars(select(Agent).where(Agent.state != "offline")):
        if queue.id in (agent.queue_ids or []):
            agent.queue_ids = [q for q in agent.queue_ids if q != queue.id]
    session.delete(queue)
    session.flush()
