"""Running flows (流程运行): one function per business action; each checks, changes, audits and
defers its side effects to commit, in the caller's transaction.

Instances belong to a subject (`subject_type`, `subject_id`), so tickets and any later domain run on
the same runtime. `actor=None` means the system (time-limit escalations). Services never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock
from kefu.core.errors import Conflict, FieldError, PermissionDenied
from kefu.core.permissions import Actor
from kefu.org.models import Department, User
from kefu.workflow import permissions as _permissions  # noqa: F401 — registers workflow.tasks
from kefu.workflow.engine import load_spec
from kefu.workflow.models import FlowVersion, VersionStatus
from kefu.workflow.runtime import assignment, limits, messages, subjects, sync
from kefu.workflow.runtime.models import (
    EventAction,
    FlowEvent,
    FlowInstance,
    FlowTask,
    FlowTaskCandidate,
    InstanceStatus,
    TaskStatus,
)

FUNCTION = "workflow.tasks"
HANDLE = "workflow.tasks.handle"
DISPATCH = "workflow.tasks.dispatch"
MANAGE = "workflow.tasks.manage"
START = "workflow.tasks.start"
MAX_COMMENT = 4000

# Set while a domain service drives the runtime and writes its own audit row for the same action
# (a ticket's "complete" is one business action, not a ticket row plus a workflow row).
_CALLER_AUDITS: ContextVar[bool] = ContextVar("kefu_workflow_caller_audits", default=False)


@contextmanager
def audited_by_caller() -> Iterator[None]:
    """Within this block the runtime's actions leave the audit trail to the calling domain service."""
    token = _CALLER_AUDITS.set(True)
    try:
        yield
    finally:
        _CALLER_AUDITS.reset(token)


def _audit(session: Session, *, summary: str | Callable[[], str] = "", **kwargs: Any) -> None:
    """`summary` may be a callable, so a summary that needs a load costs nothing when it is not written."""
    if not _CALLER_AUDITS.get():
        audit.record(session, summary=summary() if callable(summary) else summary, **kwargs)


