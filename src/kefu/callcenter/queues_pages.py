"""Pages of queues and skills (队列 / 技能, CC-2): the queue list and editor (strategy, routing,
service level, overflow, tier priorities, members, required skills), the skills, and an agent's
skill levels. Every form posts to the same service functions as the JSON API; bad input shows the
form again with the message beside the field."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kefu.callcenter import queues, routing
from kefu.callcenter.models import CallQueue, QueueStrategy, Skill
from kefu.callcenter.permissions import CONFIG_EDIT, CONFIG_VIEW
from kefu.core import i18n
from kefu.core.errors import FieldErrors, KefuError, NotFound
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.org.models import Department, User
from kefu.web import nav
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import FormDep, optional_int
from kefu.web.templating import render

router = APIRouter(prefix="/callcenter", include_in_schema=False)
Reader = Requires(CONFIG_VIEW, CONFIG_EDIT)
Editor = Requires(CONFIG_EDIT)

nav.register(
    nav.NavItem("callcenter", "Queues", "/callcenter/queues", "bi-diagram-3", (CONFIG_VIEW, CONFIG_EDIT), 50)
)
nav.register(
    nav.NavItem(
        "callcenter", "Skills", "/callcenter/skills", "bi-mortarboard", (CONFIG_VIEW, CONFIG_EDIT), 55
    )
)

STRATEGY_LABELS = {
    QueueStrategy.LONGEST_IDLE: lazy("Longest idle"),
    QueueStrategy.ROUND_ROBIN: lazy("Round robin"),
    QueueStrategy.FEWEST_CALLS: lazy("Fewest calls"),
    QueueStrategy.SKILL_WEIGHTED: lazy("Skill weighted"),
}
ROUTING_LABELS = {
    routing.PBX: lazy("The PBX picks the agent"),
    routing.KEFU: lazy("kefu's ACD picks the agent"),
}


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _errors(session: Session, exc: KefuError) -> dict[str, str]:
    session.rollback()
    if isinstance(exc, FieldErrors):
        return exc.by_field(i18n.gettext)
    return {getattr(exc, "field", "_"): exc.render(i18n.gettext)}


def _shown_again(exc: KefuError) -> bool:
    return exc.status_code in (409, 422)


# --- queues -------------------------------------------------------------------------------------------


@router.get("/queues")
def queue_list(request: Request, session: SessionDep, actor: Reader) -> Response:
    return _queue_list(request, session, actor)


def _queue_list(
    request: Request, session: Session, actor: Actor, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    rows = queues.list_queues(session)
    counts = {q.id: len(queues.members(session, q.id)) for q in rows}
    context = {
        "rows": rows,
        "codes": {q.id: q.code for q in rows},
        "member_counts": counts,
        "departments": dict(session.execute(select(Department.id, Department.name)).tuples().all()),
        "strategies": {k.value: i18n.gettext(v) for k, v in STRATEGY_LABELS.items()},
        "routings": {k: i18n.gettext(v) for k, v in ROUTING_LABELS.items()},
        "can_edit": actor.can(CONFIG_EDIT),
        "errors": errors or {},
    }
    return render(request, "callcenter/queues.html", context, status_code=status)


def _options(session: Session, queue: CallQueue | None) -> dict[str, Any]:
    return {
        "strategies": [(k.value, i18n.gettext(v)) for k, v in STRATEGY_LABELS.items()],
        "routings": [(k, i18n.gettext(v)) for k, v in ROUTING_LABELS.items()],
        "departments": [
            (d.id, d.name) for d in session.scalars(select(Department).order_by(Department.name))
        ],
        "targets": [
            (q.id, f"{q.code} {q.name}")
            for q in queues.list_queues(session)
            if queue is None or q.id != queue.id
        ],
        "tiers": queues.tier_items(session),
        "users": [
            (u.id, u.name)
            for u in session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.name))
        ],
        "skills": queues.list_skills(session),
    }


def _queue_values(session: Session, queue: CallQueue) -> dict[str, Any]:
    values: dict[str, Any] = {
        k: "" if getattr(queue, k) is None else str(getattr(queue, k))
        for k in queues.QUEUE_FIELDS
        if k not in ("tier_priority", "enabled")
    }
    values["enabled"] = "1" if queue.enabled else ""
    values["tiers"] = {k: str(v) for k, v in (queue.tier_priority or {}).items()}
    values["member_ids"] = [str(u) for u in queues.members(session, queue.id)]
    values["skills"] = {str(k): str(v) for k, v in queues.skills_of(session, queue.id).items()}
    return values


def _editor(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    queue: CallQueue | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    options = _options(session, queue)
    snapshot = (
        routing.snapshot(session, queue) if queue is not None and queue.routing == routing.KEFU else None
    )
    context = {
        "queue": queue,
        "values": values,
        "errors": errors or {},
        "can_edit": actor.can(CONFIG_EDIT),
        "snapshot": snapshot,
        "user_names": dict(options["users"]),
        **options,
    }
    return render(request, "callcenter/queue_form.html", context, status_code=status)


def _form_data(form: FormData, skills: list[Skill]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the service takes, what the form shows again)."""
    plain = [k for k in queues.QUEUE_FIELDS if k not in ("tier_priority", "enabled")]
    data: dict[str, Any] = {k: _text(form, k) or None for k in plain}
    data["enabled"] = _text(form, "enabled") == "1"
    tiers = {key[5:]: _text(form, key) for key in form if key.startswith("tier_")}
    data["tier_priority"] = {k: v for k, v in tiers.items() if v}
    data["member_ids"] = [v for v in form.getlist("member_ids") if isinstance(v, str) and v]
    levels = {str(s.id): _text(form, f"skill_{s.id}") for s in skills}
    data["skills"] = [{"skill_id": k, "min_level": v} for k, v in levels.items() if v]
    shown: dict[str, Any] = {k: _text(form, k) for k in plain}
    shown["enabled"] = "1" if data["enabled"] else ""
    shown["tiers"], shown["member_ids"], shown["skills"] = tiers, data["member_ids"], levels
    return data, shown


