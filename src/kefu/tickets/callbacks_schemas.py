"""API shapes of callback work (回访)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from kefu.tickets.callbacks import MAX_TICKETS, RESULT_MAX, Candidate
from kefu.tickets.models import CallbackStatus, CallbackTask, Ticket, TicketStatus


class TicketBrief(BaseModel):
    """What a caller needs of the ticket: who to phone and what it was about."""

    id: int
    serial: str
    subject: str
    type_id: int
    status: TicketStatus
    department_id: int | None
    customer_name: str
    customer_phone: str
    closed_at: datetime | None

    @classmethod
    def of(cls, ticket: Ticket) -> TicketBrief:
        return cls(
            id=ticket.id,
            serial=ticket.serial,
            subject=ticket.subject,
            type_id=ticket.type_id,
            status=ticket.status,
            department_id=ticket.department_id,
            customer_name=ticket.customer_name,
            customer_phone=ticket.customer_phone,
            closed_at=ticket.closed_at,
        )


class CandidateRead(TicketBrief):
    callback_status: CallbackStatus | None = Field(
        description="The ticket's live callback (pending, unreached or done), if any."
    )

    @classmethod
    def of_candidate(cls, candidate: Candidate) -> CandidateRead:
        brief = TicketBrief.of(candidate.ticket)
        return cls(**brief.model_dump(), callback_status=candidate.callback_status)


class CallbackRead(BaseModel):
    id: int
    ticket: TicketBrief
    assignee_id: int | None
    assigned_by_id: int | None
    status: CallbackStatus
    attempts: int
    satisfaction: str | None
    result: str
    not_reached_reason: str | None
    created_at: datetime
    completed_at: datetime | None
    version: int = Field(description="Send it back with the result: a stale version is refused (409).")

    @classmethod
    def of(cls, task: CallbackTask) -> CallbackRead:
        return cls(
            id=task.id,
            ticket=TicketBrief.of(task.ticket),
            assignee_id=task.assignee_id,
            assigned_by_id=task.assigned_by_id,
            status=task.status,
            attempts=task.attempts,
            satisfaction=task.satisfaction,
            result=task.result,
            not_reached_reason=task.not_reached_reason,
            created_at=task.created_at,
            completed_at=task.completed_at,
            version=task.lock_version,
        )


class CallbackAssign(BaseModel):
    ticket_ids: list[int] = Field(max_length=MAX_TICKETS, description="Closed tickets to call back.")
    assignee_ids: list[int] = Field(max_length=200, description="The callers to share them.")
    mode: Literal["even", "sample"] = Field(
        default="even", description="even: every ticket; sample: a random share of them."
    )
    sample_percent: int | None = Field(default=None, description="For sample: 1 to 100.")
    seed: int | None = Field(default=None, description="For sample: makes the draw repeatable.")


class CallbackResult(BaseModel):
    reached: bool
    satisfaction: str | None = Field(
        default=None, max_length=60, description="A code of the satisfaction dictionary (when reached)."
    )
    result: str = Field(default="", max_length=RESULT_MAX)
    not_reached_reason: str | None = Field(
        default=None, max_length=60, description="A code of the not_reached_reason dictionary."
    )
    version: int


class CallbackAction(BaseModel):
    version: int | None = Field(default=None, description="When given, a stale version is refused (409).")


class CallbackReassign(CallbackAction):
    assignee_id: int
