"""Complaints, fault reports and fault / cutover notices over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from kefu.core.errors import FieldError
from kefu.tickets import access, complaints, fault_notices, faults, service
from kefu.tickets.api import ANY_TICKET_RIGHT, CREATE, HANDLE, detail
from kefu.tickets.fault_models import FaultNotice, NoticeKind, NoticeStatus
from kefu.tickets.models import CaseTemplate, Ticket, TicketType
from kefu.tickets.schemas import TicketCreate, TicketDetail
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])

NOTICE_READERS = (fault_notices.VIEW, fault_notices.MANAGE, CREATE, HANDLE)


# --- shapes ---------------------------------------------------------------------------------------------


class ComplaintCreate(TicketCreate):
    on_the_spot: bool = Field(
        default=False, description="Answered during the call: the ticket is closed at once (现场处理)."
    )
    answer: str = Field(default="", max_length=4000, description="The answer given, for on the spot.")


class ComplaintFacts(BaseModel):
    area: str | None = None
    complaint_class: str | None = None
    complaint_flag: str = ""
    related_ticket_id: int | None = None
    related_serial: str | None = None
    notices: list[NoticeRead] = Field(default_factory=list)


class ComplaintDetail(TicketDetail):
    facts: ComplaintFacts


class Suggestion(BaseModel):
    id: int
    title: str
    summary: str
    link: str


class NoticeWrite(BaseModel):
    kind: NoticeKind = NoticeKind.FAULT
    title: str = Field(default="", max_length=200)
    content: str = Field(default="", max_length=20000)
    public_text: str = Field(default="", max_length=1000)
    areas: list[str] = Field(default_factory=list, max_length=200)
    services: list[str] = Field(default_factory=list, max_length=20)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    status: NoticeStatus = NoticeStatus.DRAFT


class NoticeUpdate(BaseModel):
    kind: NoticeKind | None = None
    title: str | None = Field(default=None, max_length=200)
    content: str | None = Field(default=None, max_length=20000)
    public_text: str | None = Field(default=None, max_length=1000)
    areas: list[str] | None = Field(default=None, max_length=200)
    services: list[str] | None = Field(default=None, max_length=20)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    status: NoticeStatus | None = None


class NoticeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: NoticeKind
    title: str
    content: str
    public_text: str
    areas: list[str]
    services: list[str]
    starts_at: datetime
    ends_at: datetime
    status: NoticeStatus
    created_at: datetime
    updated_at: datetime


class NoticeWithTickets(NoticeRead):
    ticket_ids: list[int] = Field(default_factory=list)


class PublicNotice(BaseModel):
    id: int
    kind: NoticeKind
    text: str
    ends_at: datetime


class RuleWrite(BaseModel):
    name: str = Field(default="", max_length=100)
    sort: int = 0
    area: str | None = Field(default=None, max_length=60)
    fault_type: str | None = Field(default=None, max_length=60)
    customer_tier: str | None = Field(default=None, max_length=60)
    department_id: int | None = None
    enabled: bool = True


class RuleRead(RuleWrite):
    model_config = ConfigDict(from_attributes=True)

    id: int
    department_id: int | None


ComplaintFacts.model_rebuild()
ComplaintDetail.model_rebuild()


def facts_of(session: Session, ticket: Ticket) -> ComplaintFacts:
    related = session.get(Ticket, ticket.related_ticket_id) if ticket.related_ticket_id else None
    return ComplaintFacts(
        area=ticket.area,
        complaint_class=ticket.complaint_class,
        complaint_flag=ticket.complaint_flag or "",
        related_ticket_id=ticket.related_ticket_id,
        related_serial=related.serial if related is not None else None,
        notices=[NoticeRead.model_validate(n) for n in fault_notices.of_ticket(session, ticket.id)],
    )


# --- complaints and fault reports ---------------------------------------------------------------------------


@router.post("/complaints", response_model=ComplaintDetail, status_code=201)
def register_complaint(
    session: SessionDep, actor: Requires(CREATE), body: ComplaintCreate
) -> ComplaintDetail:
    """Register a complaint (or any ticket) and, when answered during the call, close it on the spot;
    else it goes its flow's back-office way. Repeat and secondary complaints are flagged."""
    case_template = None
    if body.case_template_id is not None:
        case_template = session.get(CaseTemplate, body.case_template_id)
        if case_template is None:
            raise FieldError("case_template_id", "No such case template")
    ticket_type = session.get(TicketType, body.type_id)
    if ticket_type is None:
        raise FieldError("type_id", "No such ticket type")
    if body.on_the_spot and not body.answer.strip():
        raise FieldError("answer", "This field is required")
    ticket = service.register(
        session,
        actor=actor,
        ticket_type=ticket_type,
        case_template=case_template,
        **body.model_dump(exclude={"type_id", "case_template_id", "on_the_spot", "answer"}),
    )
    if body.on_the_spot:
        complaints.close_on_the_spot(session, actor=actor, ticket=ticket, answer=body.answer)
    base = detail(session, actor, ticket).model_dump()
    return ComplaintDetail.model_validate({**base, "facts": facts_of(session, ticket)})