def _skill_errors(errors: dict[str, str], data: dict[str, Any]) -> dict[str, str]:
    """`skills.N(.min_level)` (the service's index) -> `skill_<id>` (the form's field)."""
    found = {}
    for key, message in errors.items():
        if key.startswith("skills."):
            index = optional_int(key.split(".")[1])
            if index is not None and index < len(data["skills"]):
                key = f"skill_{data['skills'][index]['skill_id']}"
        elif key.startswith("tier_priority."):
            key = "tier_" + key.split(".", 1)[1]
        found[key] = message
    return found


@router.get("/queues/new")
def queue_new(request: Request, session: SessionDep, actor: Editor) -> Response:
    values = {
        "strategy": QueueStrategy.LONGEST_IDLE.value,
        "routing": routing.PBX,
        "wrap_up_seconds": "30",
        "service_level_seconds": "20",
        "service_level_target": "0.8",
        "enabled": "1",
    }
    return _editor(request, session, actor, queue=None, values=values)


@router.post("/queues/new")
def queue_create(request: Request, session: SessionDep, actor: Editor, form: FormDep) -> Response:
    data, shown = _form_data(form, queues.list_skills(session))
    try:
        queue = queues.create_queue(session, actor=actor, data=data)
    except KefuError as exc:
        if not _shown_again(exc):
            raise
        errors = _skill_errors(_errors(session, exc), data)
        return _editor(
            request, session, actor, queue=None, values=shown, errors=errors, status=exc.status_code
        )
    return RedirectResponse(f"/callcenter/queues/{queue.id}", status_code=303)


@router.get("/queues/{queue_id}")
def queue_edit(request: Request, session: SessionDep, actor: Reader, queue_id: int) -> Response:
    """The editor (read-only for readers), with the calls waiting and the agents ready, in order."""
    queue = queues.get_queue(session, queue_id)
    return _editor(request, session, actor, queue=queue, values=_queue_values(session, queue))


@router.post("/queues/{queue_id}")
def queue_save(
    request: Request, session: SessionDep, actor: Editor, queue_id: int, form: FormDep
) -> Response:
    queue = queues.get_queue(session, queue_id)
    data, shown = _form_data(form, queues.list_skills(session))
    try:
        queues.update_queue(session, actor=actor, queue=queue, data=data)
    except KefuError as exc:
        if not _shown_again(exc):
            raise
        errors = _skill_errors(_errors(session, exc), data)
        queue = queues.get_queue(session, queue_id)
        return _editor(
            request, session, actor, queue=queue, values=shown, errors=errors, status=exc.status_code
        )
    return RedirectResponse(f"/callcenter/queues/{queue_id}?saved=1", status_code=303)


@router.post("/queues/{queue_id}/delete")
def queue_delete(request: Request, session: SessionDep, actor: Editor, queue_id: int) -> Response:
    try:
        queues.delete_queue(session, actor=actor, queue=queues.get_queue(session, queue_id))
    except KefuError as exc:
        if not _shown_again(exc):
            raise
        return _queue_list(request, session, actor, errors=_errors(session, exc), status=exc.status_code)
    return RedirectResponse("/callcenter/queues", status_code=303)


