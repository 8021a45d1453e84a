"""API shapes of running flows: tasks (待办), flows (流程实例) and their history (流转记录)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kefu.workflow.runtime.models import EventAction, InstanceStatus, TaskStatus

Box = Literal["todo", "pool", "done", "unassigned", "all"]


class StateRead(BaseModel):
    """An approval state the handler can choose (审批状态)."""

    code: str
    label: str
    next: str | None = None


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    instance_id: int
    node_id: str
    name: str
    status: TaskStatus
    dispatch: str
    assignee_id: int | None
    department_id: int | None
    participant: int | None
    candidate_ids: list[int]
    created_at: datetime
    claimed_at: datetime | None
    completed_at: datetime | None
    due_at: datetime | None
    warn_at: datetime | None
    warned_at: datetime | None
    escalated_at: datetime | None
    state: str | None
    comment: str
    completed_by_id: int | None


class TaskListItem(TaskRead):
    subject_type: str
    subject_id: int


class TaskDetail(TaskListItem):
    """A task with what its action area needs: the states to choose from, the flow's status."""

    states: list[StateRead]
    instance_status: InstanceStatus
    template_code: str
    version_number: int


class TaskComplete(BaseModel):
    state: str | None = Field(
        default=None, max_length=60, description="One of the node's states; may be omitted when it has one."
    )
    comment: str = Field(default="", max_length=4000)
    data: dict[str, Any] = Field(default_factory=dict, description="Merged into the flow's data.")


class TaskAssign(BaseModel):
    user_id: int
    comment: str = Field(default="", max_length=4000)


class TaskTransfer(BaseModel):
    user_id: int | None = Field(default=None, description="Transfer to this person; or give department_id.")
    department_id: int | None = Field(default=None, description="Transfer to this department.")
    comment: str = Field(default="", max_length=4000, description="The reason (required).")


class TaskHandBack(BaseModel):
    comment: str = Field(default="", max_length=4000, description="The reason (required).")


class InstanceStart(BaseModel):
    version_id: int | None = Field(default=None, description="A published version; or give template_code.")
    template_code: str | None = Field(
        default=None, description="Starts on the template's newest published version."
    )
    subject_type: str = Field(min_length=1, max_length=40)
    subject_id: int
    data: dict[str, Any] = Field(default_factory=dict)
    limit: str | None = Field(
        default=None, max_length=40, description="Whole-flow limit, ISO-8601 working time."
    )
    handling_department_id: int | None = Field(
        default=None, description="The department the subject is routed to (handling_department rule)."
    )

    @model_validator(mode="after")
    def _one_flow(self) -> InstanceStart:
        if (self.version_id is None) == (self.template_code is None):
            raise ValueError("give exactly one of version_id and template_code")
        return self


class InstanceAction(BaseModel):
    comment: str = Field(default="", max_length=4000)


class InstanceReturn(InstanceAction):
    node_id: str = Field(min_length=1, max_length=100)


class InstanceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version_id: int
    subject_type: str
    subject_id: int
    status: InstanceStatus
    initiator_id: int | None
    initiator_department_id: int | None
    handling_department_id: int | None = None
    started_at: datetime
    completed_at: datetime | None
    suspended_at: datetime | None
    due_at: datetime | None
    next_timer_at: datetime | None


class EventRead(BaseModel):
    """One line of the history. For a completion: how long the task took (wall clock and working
    time) and whether it met its node's limit."""

    id: int
    task_id: int | None
    node_id: str
    node_name: str
    action: EventAction
    actor_id: int | None
    actor_name: str
    user_id: int | None
    state: str | None
    comment: str
    at: datetime
    duration_seconds: int | None = None
    working_seconds: int | None = None
    overdue: bool | None = None


class InstanceDetail(InstanceRead):
    template_code: str
    version_number: int
    path: list[str] = Field(description="Node ids passed so far, in order (for the tracking view).")
    tasks: list[TaskRead]
    events: list[EventRead]
