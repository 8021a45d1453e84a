"""Running flows (流程运行): one function per business action; each checks, changes, audits and
defers its side effects to commit, in the caller's transaction.

Instances belong to a subject (`subject_type`, `subject_id`), so tickets and any later domain run on
the same runtime. `actor=None` means the system (time-limit escalations). Services never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock
from kefu.core.errors import Conflict, FieldError, PermissionDenied
from kefu.core.permissions import Actor
from kefu.org.models import User
from kefu.workflow import permissions as _permissions  # noqa: F401 — registers workflow.tasks
from kefu.workflow.engine import load_spec
from kefu.workflow.models import FlowVersion, VersionStatus
from kefu.workflow.runtime import assignment, limits, messages, sync
from kefu.workflow.runtime.models import (
    EventAction,
    FlowInstance,
    FlowTask,
    InstanceStatus,
    TaskStatus,
)

FUNCTION = "workflow.tasks"
HANDLE = "workflow.tasks.handle"
DISPATCH = "workflow.tasks.dispatch"
MANAGE = "workflow.tasks.manage"
START = "workflow.tasks.start"
MAX_COMMENT = 4000


def _need(actor: Actor | None, permission: str) -> None:
    if actor is not None and not actor.can(permission):
        raise PermissionDenied()


def _running(instance: FlowInstance) -> None:
    if instance.status is InstanceStatus.SUSPENDED:
        raise Conflict("The flow is suspended")
    if not instance.is_active:
        raise Conflict("The flow has ended")


def _comment(comment: str | None) -> str:
    return (comment or "").strip()[:MAX_COMMENT]


@sync.guarded
def start_instance(
    session: Session,
    *,
    version: FlowVersion,
    subject_type: str,
    subject_id: int,
    data: Mapping[str, Any] | None,
    actor: Actor,
    limit: str | None = None,
) -> FlowInstance:
    """Start a flow on the published `version` for a subject; its first tasks are assigned at once.

    `limit` (ISO-8601, working time) bounds the whole flow (`due_at`).
    """
    _need(actor, START)
    if version.status is not VersionStatus.PUBLISHED or not version.spec_json:
        raise FieldError("version_id", "Only a published flow version can be started")
    subject_type = (subject_type or "").strip()
    if not subject_type or len(subject_type) > 40:
        raise FieldError("subject_type", "This field is required")
    values = sync.check_data(data or {})
    now = clock.now()
    instance = FlowInstance(
        version=version,
        subject_type=subject_type,
        subject_id=subject_id,
        status=InstanceStatus.RUNNING,
        initiator_id=actor.user.id,
        initiator_department_id=actor.user.department_id,
        started_at=now,
    )
    if limit:
        instance.due_at = limits.due_and_warning(session, start=now, limit=limit, warn_at=1.0)[0]
    session.add(instance)
    session.flush()
    spec = load_spec(version.spec_json)
    values.update(
        sync.countersign_data(session, nodes=spec.nodes, instance=instance, supplied=values, current={})
    )
    flow = sync.run(lambda: sync.ENGINE.start(version.spec_json, values))
    sync.event(session, instance, EventAction.STARTED, actor=actor, department_id=actor.user.department_id)
    sync.persist(session, instance, flow, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="workflow.start",
        function=FUNCTION,
        target=instance,
        target_label=instance.label,
        summary=f"{version.template.code} v{version.number}",
    )
    return instance


@sync.guarded
def complete_task(
    session: Session,
    *,
    task: FlowTask,
    state: str | None,
    comment: str | None,
    data: Mapping[str, Any] | None,
    actor: Actor | None,
) -> FlowTask:
    """Complete `task` with one of its node's states (WF-3); the flow runs on to its next tasks.

    Only the assignee may complete (a grab task is claimed first); `actor=None` is the system
    taking an escalation path. 422 naming `state` for a state the node does not declare.
    """
    _need(actor, HANDLE)
    instance = task.instance
    _running(instance)
    if not task.is_active:
        raise Conflict("The task is no longer open")
    if actor is not None and task.assignee_id != actor.user.id:
        if task.assignee_id is None and task.dispatch == "grab" and actor.user.id in task.candidate_ids:
            raise Conflict("Claim the task before completing it")
        raise PermissionDenied("Only the person the task is assigned to can complete it")
    flow = sync.restore(instance)
    node = flow.node(task.node_id)
    state = state or (node.state_codes[0] if len(node.state_codes) == 1 else None)
    if state not in node.state_codes:
        raise FieldError("state", "Choose one of: %(states)s", states=", ".join(node.state_codes))
    values = sync.check_data(data or {})
    ready = next((r for r in flow.ready_tasks() if r.task_id == task.task_id), None)
    if ready is None:
        raise Conflict("Someone else changed this flow meanwhile; reload and try again")
    values.update(
        sync.countersign_data(
            session, nodes=flow.spec.nodes, instance=instance, supplied=values, current=ready.data
        )
    )
    text = _comment(comment)
    sync.run(lambda: flow.complete(task.task_id, state=state, data=values, opinion=text or None))
    now = clock.now()
    task.status = TaskStatus.COMPLETED
    task.completed_at = now
    task.state = state
    task.comment = text
    task.completed_by_id = actor.user.id if actor is not None else None
    department = actor.user.department_id if actor is not None else task.department_id
    sync.event(
        session,
        instance,
        EventAction.COMPLETED,
        actor=actor,
        task=task,
        state=state,
        comment=text,
        department_id=department,
    )
    sync.persist(session, instance, flow, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="task.complete",
        function=FUNCTION,
        target=task,
        summary=f"{instance.label} {task.node_id} → {state}",
    )
    return task


@sync.guarded
def claim_task(session: Session, *, task: FlowTask, actor: Actor) -> FlowTask:
    """Take a task from the grab pool (抢单); the first claim wins, a later one gets 409."""
    _need(actor, HANDLE)
    _running(task.instance)
    if task.dispatch != "grab" or actor.user.id not in task.candidate_ids:
        raise PermissionDenied("Only candidates of a grab task can claim it")
    if not task.is_active or task.assignee_id is not None:
        raise Conflict("Someone else has already taken this task")
    task.assignee_id = actor.user.id
    task.department_id = actor.user.department_id or task.department_id
    task.status = TaskStatus.CLAIMED
    task.claimed_at = clock.now()
    sync.event(session, task.instance, EventAction.CLAIMED, actor=actor, task=task, user_id=actor.user.id)
    sync.flush(session)
    audit.record(
        session, actor=actor, action="task.claim", function=FUNCTION, target=task, summary=task.instance.label
    )
    return task


@sync.guarded
def assign_task(
    session: Session, *, task: FlowTask, user_id: int, comment: str | None, actor: Actor | None
) -> FlowTask:
    """Manual dispatch (手动分派) of an unassigned task, or reassignment (改派) of an assigned one."""
    _need(actor, DISPATCH)
    _running(task.instance)
    if not task.is_active:
        raise Conflict("The task is no longer open")
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise FieldError("user_id", "Choose an active user")
    previous = task.assignee_id
    if previous == user.id:
        raise FieldError("user_id", "The task is already assigned to this user")
    task.assignee_id = user.id
    task.department_id = user.department_id or task.department_id
    action = EventAction.ASSIGNED if previous is None else EventAction.REASSIGNED
    sync.event(
        session, task.instance, action, actor=actor, task=task, user_id=user.id, comment=_comment(comment)
    )
    sync.flush(session)
    messages.assigned(session, task, sender=actor)
    audit.record(
        session,
        actor=actor,
        action="task.assign",
        function=FUNCTION,
        target=task,
        before={"assignee_id": previous},
        after={"assignee_id": user.id},
        summary=_comment(comment),
    )
    return task


@sync.guarded
def return_to_node(
    session: Session, *, instance: FlowInstance, node_id: str, comment: str | None, actor: Actor
) -> FlowInstance:
    """Send the flow back to an earlier user task (退回); it goes to whoever handled that node before."""
    _need(actor, MANAGE)
    _running(instance)
    flow = sync.restore(instance)
    try:
        flow.return_to(node_id)
    except ValueError:
        raise FieldError("node_id", "The flow has not passed through this node") from None
    text = _comment(comment)
    sync.event(session, instance, EventAction.RETURNED, actor=actor, node_id=node_id, comment=text)
    prefer = {node_id: assignment.last_handler(session, instance, node_id)}
    sync.persist(session, instance, flow, actor=actor, prefer=prefer)
    audit.record(
        session,
        actor=actor,
        action="instance.return",
        function=FUNCTION,
        target=instance,
        target_label=instance.label,
        summary=f"→ {node_id} {text}".strip(),
    )
    return instance


@sync.guarded
def suspend_instance(
    session: Session, *, instance: FlowInstance, comment: str | None, actor: Actor
) -> FlowInstance:
    """Pause the flow: no task can be completed and time limits stop until it is resumed."""
    _need(actor, MANAGE)
    _running(instance)
    instance.status = InstanceStatus.SUSPENDED
    instance.suspended_at = clock.now()
    sync.event(session, instance, EventAction.SUSPENDED, actor=actor, comment=_comment(comment))
    sync.flush(session)
    audit.record(
        session,
        actor=actor,
        action="instance.suspend",
        function=FUNCTION,
        target=instance,
        target_label=instance.label,
        summary=_comment(comment),
    )
    return instance


@sync.guarded
def resume_instance(
    session: Session, *, instance: FlowInstance, comment: str | None, actor: Actor
) -> FlowInstance:
    """Go on after a suspension; due and warning times move by the working time spent suspended."""
    _need(actor, MANAGE)
    if instance.status is not InstanceStatus.SUSPENDED or instance.suspended_at is None:
        raise Conflict("The flow is not suspended")
    paused, now = instance.suspended_at, clock.now()
    for task in sync.active_tasks(session, instance):
        task.due_at = limits.shift(session, task.due_at, paused_at=paused, resumed_at=now)
        task.warn_at = limits.shift(session, task.warn_at, paused_at=paused, resumed_at=now)
    instance.due_at = limits.shift(session, instance.due_at, paused_at=paused, resumed_at=now)
    instance.status = InstanceStatus.RUNNING
    instance.suspended_at = None
    sync.event(session, instance, EventAction.RESUMED, actor=actor, comment=_comment(comment))
    sync.flush(session)
    audit.record(
        session,
        actor=actor,
        action="instance.resume",
        function=FUNCTION,
        target=instance,
        target_label=instance.label,
        summary=_comment(comment),
    )
    return instance


@sync.guarded
def cancel_instance(
    session: Session, *, instance: FlowInstance, comment: str | None, actor: Actor
) -> FlowInstance:
    """End the flow without completing it (the subject was withdrawn); open tasks are cancelled."""
    _need(actor, MANAGE)
    if not instance.is_active:
        raise Conflict("The flow has ended")
    flow = sync.restore(instance)
    sync.run(flow.cancel)
    instance.suspended_at = None
    sync.event(session, instance, EventAction.CANCELLED, actor=actor, comment=_comment(comment))
    sync.persist(session, instance, flow, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="instance.cancel",
        function=FUNCTION,
        target=instance,
        target_label=instance.label,
        summary=_comment(comment),
    )
    return instance
