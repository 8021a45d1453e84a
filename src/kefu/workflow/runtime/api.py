"""Running flows over HTTP: task boxes and actions, starting and steering flows, the tracking view."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy import select

from kefu.core.errors import FieldError
from kefu.org.models import Department
from kefu.web.deps import Requires, SessionDep
from kefu.workflow import flows
from kefu.workflow.models import FlowTemplate, FlowVersion
from kefu.workflow.runtime import access, queries, service
from kefu.workflow.runtime.schemas import (
    Box,
    InstanceAction,
    InstanceDetail,
    InstanceRead,
    InstanceReturn,
    InstanceStart,
    TaskAssign,
    TaskComplete,
    TaskDetail,
    TaskHandBack,
    TaskListItem,
    TaskTransfer,
)

router = APIRouter(prefix="/api/v1/workflow", tags=["workflow"])

VIEW, HANDLE, DISPATCH, MANAGE, START = (
    "workflow.tasks.view",
    service.HANDLE,
    service.DISPATCH,
    service.MANAGE,
    service.START,
)
ANY_TASK_RIGHT = (VIEW, HANDLE, DISPATCH, MANAGE, START)


@router.get("/tasks", response_model=list[TaskListItem])
def list_tasks(
    session: SessionDep,
    actor: Requires(*ANY_TASK_RIGHT),
    box: Box = "todo",
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0),
) -> list[TaskListItem]:
    """My tasks: `todo` (assigned to me), `pool` (grab tasks I may claim), `done` (completed by me),
    `unassigned` (waiting for dispatch), `all` (every task I may see)."""
    return queries.list_tasks(session, actor, box=box, limit=limit, offset=offset)


@router.get("/tasks/{task_id}", response_model=TaskDetail)
def get_task(session: SessionDep, actor: Requires(*ANY_TASK_RIGHT), task_id: int) -> TaskDetail:
    """A task with the states the handler can choose."""
    return queries.task_detail(session, access.load_task(session, actor, task_id))


@router.post("/tasks/{task_id}/claim", response_model=TaskDetail)
def claim_task(session: SessionDep, actor: Requires(HANDLE), task_id: int) -> TaskDetail:
    """Take a task from the grab pool (抢单); 409 when someone was faster."""
    task = service.claim_task(session, task=access.load_task(session, actor, task_id), actor=actor)
    return queries.task_detail(session, task)


@router.post("/tasks/{task_id}/complete", response_model=TaskDetail)
def complete_task(
    session: SessionDep, actor: Requires(HANDLE), task_id: int, body: TaskComplete
) -> TaskDetail:
    """Complete my task with one of its states; the flow moves on."""
    task = service.complete_task(
        session,
        task=access.load_task(session, actor, task_id),
        state=body.state,
        comment=body.comment,
        data=body.data,
        actor=actor,
    )
    return queries.task_detail(session, task)


@router.post("/tasks/{task_id}/assign", response_model=TaskDetail)
def assign_task(session: SessionDep, actor: Requires(DISPATCH), task_id: int, body: TaskAssign) -> TaskDetail:
    """Dispatch a task to a person (手动分派), or reassign it (改派)."""
    task = service.assign_task(
        session,
        task=access.load_task(session, actor, task_id, DISPATCH),
        user_id=body.user_id,
        comment=body.comment,
        actor=actor,
    )
    return queries.task_detail(session, task)


@router.post("/tasks/{task_id}/transfer", response_model=TaskDetail)
def transfer_task(
    session: SessionDep, actor: Requires(HANDLE, DISPATCH), task_id: int, body: TaskTransfer
) -> TaskDetail:
    """Transfer (转办) my task — or, as a dispatcher, any task in my scope — to a person or a
    department, with a reason."""
    task = access.load_task(session, actor, task_id)
    service.transfer_task(
        session,
        task=task,
        user_id=body.user_id,
        department_id=body.department_id,
        comment=body.comment,
        actor=actor,
    )
    return queries.task_detail(session, task)


@router.post("/tasks/{task_id}/hand-back", response_model=TaskDetail)
def hand_back(session: SessionDep, actor: Requires(HANDLE), task_id: int, body: TaskHandBack) -> TaskDetail:
    """Hand my task back (退办) to whoever had it before, or to the previous node's handler."""
    task = access.load_task(session, actor, task_id)
    service.hand_back(session, task=task, comment=body.comment, actor=actor)
    return queries.task_detail(session, task)


