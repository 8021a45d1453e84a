"""Reading running flows: task boxes (my todo, my pool, done by me …), a task's action area, and the
tracking view of a flow (its path and history with durations against the limits)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kefu.core.permissions import Actor
from kefu.org.calendar import service as calendar
from kefu.org.models import User
from kefu.workflow.models import FlowVersion
from kefu.workflow.runtime import access, sync
from kefu.workflow.runtime.models import (
    ACTIVE_TASK,
    EventAction,
    FlowEvent,
    FlowInstance,
    FlowTask,
    TaskStatus,
)
from kefu.workflow.runtime.schemas import (
    EventRead,
    InstanceDetail,
    InstanceRead,
    StateRead,
    TaskDetail,
    TaskListItem,
    TaskRead,
)

DISPATCH = "workflow.tasks.dispatch"


def list_tasks(
    session: Session, actor: Actor, *, box: str, limit: int = 50, offset: int = 0
) -> list[TaskListItem]:
    """One box of tasks: `todo` (assigned to me, open), `pool` (grab tasks I may claim), `done`
    (completed by me), `unassigned` (waiting for dispatch, within my dispatch scope), `all` (every
    task I may see)."""
    uid = actor.user.id
    stmt = select(FlowTask, FlowInstance.subject_type, FlowInstance.subject_id).join(
        FlowInstance, FlowInstance.id == FlowTask.instance_id
    )
    order: Any = FlowTask.id
    if box == "todo":
        stmt = stmt.where(FlowTask.assignee_id == uid, FlowTask.status.in_(ACTIVE_TASK))
    elif box == "pool":
        stmt = stmt.where(
            FlowTask.dispatch == "grab",
            FlowTask.assignee_id.is_(None),
            FlowTask.status.in_(ACTIVE_TASK),
            access.is_candidate(uid),
        )
    elif box == "done":
        stmt = stmt.where(FlowTask.completed_by_id == uid, FlowTask.status == TaskStatus.COMPLETED)
        order = FlowTask.id.desc()
    elif box == "unassigned":
        stmt = access.restrict_tasks(stmt, actor, DISPATCH).where(
            FlowTask.assignee_id.is_(None), FlowTask.status.in_(ACTIVE_TASK)
        )
    else:
        stmt = access.restrict_tasks(stmt, actor)
        order = FlowTask.id.desc()
    stmt = stmt.options(selectinload(FlowTask.candidates)).order_by(order).limit(limit).offset(offset)
    return [
        TaskListItem.model_validate({**_task_dict(task), "subject_type": st, "subject_id": sid})
        for task, st, sid in session.execute(stmt).tuples()
    ]


def _task_dict(task: FlowTask) -> dict[str, Any]:
    return TaskRead.model_validate(task).model_dump()


def task_detail(session: Session, task: FlowTask) -> TaskDetail:
    instance = task.instance
    version = instance.version
    raw = (version.nodes or {}).get(task.node_id, {})
    states = [StateRead(**s) for s in raw.get("states", [])] or [StateRead(code="done", label="done")]
    return TaskDetail.model_validate(
        {
            **_task_dict(task),
            "subject_type": instance.subject_type,
            "subject_id": instance.subject_id,
            "states": states,
            "instance_status": instance.status,
            "template_code": version.template.code,
            "version_number": version.number,
        }
    )


def instance_detail(session: Session, instance: FlowInstance) -> InstanceDetail:
    """The tracking view: status, the path so far, every task and the history with durations."""
    version: FlowVersion = instance.version
    nodes = version.nodes or {}
    tasks = list(
        session.scalars(
            select(FlowTask)
            .where(FlowTask.instance_id == instance.id)
            .options(selectinload(FlowTask.candidates))
            .order_by(FlowTask.id)
        )
    )
    by_id = {t.id: t for t in tasks}
    rows = session.execute(
        select(FlowEvent, User.name)
        .outerjoin(User, User.id == FlowEvent.actor_id)
        .where(FlowEvent.instance_id == instance.id)
        .order_by(FlowEvent.id)
    ).tuples()
    events = []
    for ev, actor_name in rows:
        item = EventRead(
            id=ev.id,
            task_id=ev.task_id,
            node_id=ev.node_id,
            node_name=str(nodes.get(ev.node_id, {}).get("name", ev.node_id)),
            action=ev.action,
            actor_id=ev.actor_id,
            actor_name=actor_name or "",
            user_id=ev.user_id,
            state=ev.state,
            comment=ev.comment,
            at=ev.at,
        )
        task = by_id.get(ev.task_id) if ev.task_id is not None else None
        if ev.action is EventAction.COMPLETED and task is not None and task.completed_at is not None:
            item.duration_seconds = int((task.completed_at - task.created_at).total_seconds())
            worked = calendar.working_time_between(session, task.created_at, task.completed_at)
            item.working_seconds = int(worked.total_seconds())
            item.overdue = task.due_at is not None and task.completed_at > task.due_at
        events.append(item)
    path = sync.restore(instance).history() if instance.state_json else []
    return InstanceDetail.model_validate(
        {
            **InstanceRead.model_validate(instance).model_dump(),
            "template_code": version.template.code,
            "version_number": version.number,
            "path": path,
            "tasks": [TaskRead.model_validate(t) for t in tasks],
            "events": events,
        }
    )


def instances_of(session: Session, actor: Actor, subject_type: str, subject_id: int) -> list[FlowInstance]:
    """The flows of one subject that `actor` may see, oldest first."""
    stmt = select(FlowInstance).where(
        FlowInstance.subject_type == subject_type,
        FlowInstance.subject_id == subject_id,
        access.instance_condition(actor),
    )
    return list(session.scalars(stmt.order_by(FlowInstance.id)))