# --- skills -------------------------------------------------------------------------------------------


def _skill_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    editing: int | None = None,
    status: int = 200,
) -> Response:
    context = {
        "rows": queues.list_skills(session),
        "values": values or {"enabled": "1"},
        "errors": errors or {},
        "editing": editing,
        "can_edit": actor.can(CONFIG_EDIT),
    }
    return render(request, "callcenter/skills.html", context, status_code=status)


@router.get("/skills")
def skill_list(request: Request, session: SessionDep, actor: Reader) -> Response:
    return _skill_page(request, session, actor)


def _skill_data(form: FormData) -> dict[str, Any]:
    return {
        "code": _text(form, "code"),
        "name": _text(form, "name"),
        "enabled": _text(form, "enabled") == "1",
    }


@router.post("/skills/new")
def skill_create(request: Request, session: SessionDep, actor: Editor, form: FormDep) -> Response:
    data = _skill_data(form)
    try:
        queues.create_skill(session, actor=actor, data=data)
    except KefuError as exc:
        if not _shown_again(exc):
            raise
        values = {**data, "enabled": "1" if data["enabled"] else ""}
        return _skill_page(
            request, session, actor, values=values, errors=_errors(session, exc), status=exc.status_code
        )
    return RedirectResponse("/callcenter/skills", status_code=303)


@router.get("/skills/agents")
def agent_skills(
    request: Request, session: SessionDep, actor: Reader, user_id: str | None = None
) -> Response:
    """Pick a user, then set their level (1..10) in each skill."""
    return _agent_page(request, session, actor, user_id=optional_int(user_id))


def _agent_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    user_id: int | None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    user = session.get(User, user_id) if user_id is not None else None
    if user_id is not None and user is None:
        raise NotFound()
    levels = queues.agent_skills(session, user.id) if user is not None else {}
    context = {
        "user": user,
        "users": [
            (u.id, u.name)
            for u in session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.name))
        ],
        "skills": queues.list_skills(session),
        "values": values if values is not None else {str(k): str(v) for k, v in levels.items()},
        "errors": errors or {},
        "can_edit": actor.can(CONFIG_EDIT),
    }
    return render(request, "callcenter/skill_agents.html", context, status_code=status)


@router.post("/skills/agents/{user_id}")
def agent_skills_save(
    request: Request, session: SessionDep, actor: Editor, user_id: int, form: FormDep
) -> Response:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    skills = queues.list_skills(session)
    values = {str(s.id): _text(form, f"level_{s.id}") for s in skills}
    try:
        queues.set_agent_skills(
            session, actor=actor, user=user, levels={k: v for k, v in values.items() if v}
        )
    except KefuError as exc:
        if not _shown_again(exc):
            raise
        errors = {
            "level_" + k.split(".", 1)[1] if k.startswith("levels.") else k: m
            for k, m in _errors(session, exc).items()
        }
        return _agent_page(
            request, session, actor, user_id=user_id, values=values, errors=errors, status=exc.status_code
        )
    return RedirectResponse(f"/callcenter/skills/agents?user_id={user_id}&saved=1", status_code=303)


@router.get("/skills/{skill_id}")
def skill_edit(request: Request, session: SessionDep, actor: Reader, skill_id: int) -> Response:
    skill = queues.get_skill(session, skill_id)
    values = {"code": skill.code, "name": skill.name, "enabled": "1" if skill.enabled else ""}
    return _skill_page(request, session, actor, values=values, editing=skill.id)


@router.post("/skills/{skill_id}")
def skill_save(
    request: Request, session: SessionDep, actor: Editor, skill_id: int, form: FormDep
) -> Response:
    skill = queues.get_skill(session, skill_id)
    data = _skill_data(form)
    try:
        queues.update_skill(session, actor=actor, skill=skill, data=data)
    except KefuError as exc:
        if not _shown_again(exc):
            raise
        values = {**data, "enabled": "1" if data["enabled"] else ""}
        return _skill_page(
            request,
            session,
            actor,
            values=values,
            errors=_errors(session, exc),
            editing=skill_id,
            status=exc.status_code,
        )
    return RedirectResponse("/callcenter/skills", status_code=303)


@router.post("/skills/{skill_id}/delete")
def skill_delete(request: Request, session: SessionDep, actor: Editor, skill_id: int) -> Response:
    try:
        queues.delete_skill(session, actor=actor, skill=queues.get_skill(session, skill_id))
    except KefuError as exc:
        if not _shown_again(exc):
            raise
        return _skill_page(request, session, actor, errors=_errors(session, exc), status=exc.status_code)
    return RedirectResponse("/callcenter/skills", status_code=303)
