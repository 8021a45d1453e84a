"""Tables of running flows: instances (流程实例), their work items (待办) with candidates, and history.

An instance belongs to a subject (`subject_type`, `subject_id`, e.g. "ticket", 42) and keeps the
flow version it started on. Its engine state (`state_json`, without the spec) is rewritten by every
step; `lock_version` makes concurrent steps on one instance fail loudly (409) instead of losing one.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.core import clock
from kefu.db import Base
from kefu.workflow.models import FlowVersion


class InstanceStatus(StrEnum):
    RUNNING = "running"
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TaskStatus(StrEnum):
    OPEN = "open"  # waiting: assigned to someone, in a grab pool, or waiting for manual dispatch
    CLAIMED = "claimed"  # taken from a grab pool
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # the flow moved on without it (countersign decided, returned, cancelled)


ACTIVE_TASK = (TaskStatus.OPEN, TaskStatus.CLAIMED)


def _enum(cls: type[StrEnum]) -> Enum:
    """Stored as its value in a plain string column (no database enum type to migrate)."""
    return Enum(cls, native_enum=False, length=12, values_callable=lambda e: [m.value for m in e])


class EventAction(StrEnum):
    STARTED = "started"
    ASSIGNED = "assigned"
    CLAIMED = "claimed"
    COMPLETED = "completed"
    RETURNED = "returned"
    REASSIGNED = "reassigned"
    TRANSFERRED = "transferred"  # 转办: to another person or department
    HANDED_BACK = "handed_back"  # 退办: back to whoever had the task before
    RELEASED = "released"  # 释放: a taken task given back (to its pool, or no longer accepted)
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    WARNED = "warned"
    ESCALATED = "escalated"
    BLOCKED = "blocked"  # an escalation path the flow refused (WF-7, WF-9): told once per task
    CANCELLED = "cancelled"
    FINISHED = "finished"  # the flow reached its end


class FlowInstance(Base):
    __tablename__ = "flow_instance"
    __table_args__ = (Index("ix_flow_instance_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("flow_version.id", ondelete="RESTRICT"), index=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[InstanceStatus] = mapped_column(
        _enum(InstanceStatus), default=InstanceStatus.RUNNING, index=True
    )
    state_json: Mapped[str] = mapped_column(Text, default="")
    initiator_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    initiator_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(default=clock.now)
    completed_at: Mapped[datetime | None] = mapped_column()
    suspended_at: Mapped[datetime | None] = mapped_column()
    # The department the subject is routed to (承办部门): the `handling_department` assignment rule
    # reads it; set at start and moved by a transfer to a department.
    handling_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    # The whole flow's time limit (working time on the business calendar), if one was given at start.
    due_at: Mapped[datetime | None] = mapped_column()
    # The earliest armed BPMN timer; the timer job looks here instead of restoring every instance.
    next_timer_at: Mapped[datetime | None] = mapped_column(index=True)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    version: Mapped[FlowVersion] = relationship()
    tasks: Mapped[list[FlowTask]] = relationship(
        back_populates="instance", order_by="FlowTask.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": lock_version}

    @property
    def label(self) -> str:
        return f"{self.subject_type}:{self.subject_id}"

    @property
    def is_active(self) -> bool:
        return self.status in (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED)


class FlowTask(Base):
    """One work item: a ready user task of the engine (`task_id`), or one participant of a countersign."""

    __tablename__ = "flow_task"
    __table_args__ = (
        Index("ix_flow_task_assignee_status", "assignee_id", "status"),
        Index("ix_flow_task_status_warn_at", "status", "warn_at"),
        Index("ix_flow_task_status_due_at", "status", "due_at"),
        Index("ix_flow_task_instance_status", "instance_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("flow_instance.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(String(36))
    node_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus), default=TaskStatus.OPEN)
    dispatch: Mapped[str] = mapped_column(String(10), default="auto")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    participant: Mapped[int | None] = mapped_column(Integer)  # the countersigner's user id
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    claimed_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    due_at: Mapped[datetime | None] = mapped_column()
    warn_at: Mapped[datetime | None] = mapped_column()
    warned_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    state: Mapped[str | None] = mapped_column(String(60))
    comment: Mapped[str] = mapped_column(Text, default="")
    completed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), index=True
    )
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    instance: Mapped[FlowInstance] = relationship(back_populates="tasks")
    candidates: Mapped[list[FlowTaskCandidate]] = relationship(
        cascade="all, delete-orphan", order_by="FlowTaskCandidate.user_id"
    )

    __mapper_args__ = {"version_id_col": lock_version}

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_TASK

    @property
    def candidate_ids(self) -> list[int]:
        return [c.user_id for c in self.candidates]


class FlowTaskCandidate(Base):
    """Who may take a task (grab pool) or whom a dispatcher may choose; indexed for "my pool"."""

    __tablename__ = "flow_task_candidate"

    task_id: Mapped[int] = mapped_column(ForeignKey("flow_task.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class FlowEvent(Base):
    """History of an instance (流转记录): what the tracking view and a ticket's processing log read.

    `user_id` is whom an assignment went to; `department_id` the handler's department on completion
    (the `node_department` assignment rule reads it).
    """

    __tablename__ = "flow_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("flow_instance.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("flow_task.id", ondelete="CASCADE"), index=True)
    node_id: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[EventAction] = mapped_column(_enum(EventAction))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    # Whom a task was taken from (transfer, reassignment, hand-back): a hand-back walks these back.
    previous_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    state: Mapped[str | None] = mapped_column(String(60))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=clock.now)

    # Lets an event name a task inserted by the same flush (the step writes its history in one insert).
    task: Mapped[FlowTask | None] = relationship()
