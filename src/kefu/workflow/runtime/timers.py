"""Time limits (WF-7) and BPMN timers, one item at a time: warn, escalate, fire due timers.

Each function takes an id and a session, re-reads the row under a lock and re-checks the condition,
so running it twice (two workers, a retry) changes nothing the second time. They return whether
they did something. Tasks of suspended flows are left alone: their limits are paused.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import i18n
from kefu.core.errors import KefuError
from kefu.workflow.engine import NodeSettings
from kefu.workflow.runtime import assignment, messages, service, sync
from kefu.workflow.runtime.models import (
    ACTIVE_TASK,
    EventAction,
    FlowEvent,
    FlowInstance,
    FlowTask,
    InstanceStatus,
)


def _locked_task(session: Session, task_id: int) -> FlowTask | None:
    stmt = select(FlowTask).where(FlowTask.id == task_id, FlowTask.status.in_(ACTIVE_TASK)).with_for_update()
    task = session.scalars(stmt).first()
    if task is None or task.instance.status is not InstanceStatus.RUNNING:
        return None
    return task


def _people(task: FlowTask) -> list[int]:
    """Whom a task concerns: its assignee, or while unassigned its candidates."""
    return [task.assignee_id] if task.assignee_id is not None else task.candidate_ids


@sync.guarded
def warn_task(session: Session, task_id: int, now: datetime) -> bool:
    """Warn the handler (or the candidates) once the warning instant has passed; once only."""
    task = _locked_task(session, task_id)
    if task is None or task.warned_at is not None or task.warn_at is None or task.warn_at > now:
        return False
    task.warned_at = now
    sync.event(session, task.instance, EventAction.WARNED, actor=None, task=task)
    messages.warning(session, task, _people(task))
    sync.flush(session, task.instance)
    return True


@sync.guarded
def escalate_task(session: Session, task_id: int, now: datetime) -> bool:
    """Apply the node's escalation once the task is past due (notify, reassign or path); once only."""
    task = _locked_task(session, task_id)
    if task is None or task.escalated_at is not None or task.due_at is None or task.due_at > now:
        return False
    instance = task.instance
    node = sync.restore(instance).node(task.node_id)
    task.escalated_at = now
    if task.warned_at is None:
        task.warned_at = now  # a warning after the escalation would only confuse
    sync.event(session, instance, EventAction.ESCALATED, actor=None, task=task, comment=node.escalation or "")
    late = task.assignee_id
    if node.escalation == "path" and node.escalation_state:
        sync.flush(session)
        service.complete_task(
            session, task=task, state=node.escalation_state, comment="", data=None, actor=None
        )
    elif not (node.escalation == "reassign" and _reassign(session, task, node=node, late=late)):
        # notify, or a reassignment that found nobody else: the handler and their supervisor.
        supervisor = assignment.department_supervisor(
            session, assignment.user_department(session, late) or instance.initiator_department_id
        )
        messages.overdue(session, task, [*_people(task), *([supervisor] if supervisor else [])])
    sync.flush(session, instance)
    audit.record(
        session,
        actor=None,
        action="task.escalate",
        function=service.FUNCTION,
        target=task,
        summary=f"{instance.label} {task.node_id} {node.escalation or 'notify'}",
    )
    return True


@sync.guarded
def escalation_refused(session: Session, task_id: int, now: datetime, error: KefuError) -> bool:
    """Tell about an escalation path the flow refused (`sync.Refused`, e.g. a countersign on it
    has nobody to sign): the task's people and the flow's responsible supervisor get a message
    naming the task, the flow and the reason, and the history and the audit log record it — once
    per task. The job tries the escalation again every minute without telling anyone again; once
    it goes through, the flow moves on as usual."""
    task = _locked_task(session, task_id)
    if task is None or task.escalated_at is not None or task.due_at is None or task.due_at > now:
        return False
    told = select(FlowEvent.id).where(FlowEvent.task_id == task.id, FlowEvent.action == EventAction.BLOCKED)
    if session.scalar(told.limit(1)) is not None:
        return False
    instance = task.instance
    reason = error.render(i18n.gettext)
    sync.event(session, instance, EventAction.BLOCKED, actor=None, task=task, comment=reason)
    department = (
        task.department_id
        or assignment.user_department(session, task.assignee_id)
        or instance.initiator_department_id
    )
    supervisor = assignment.department_supervisor(session, department)
    messages.escalation_blocked(
        session, task, [*_people(task), supervisor], flow=instance.version.template.name, reason=reason
    )
    sync.flush(session)
    audit.record(
        session,
        actor=None,
        action="task.escalate_blocked",
        function=service.FUNCTION,
        target=task,
        summary=f"{instance.label} {task.node_id}: {error}",
    )
    return True


def _reassign(session: Session, task: FlowTask, *, node: NodeSettings, late: int | None) -> bool:
    chosen = assignment.least_loaded(
        assignment.ranked(session, node=node, instance=task.instance, exclude=[late] if late else [])
    )
    if chosen is None:
        return False
    task.assignee_id = chosen.user_id
    task.department_id = chosen.department_id or task.department_id
    sync.event(session, task.instance, EventAction.REASSIGNED, actor=None, task=task, user_id=chosen.user_id)
    messages.overdue(session, task, [chosen.user_id, *([late] if late else [])])
    return True


@sync.guarded
def fire_timers(session: Session, instance_id: int, now: datetime) -> list[str]:
    """Fire the instance's BPMN timers due by `now` and persist; the node ids of the fired timers."""
    stmt = select(FlowInstance).where(FlowInstance.id == instance_id).with_for_update()
    instance = session.scalars(stmt).first()
    if (
        instance is None
        or instance.status is not InstanceStatus.RUNNING
        or instance.next_timer_at is None
        or instance.next_timer_at > now
    ):
        return []
    flow = sync.restore(instance, session)
    fired = sync.run(lambda: flow.fire_due_timers(now))
    sync.persist(session, instance, flow, actor=None)
    if fired:
        audit.record(
            session,
            actor=None,
            action="instance.timer",
            function=service.FUNCTION,
            target=instance,
            target_label=instance.label,
            summary=", ".join(fired),
        )
    return fired