def _need(actor: Actor | None, permission: str, subject_type: str | None = None) -> None:
    """The workflow permission, or the subject domain's equivalent (e.g. `tickets.ticket.handle`
    for a ticket's flow), so a ticket handler needs no separate workflow role."""
    if actor is None or actor.can(permission):
        return
    subject = subjects.get(subject_type) if subject_type else None
    equivalent = subject.permissions.get(permission) if subject is not None else None
    if equivalent is None or not actor.can(equivalent):
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
    handling_department_id: int | None = None,
) -> FlowInstance:
    """Start a flow on the published `version` for a subject; its first tasks are assigned at once.

    `limit` (ISO-8601, working time) bounds the whole flow (`due_at`); `handling_department_id` is
    the department the subject is routed to (the `handling_department` assignment rule).
    """
    _need(actor, START, subject_type)
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
        handling_department_id=handling_department_id,
        started_at=now,
    )
    if limit:
        instance.due_at = limits.due_and_warning(session, start=now, limit=limit, warn_at=1.0)[0]
    spec = load_spec(version.spec_json)
    values.update(sync.countersign_data(session, nodes=spec.nodes, supplied=values))
    source = sync.participants(session, instance)
    flow = sync.run(lambda: sync.ENGINE.start(version.spec_json, values, participants=source))
    sync.store_state(instance, flow)
    session.add(instance)
    session.flush()
    sync.event(session, instance, EventAction.STARTED, actor=actor, department_id=actor.user.department_id)
    sync.persist(session, instance, flow, actor=actor, fresh=True)
    _audit(
        session,
        actor=actor,
        action="workflow.start",
        function=FUNCTION,
        target=instance,
        target_label=instance.label,
        summary=lambda: f"{version.template.code} v{version.number}",
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
    _need(actor, HANDLE, task.instance.subject_type)
    instance = task.instance
    _running(instance)
    if not task.is_active:
        raise Conflict("The task is no longer open")
    if actor is not None and task.assignee_id != actor.user.id:
        if task.assignee_id is None and task.dispatch == "grab" and actor.user.id in task.candidate_ids:
            raise Conflict("Claim the task before completing it")
        raise PermissionDenied("Only the person the task is assigned to can complete it")
    flow = sync.restore(instance, session)
    node = flow.node(task.node_id)
    state = state or (node.state_codes[0] if len(node.state_codes) == 1 else None)
    if state not in node.state_codes:
        raise FieldError("state", "Choose one of: %(states)s", states=", ".join(node.state_codes))
    values = sync.check_data(data or {})
    before = flow.ready_tasks()
    ready = next((r for r in before if r.task_id == task.task_id), None)
    if ready is None:
        raise Conflict("Someone else changed this flow meanwhile; reload and try again")
    values.update(sync.countersign_data(session, nodes=flow.spec.nodes, supplied=values))
    text = _comment(comment)
    sync.run(lambda: flow.complete(task.task_id, state=state, data=values, opinion=text or None))
    now = clock.now()
    task.status = TaskStatus.COMPLETED
    task.completed_at = now
    task.state = state
    task.comment = text
    task.completed_by_id = actor.user.id if actor is not None else None
    department = actor.user.department_id if actor is not None else task.department_id
    completed = sync.event(
        session,
        instance,
        EventAction.COMPLETED,
        actor=actor,
        task=task,
        state=state,
        comment=text,
        department_id=department,
        add=False,  # written together with the next tasks' history
    )
    # The task rows follow the engine's ready tasks: completing the only one leaves no open row.
    sync.persist(
        session, instance, flow, actor=actor, active=[] if len(before) == 1 else None, recorded=[completed]
    )
    _audit(
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
    """Take a task from the grab pool (抢单; the first claim wins, a later one gets 409), or accept
    (签收) a task assigned to me — both mark the moment the handler took it on."""
    _need(actor, HANDLE, task.instance.subject_type)
    _running(task.instance)
    if not task.is_active:
        raise Conflict("The task is no longer open")
    if task.assignee_id == actor.user.id:
        if task.claimed_at is not None:
            raise Conflict("You have already accepted this task")
    elif task.dispatch != "grab" or actor.user.id not in task.candidate_ids:
        raise PermissionDenied("Only candidates of a grab task can claim it")
    elif task.assignee_id is not None:
        raise Conflict("Someone else has already taken this task")
    task.assignee_id = actor.user.id
    task.department_id = actor.user.department_id or task.department_id
    task.status = TaskStatus.CLAIMED
    task.claimed_at = clock.now()
    sync.event(session, task.instance, EventAction.CLAIMED, actor=actor, task=task, user_id=actor.user.id)
    sync.flush(session, task.instance)
    _audit(
        session, actor=actor, action="task.claim", function=FUNCTION, target=task, summary=task.instance.label
    )
    return task


@sync.guarded
def release_task(session: Session, *, task: FlowTask, comment: str | None, actor: Actor) -> FlowTask:
    """Give a taken task back (释放): one claimed from a grab pool returns to the pool; one assigned to
    a person stays with them, no longer accepted. The holder may release it; anyone else needs the
    manage right (the calling domain checks its data scope)."""
    _need(actor, HANDLE if task.assignee_id == actor.user.id else MANAGE, task.instance.subject_type)
    _running(task.instance)
    if not task.is_active:
        raise Conflict("The task is no longer open")
    if task.assignee_id is None or task.claimed_at is None:
        raise Conflict("Nobody has taken this task")
    holder = task.assignee_id
    to_pool = task.dispatch == "grab" and bool(task.candidate_ids)
    if to_pool:
        task.assignee_id = None
    task.status = TaskStatus.OPEN
    task.claimed_at = None
    text = _comment(comment)
    sync.event(
        session,
        task.instance,
        EventAction.RELEASED,
        actor=actor,
        task=task,
        user_id=task.assignee_id,
        previous_user_id=holder,
        comment=text,
    )
    sync.flush(session, task.instance)
    if to_pool:
        messages.in_pool(session, task, task.candidate_ids, sender=actor)
    _audit(
        session,
        actor=actor,
        action="task.release",
        function=FUNCTION,
        target=task,
        before={"assignee_id": holder},
        after={"assignee_id": task.assignee_id},
        summary=text,
    )
    return task


@sync.guarded
def assign_task(
    session: Session, *, task: FlowTask, user_id: int, comment: str | None, actor: Actor | None
) -> FlowTask:
    """Manual dispatch (手动分派) of an unassigned task, or reassignment (改派) of an assigned one."""
    _need(actor, DISPATCH, task.instance.subject_type)
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
    task.claimed_at = None
    task.status = TaskStatus.OPEN
    action = EventAction.ASSIGNED if previous is None else EventAction.REASSIGNED
    sync.event(
        session,
        task.instance,
        action,
        actor=actor,
        task=task,
        user_id=user.id,
        previous_user_id=previous,
        comment=_comment(comment),
    )
    sync.flush(session, task.instance)
    messages.assigned(session, task, sender=actor)
    _audit(
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
    _need(actor, MANAGE, instance.subject_type)
    _running(instance)
    _return(session, instance, node_id, _comment(comment), actor=actor)
    return instance


def _return(session: Session, instance: FlowInstance, node_id: str, text: str, *, actor: Actor) -> None:
    flow = sync.restore(instance, session)

    def step() -> None:
        try:
            flow.return_to(node_id)
        except ValueError:
            raise FieldError("node_id", "The flow has not passed through this node") from None

    sync.run(step)  # a countersign with nobody left to sign is refused like any other step
    sync.event(session, instance, EventAction.RETURNED, actor=actor, node_id=node_id, comment=text)
    prefer = {node_id: assignment.last_handler(session, instance, node_id)}
    sync.persist(session, instance, flow, actor=actor, prefer=prefer)
    _audit(
        session,
        actor=actor,
        action="instance.return",
        function=FUNCTION,
        target=instance,
        target_label=instance.label,
        summary=f"→ {node_id} {text}".strip(),
    )


def _may_move(task: FlowTask, actor: Actor) -> None:
    """The handler of a task may pass it on; a dispatcher may move any task in their scope."""
    subject_type = task.instance.subject_type
    if task.assignee_id == actor.user.id:
        try:
            _need(actor, HANDLE, subject_type)
            return
        except PermissionDenied:
            pass
    _need(actor, DISPATCH, subject_type)


@sync.guarded
def transfer_task(
    session: Session,
    *,
    task: FlowTask,
    user_id: int | None = None,
    department_id: int | None = None,
    comment: str | None,
    actor: Actor,
) -> FlowTask:
    """Transfer (转办) a task to a person, or to a department — where auto dispatch picks the least
    loaded member, a grab node offers it to the department's pool, a manual node waits for dispatch.

    A transfer to a department also moves the subject's handling department. The handler or a
    dispatcher may transfer; a reason is required.
    """
    _may_move(task, actor)
    instance = task.instance
    _running(instance)
    if not task.is_active:
        raise Conflict("The task is no longer open")
    if task.participant is not None:
        raise Conflict("A countersign task cannot be transferred")
    text = _comment(comment)
    if not text:
        raise FieldError("comment", "Give a reason")
    if (user_id is None) == (department_id is None):
        raise FieldError("user_id", "Choose a person or a department")
    previous = task.assignee_id
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            raise FieldError("user_id", "Choose an active user")
        if user.id == previous:
            raise FieldError("user_id", "The task is already assigned to this user")
        _hand_to(session, task, user.id, user.department_id)
        target_department = user.department_id
    else:
        dept = session.get(Department, department_id)
        if dept is None or not dept.enabled:
            raise FieldError("department_id", "Choose an active department")
        instance.handling_department_id = dept.id
        node = sync.restore(instance).node(task.node_id)
        found = [c for c in assignment.in_department(session, dept.id) if c.user_id != previous]
        task.candidates = [FlowTaskCandidate(user_id=c.user_id) for c in found]
        chosen = assignment.least_loaded(found) if (node.dispatch or "auto") == "auto" else None
        _hand_to(session, task, chosen.user_id if chosen else None, dept.id)
        target_department = dept.id
    sync.event(
        session,
        instance,
        EventAction.TRANSFERRED,
        actor=actor,
        task=task,
        user_id=task.assignee_id,
        previous_user_id=previous,
        department_id=target_department,
        comment=text,
    )
    sync.flush(session, instance)
    _announce(session, task, actor=actor)
    _audit(
        session,
        actor=actor,
        action="task.transfer",
        function=FUNCTION,
        target=task,
        before={"assignee_id": previous},
        after={"assignee_id": task.assignee_id, "department_id": target_department},
        summary=text,
    )
    return task


@sync.guarded
def hand_back(session: Session, *, task: FlowTask, comment: str | None, actor: Actor) -> FlowTask | None:
    """Hand a task back (退办): to whoever had it before a transfer or reassignment; when it came
    straight from the flow, the flow returns to the previous node and its handler. Only the handler
    may hand back, with a reason. Returns the task that now carries the work (None: the flow moved)."""
    if task.assignee_id != actor.user.id:
        raise PermissionDenied("Only the person the task is assigned to can hand it back")
    _need(actor, HANDLE, task.instance.subject_type)
    instance = task.instance
    _running(instance)
    if not task.is_active:
        raise Conflict("The task is no longer open")
    text = _comment(comment)
    if not text:
        raise FieldError("comment", "Give a reason")
    previous = _previous_holder(session, task)
    if previous is not None:
        _hand_to(session, task, previous, assignment.user_department(session, previous))
        sync.event(
            session,
            instance,
            EventAction.HANDED_BACK,
            actor=actor,
            task=task,
            user_id=previous,
            previous_user_id=actor.user.id,
            comment=text,
        )
        sync.flush(session, instance)
        _announce(session, task, actor=actor)
        _audit(
            session,
            actor=actor,
            action="task.hand_back",
            function=FUNCTION,
            target=task,
            before={"assignee_id": actor.user.id},
            after={"assignee_id": previous},
            summary=text,
        )
        return task
    node_id = _previous_node(session, instance, task)
    if node_id is None:
        raise Conflict("There is nobody to hand this task back to")
    _return(session, instance, node_id, text, actor=actor)
    return None


def _hand_to(session: Session, task: FlowTask, user_id: int | None, department_id: int | None) -> None:
    task.assignee_id = user_id
    task.department_id = department_id or task.department_id
    task.status = TaskStatus.OPEN
    task.claimed_at = None


def _announce(session: Session, task: FlowTask, *, actor: Actor) -> None:
    if task.assignee_id is not None:
        messages.assigned(session, task, sender=actor)
    elif task.dispatch == "grab" and task.candidate_ids:
        messages.in_pool(session, task, task.candidate_ids, sender=actor)
    else:
        supervisor = assignment.department_supervisor(session, task.department_id)
        messages.needs_dispatch(session, task, supervisor, sender=actor)


def _previous_holder(session: Session, task: FlowTask) -> int | None:
    """Walk this task's transfers back: each transfer or reassignment pushes whom it was taken from,
    each hand-back pops one; the top is whom a hand-back goes to (if still active)."""
    rows = session.execute(
        select(FlowEvent.action, FlowEvent.previous_user_id)
        .where(FlowEvent.task_id == task.id)
        .where(
            FlowEvent.action.in_((EventAction.TRANSFERRED, EventAction.REASSIGNED, EventAction.HANDED_BACK))
        )
        .order_by(FlowEvent.id)
    ).tuples()
    stack: list[int] = []
    for action, previous in rows:
        if action is EventAction.HANDED_BACK:
            if stack:
                stack.pop()
        elif previous is not None:
            stack.append(previous)
    while stack:
        candidate = stack.pop()
        if candidate != task.assignee_id and assignment.active_user_ids(session, [candidate]):
            return candidate
    return None


def _previous_node(session: Session, instance: FlowInstance, task: FlowTask) -> str | None:
    """The user-task node completed most recently before `task` by a person (not this node)."""
    return session.scalar(
        select(FlowEvent.node_id)
        .where(
            FlowEvent.instance_id == instance.id,
            FlowEvent.action == EventAction.COMPLETED,
            FlowEvent.actor_id.is_not(None),
            FlowEvent.node_id != task.node_id,
        )
        .order_by(FlowEvent.id.desc())
        .limit(1)
    )


@sync.guarded
def suspend_instance(
    session: Session, *, instance: FlowInstance, comment: str | None, actor: Actor
) -> FlowInstance:
    """Pause the flow: no task can be completed and time limits stop until it is resumed."""
    _need(actor, MANAGE, instance.subject_type)
    _running(instance)
    instance.status = InstanceStatus.SUSPENDED
    instance.suspended_at = clock.now()
    sync.event(session, instance, EventAction.SUSPENDED, actor=actor, comment=_comment(comment))
    sync.flush(session, instance)
    _audit(
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
    _need(actor, MANAGE, instance.subject_type)
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
    sync.flush(session, instance)
    _audit(
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
    _need(actor, MANAGE, instance.subject_type)
    if not instance.is_active:
        raise Conflict("The flow has ended")
    flow = sync.restore(instance)
    sync.run(flow.cancel)
    instance.suspended_at = None
    sync.event(session, instance, EventAction.CANCELLED, actor=actor, comment=_comment(comment))
    sync.persist(session, instance, flow, actor=actor)
    _audit(
        session,
        actor=actor,
        action="instance.cancel",
        function=FUNCTION,
        target=instance,
        target_label=instance.label,
        summary=_comment(comment),
    )
    return instance