def _version(session: SessionDep, body: InstanceStart) -> FlowVersion:
    if body.version_id is not None:
        version = session.get(FlowVersion, body.version_id)
        if version is None:
            raise FieldError("version_id", "No such flow version")
        return version
    template = session.scalars(select(FlowTemplate).where(FlowTemplate.code == body.template_code)).first()
    version = flows.current_published(template) if template is not None else None
    if version is None:
        raise FieldError("template_code", "No published flow with this code")
    return version


@router.post("/instances", response_model=InstanceDetail, status_code=201)
def start_instance(session: SessionDep, actor: Requires(START), body: InstanceStart) -> InstanceDetail:
    """Start a flow on a subject (e.g. subject_type "ticket", subject_id 42)."""
    instance = service.start_instance(
        session,
        version=_version(session, body),
        subject_type=body.subject_type,
        subject_id=body.subject_id,
        data=body.data,
        actor=actor,
        limit=body.limit,
        handling_department_id=_department(session, body.handling_department_id),
    )
    return queries.instance_detail(session, instance)


def _department(session: SessionDep, department_id: int | None) -> int | None:
    if department_id is not None and session.get(Department, department_id) is None:
        raise FieldError("handling_department_id", "No such department")
    return department_id


@router.get("/instances", response_model=list[InstanceRead])
def find_instances(
    session: SessionDep, actor: Requires(*ANY_TASK_RIGHT), subject_type: str, subject_id: int
) -> list[InstanceRead]:
    """The flows of one subject that I may see, oldest first."""
    return [
        InstanceRead.model_validate(i) for i in queries.instances_of(session, actor, subject_type, subject_id)
    ]


@router.get("/instances/{instance_id}", response_model=InstanceDetail)
def get_instance(session: SessionDep, actor: Requires(*ANY_TASK_RIGHT), instance_id: int) -> InstanceDetail:
    """The tracking view: status, path, tasks and history with durations against the limits."""
    return queries.instance_detail(session, access.load_instance(session, actor, instance_id))


@router.post("/instances/{instance_id}/return", response_model=InstanceDetail)
def return_instance(
    session: SessionDep, actor: Requires(MANAGE), instance_id: int, body: InstanceReturn
) -> InstanceDetail:
    """Send the flow back to an earlier node (退回)."""
    instance = access.load_instance(session, actor, instance_id, MANAGE)
    service.return_to_node(
        session, instance=instance, node_id=body.node_id, comment=body.comment, actor=actor
    )
    return queries.instance_detail(session, instance)


@router.post("/instances/{instance_id}/suspend", response_model=InstanceDetail)
def suspend_instance(
    session: SessionDep, actor: Requires(MANAGE), instance_id: int, body: InstanceAction | None = None
) -> InstanceDetail:
    """Pause the flow; its time limits stop."""
    instance = access.load_instance(session, actor, instance_id, MANAGE)
    service.suspend_instance(session, instance=instance, comment=body.comment if body else "", actor=actor)
    return queries.instance_detail(session, instance)


@router.post("/instances/{instance_id}/resume", response_model=InstanceDetail)
def resume_instance(
    session: SessionDep, actor: Requires(MANAGE), instance_id: int, body: InstanceAction | None = None
) -> InstanceDetail:
    """Go on after a suspension; due times move by the working time spent suspended."""
    instance = access.load_instance(session, actor, instance_id, MANAGE)
    service.resume_instance(session, instance=instance, comment=body.comment if body else "", actor=actor)
    return queries.instance_detail(session, instance)


@router.post("/instances/{instance_id}/cancel", response_model=InstanceDetail)
def cancel_instance(
    session: SessionDep, actor: Requires(MANAGE), instance_id: int, body: InstanceAction | None = None
) -> InstanceDetail:
    """End the flow without completing it; open tasks are cancelled."""
    instance = access.load_instance(session, actor, instance_id, MANAGE)
    service.cancel_instance(session, instance=instance, comment=body.comment if body else "", actor=actor)
    return queries.instance_detail(session, instance)