@router.get("/{ticket_id}/facts", response_model=ComplaintFacts)
def ticket_facts(session: SessionDep, actor: Requires(*ANY_TICKET_RIGHT), ticket_id: int) -> ComplaintFacts:
    """A ticket's area, complaint class and flag (repeat / secondary, with the earlier ticket) and
    the fault notices it is linked to."""
    return facts_of(session, access.load(session, actor, ticket_id))


@router.get("/faults/suggestions", response_model=list[Suggestion])
def fault_suggestions(
    session: SessionDep, actor: Requires(CREATE), q: str = Query(default="", max_length=200)
) -> list[dict[str, Any]]:
    """Published knowledge for the symptoms typed while registering a fault report."""
    return faults.suggestions(session, actor, q)


# --- dispatch rules ---------------------------------------------------------------------------------------


@router.get("/dispatch-rules", response_model=list[RuleRead])
def list_rules(session: SessionDep, actor: Requires(faults.RULES_VIEW, faults.RULES_EDIT)) -> Any:
    return faults.rules(session)


@router.post("/dispatch-rules", response_model=RuleRead, status_code=201)
def create_rule(session: SessionDep, actor: Requires(faults.RULES_EDIT), body: RuleWrite) -> Any:
    return faults.create_rule(session, actor=actor, values=body.model_dump())


@router.put("/dispatch-rules/{rule_id}", response_model=RuleRead)
def update_rule(
    session: SessionDep, actor: Requires(faults.RULES_EDIT), rule_id: int, body: RuleWrite
) -> Any:
    rule = faults.get_rule(session, rule_id)
    return faults.update_rule(session, actor=actor, rule=rule, values=body.model_dump())


@router.delete("/dispatch-rules/{rule_id}", status_code=204)
def delete_rule(session: SessionDep, actor: Requires(faults.RULES_EDIT), rule_id: int) -> None:
    faults.delete_rule(session, actor=actor, rule=faults.get_rule(session, rule_id))


# --- fault and cutover notices ----------------------------------------------------------------------


@router.get("/fault-notices/active", response_model=list[NoticeRead])
def active_notices(
    session: SessionDep,
    actor: Requires(*NOTICE_READERS),
    area: str | None = Query(default=None, max_length=60),
) -> list[FaultNotice]:
    """Published notices in force now, of one area when given (what agents see)."""
    return fault_notices.active(session, area or None)


@router.get("/fault-notices/public", response_model=list[PublicNotice])
def public_notices(
    session: SessionDep, actor: Requires(*NOTICE_READERS), area: str = Query(max_length=60)
) -> list[PublicNotice]:
    """What a customer of `area` is told on request (IVR prompt, SMS): customer-facing text only."""
    return [
        PublicNotice(id=n.id, kind=n.kind, text=fault_notices.public_text(n), ends_at=n.ends_at)
        for n in fault_notices.active(session, area)
    ]


@router.get("/fault-notices", response_model=list[NoticeRead])
def list_notices(
    session: SessionDep,
    actor: Requires(fault_notices.VIEW, fault_notices.MANAGE),
    status: NoticeStatus | None = None,
) -> list[FaultNotice]:
    return fault_notices.listing(session, status=status.value if status else None)


@router.post("/fault-notices", response_model=NoticeRead, status_code=201)
def create_notice(
    session: SessionDep, actor: Requires(fault_notices.MANAGE), body: NoticeWrite
) -> FaultNotice:
    return fault_notices.create(session, actor=actor, values=body.model_dump())


@router.get("/fault-notices/{notice_id}", response_model=NoticeWithTickets)
def get_notice(
    session: SessionDep, actor: Requires(fault_notices.VIEW, fault_notices.MANAGE), notice_id: int
) -> NoticeWithTickets:
    notice = fault_notices.get(session, notice_id)
    return NoticeWithTickets.model_validate(
        {
            **NoticeRead.model_validate(notice).model_dump(),
            "ticket_ids": fault_notices.linked_ticket_ids(session, notice.id),
        }
    )


@router.patch("/fault-notices/{notice_id}", response_model=NoticeRead)
def update_notice(
    session: SessionDep, actor: Requires(fault_notices.MANAGE), notice_id: int, body: NoticeUpdate
) -> FaultNotice:
    notice = fault_notices.get(session, notice_id)
    return fault_notices.update(
        session, actor=actor, notice=notice, values=body.model_dump(exclude_unset=True)
    )


@router.delete("/fault-notices/{notice_id}", status_code=204)
def delete_notice(session: SessionDep, actor: Requires(fault_notices.MANAGE), notice_id: int) -> None:
    fault_notices.delete(session, actor=actor, notice=fault_notices.get(session, notice_id))
