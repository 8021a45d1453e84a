"""API shapes of tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from kefu.tickets.models import TicketStatus

Box = Literal["todo", "pool", "dispatch", "done", "created", "tracked", "all"]


class TicketCreate(BaseModel):
    type_id: int
    case_template_id: int | None = Field(default=None, description="Prefills what is left empty.")
    channel: str = Field(description="A code of the `channel` dictionary (phone, letter, visit, email …).")
    subject: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=20000)
    priority: str | None = Field(default=None, description="A code of the `urgency` dictionary.")
    nature: str | None = Field(default=None, description="A code of the `case_nature` dictionary.")
    customer_id: int | None = None
    customer_name: str = Field(default="", max_length=100)
    customer_phone: str = Field(default="", max_length=40)
    customer_email: str = Field(default="", max_length=200)
    fields: dict[str, Any] = Field(
        default_factory=dict, description="Values of the form template's elements."
    )
    department_id: int | None = Field(default=None, description="Handling department (else the type's).")
    attachment_ids: list[int] = Field(default_factory=list, description="Files uploaded before, by me.")
    contact_id: int | None = Field(
        default=None, description="The contact record (e.g. the call) the ticket comes from; linked to it."
    )


class Versioned(BaseModel):
    version: int | None = Field(
        default=None, description="The ticket version the action is based on; a stale one gives 409."
    )


class StepAction(Versioned):
    task_id: int | None = Field(default=None, description="The step; default: the one assigned to me.")
    comment: str = Field(default="", max_length=4000)


class CompleteAction(StepAction):
    state: str | None = Field(default=None, description="One of the step's states (e.g. pass / fail).")
    attachment_ids: list[int] = Field(default_factory=list)


class ReplyAction(Versioned):
    comment: str = Field(max_length=4000)
    attachment_ids: list[int] = Field(default_factory=list)


class TransferAction(StepAction):
    user_id: int | None = None
    department_id: int | None = None


class DispatchAction(Versioned):
    task_id: int
    user_id: int
    comment: str = Field(default="", max_length=4000)


class ReasonAction(Versioned):
    comment: str = Field(default="", max_length=4000)


class UrgeAction(BaseModel):
    comment: str = Field(default="", max_length=4000)


class FollowUp(BaseModel):
    note: str = Field(max_length=4000)
    result: Literal["continue", "resolved"]


class TicketRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    serial: str
    type_id: int
    category_id: int | None
    channel: str
    subject: str
    description: str
    priority: str
    nature: str | None
    customer_id: int | None
    customer_name: str
    customer_phone: str
    customer_email: str
    fields: dict[str, Any]
    status: TicketStatus
    stage: str
    handler_id: int | None
    creator_id: int | None
    department_id: int | None
    flow_instance_id: int | None
    due_at: datetime | None
    urge_count: int
    reopen_count: int
    external_code: str = Field(description="The code another system knows the matter by (e.g. Inmarsat)")
    terminal_no: str
    area: str | None = Field(description="Area code (dictionary `area`), for fault notices and dispatch")
    merged_into_id: int | None = Field(description="The surviving ticket, when merged into another")
    merged_at: datetime | None
    complaint_class: str | None = Field(description="Complaint class (dictionary `complaint_class`)")
    complaint_flag: str = Field(description="`repeat` (重复投诉), `secondary` (二次投诉) or empty")
    related_ticket_id: int | None = Field(description="The earlier complaint a flagged one repeats")
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int = Field(validation_alias=AliasChoices("lock_version", "version"))


class TicketListItem(TicketRead):
    task_id: int | None = None
    task_name: str | None = None
    task_due_at: datetime | None = None
    overdue: bool = False


class ActionRead(BaseModel):
    code: str
    task_id: int | None = None
    states: list[tuple[str, str]] = Field(default_factory=list)


class LogRead(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    user_name: str
    department_name: str
    action: str
    node_id: str
    node_name: str
    state: str | None
    comment: str
    detail: dict[str, Any]


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int | None
    log_id: int | None
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by_id: int | None
    uploaded_at: datetime


class ContactRead(BaseModel):
    """A contact record linked to the ticket."""

    id: int
    channel: str
    direction: str
    started_at: datetime
    ended_at: datetime | None
    agent_id: int | None
    agent_name: str
    remote_address: str
    summary: str
    call_id: str | None


class TicketDetail(TicketRead):
    actions: list[ActionRead]
    log: list[LogRead]
    attachments: list[AttachmentRead]
    contacts: list[ContactRead]


class Counts(BaseModel):
    todo: int
    pool: int
    dispatch: int
    tracked: int
    overdue: int
