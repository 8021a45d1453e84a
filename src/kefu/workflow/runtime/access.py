"""Which tasks and flows an actor may see; missing and forbidden look the same (404).

Everyone sees their own tasks: assigned to them, offered to them as a candidate, or completed by
them. The data scope of a `workflow.tasks.*` permission widens that: `department` adds the tasks of
the actor's department, `subtree` those of its subtree, `all` every task. A flow is visible when the
actor started it, may see one of its tasks, or its initiator's department is within the scope.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, exists, or_, select, true
from sqlalchemy.orm import Session, joinedload

from kefu.core.errors import NotFound
from kefu.core.permissions import Actor, subtree_range
from kefu.org.models import DataScope, Department
from kefu.workflow.runtime.models import FlowInstance, FlowTask, FlowTaskCandidate

VIEW = "workflow.tasks.view"


def is_candidate(user_id: int) -> ColumnElement[bool]:
    return exists().where(FlowTaskCandidate.task_id == FlowTask.id, FlowTaskCandidate.user_id == user_id)


def own_tasks(actor: Actor) -> ColumnElement[bool]:
    uid = actor.user.id
    return or_(FlowTask.assignee_id == uid, FlowTask.completed_by_id == uid, is_candidate(uid))


def scope_condition(actor: Actor, permission: str, department: Any) -> ColumnElement[bool] | None:
    """The rows `permission`'s scope reaches through the `department` column (None: only one's own)."""
    scope = actor.scope(permission)
    if scope is None or scope is DataScope.OWN:
        return None
    if scope is DataScope.ALL:
        return true()
    if scope is DataScope.SUBTREE and actor.department_path:
        subtree = select(Department.id).where(*subtree_range(actor.department_path))
        return department.in_(subtree)
    if actor.user.department_id is None:
        return None
    return department == actor.user.department_id


def task_condition(actor: Actor, permission: str = VIEW) -> ColumnElement[bool]:
    extra = scope_condition(actor, permission, FlowTask.department_id)
    return own_tasks(actor) if extra is None else or_(own_tasks(actor), extra)


def restrict_tasks(stmt: Select[Any], actor: Actor, permission: str = VIEW) -> Select[Any]:
    """Limit a FlowTask query to the tasks `actor` may see under `permission` (own tasks always)."""
    return stmt.where(task_condition(actor, permission))


def instance_condition(actor: Actor, permission: str = VIEW) -> ColumnElement[bool]:
    visible_task = (
        select(FlowTask.id)
        .where(FlowTask.instance_id == FlowInstance.id, task_condition(actor, permission))
        .exists()
    )
    extra = scope_condition(actor, permission, FlowInstance.initiator_department_id)
    mine = or_(FlowInstance.initiator_id == actor.user.id, visible_task)
    return mine if extra is None else or_(mine, extra)


def load_task(session: Session, actor: Actor, task_id: int, permission: str = VIEW) -> FlowTask:
    """The task if `actor` may see it (own, or within the scope of `permission`), else 404."""
    stmt = (
        select(FlowTask)
        .where(FlowTask.id == task_id)
        .options(joinedload(FlowTask.candidates), joinedload(FlowTask.instance))
    )
    task = session.scalars(restrict_tasks(stmt, actor, permission)).unique().first()
    if task is None:
        raise NotFound()
    return task


def load_instance(session: Session, actor: Actor, instance_id: int, permission: str = VIEW) -> FlowInstance:
    """The flow if `actor` may see it under `permission`, else 404."""
    stmt = select(FlowInstance).where(FlowInstance.id == instance_id, instance_condition(actor, permission))
    instance = session.scalars(stmt).first()
    if instance is None:
        raise NotFound()
    return instance
