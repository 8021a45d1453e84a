"""Tickets over HTTP: register, the workbench boxes, one ticket, every lifecycle action, files.

Every action answers with the ticket as it is now (with its new `version`); a stale `version` is a
409 with the current state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from kefu.core import storage
from kefu.core.errors import FieldError, NotFound
from kefu.core.permissions import Actor
from kefu.tickets import access, attachments, queries, service, tracking
from kefu.tickets.models import CaseTemplate, Ticket, TicketAttachment, TicketType
from kefu.tickets.schemas import (
    ActionRead,
    AttachmentRead,
    Box,
    CompleteAction,
    ContactRead,
    Counts,
    DispatchAction,
    FollowUp,
    LogRead,
    ReasonAction,
    ReplyAction,
    StepAction,
    TicketCreate,
    TicketDetail,
    TicketListItem,
    TicketRead,
    TransferAction,
    UrgeAction,
)
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])

F = service.FUNCTION
VIEW, CREATE, HANDLE, DISPATCH, MANAGE, URGE, TRACK = (
    f"{F}.view",
    service.CREATE,
    service.HANDLE,
    service.DISPATCH,
    service.MANAGE,
    service.URGE,
    service.TRACK,
)
ANY_TICKET_RIGHT = (VIEW, CREATE, HANDLE, DISPATCH, MANAGE, URGE, TRACK)


def detail(session: Session, actor: Actor, ticket: Ticket) -> TicketDetail:
    session.flush()
    base = TicketRead.model_validate(ticket).model_dump()
    return TicketDetail.model_validate(
        {
            **base,
            "actions": [
                ActionRead(code=a.code, task_id=a.task_id, states=a.states)
                for a in queries.actions(session, actor, ticket)
            ],
            "log": [
                LogRead(
                    id=line.entry.id,
                    at=line.entry.at,
                    user_id=line.entry.user_id,
                    user_name=line.user_name,
                    department_name=line.department_name,
                    action=line.entry.action,
                    node_id=line.entry.node_id,
                    node_name=line.entry.node_name,
                    state=line.entry.state,
                    comment=line.entry.comment,
                    detail=line.entry.detail or {},
                )
                for line in queries.log(session, ticket)
            ],
            "attachments": [AttachmentRead.model_validate(a) for a in queries.attachments(session, ticket)],
            "contacts": [
                ContactRead(
                    id=c.record.id,
                    channel=c.record.channel,
                    direction=c.record.direction,
                    started_at=c.record.started_at,
                    ended_at=c.record.ended_at,
                    agent_id=c.record.agent_id,
                    agent_name=c.agent_name,
                    remote_address=c.record.remote_address,
                    summary=c.record.summary,
                    call_id=c.record.call_id,
                )
                for c in queries.contacts(session, ticket)
            ],
        }
    )


def list_item(row: queries.Row) -> TicketListItem:
    item = TicketListItem.model_validate(TicketRead.model_validate(row.ticket).model_dump())
    if row.task is not None:
        item.task_id, item.task_name, item.task_due_at = row.task.id, row.task.name, row.task.due_at
    item.overdue = row.overdue
    return item


@router.get("", response_model=list[TicketListItem])
def list_tickets(
    session: SessionDep,
    actor: Requires(*ANY_TICKET_RIGHT),
    box: Box = "todo",
    status: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0),
) -> list[TicketListItem]:
    """A workbench box: `todo` (overdue first), `pool`, `dispatch`, `done`, `created`, `tracked`, `all`."""
    rows = queries.workbench(session, actor, box=box, limit=limit, offset=offset, status=status)
    return [list_item(r) for r in rows]


@router.get("/counts", response_model=Counts)
def counts(session: SessionDep, actor: Requires(*ANY_TICKET_RIGHT)) -> Counts:
    """How many wait in my todo, pool, dispatch and tracked boxes, and how many of my todo are overdue."""
    return Counts(**queries.counts(session, actor))


def _type(session: Session, type_id: int) -> TicketType:
    found = session.get(TicketType, type_id)
    if found is None:
        raise FieldError("type_id", "No such ticket type")
    return found


@router.post("", response_model=TicketDetail, status_code=201)
def register(session: SessionDep, actor: Requires(CREATE), body: TicketCreate) -> TicketDetail:
    """Register a ticket (信息登录); 422 names every bad field (custom ones as `fields.<code>`)."""
    case_template = None
    if body.case_template_id is not None:
        case_template = session.get(CaseTemplate, body.case_template_id)
        if case_template is None:
            raise FieldError("case_template_id", "No such case template")
    ticket = service.register(
        session,
        actor=actor,
        ticket_type=_type(session, body.type_id),
        case_template=case_template,
        **body.model_dump(exclude={"type_id", "case_template_id"}),
    )
    return detail(session, actor, ticket)


@router.get("/by-serial/{serial}", response_model=TicketDetail)
def get_by_serial(session: SessionDep, actor: Requires(*ANY_TICKET_RIGHT), serial: str) -> TicketDetail:
    ticket = queries.by_serial(session, actor, serial)
    if ticket is None:
        raise NotFound()
    return detail(session, actor, ticket)


@router.get("/{ticket_id}", response_model=TicketDetail)
def get_ticket(session: SessionDep, actor: Requires(*ANY_TICKET_RIGHT), ticket_id: int) -> TicketDetail:
    """A ticket with its processing log, files, and the actions I may take now."""
    return detail(session, actor, access.load(session, actor, ticket_id))


def _act(session: Session, actor: Actor, ticket_id: int, step: Callable[[Ticket], Any]) -> TicketDetail:
    ticket = access.load(session, actor, ticket_id)
    step(ticket)
    return detail(session, actor, ticket)


@router.post("/{ticket_id}/accept", response_model=TicketDetail)
def accept(session: SessionDep, actor: Requires(HANDLE), ticket_id: int, body: StepAction) -> TicketDetail:
    """Accept (签收): take the ticket from the pool, or acknowledge it was given to me."""
    return _act(
        session,
        actor,
        ticket_id,
        lambda t: service.accept(
            session, actor=actor, ticket=t, expected_version=body.version, task_id=body.task_id
        ),
    )


@router.post("/{ticket_id}/reply", response_model=TicketDetail)
def reply(session: SessionDep, actor: Requires(HANDLE), ticket_id: int, body: ReplyAction) -> TicketDetail:
    """Reply (回复): record progress or the answer; the ticket stays with me."""
    return _act(
        session,
        actor,
        ticket_id,
        lambda t: service.reply(
            session,
            actor=actor,
            ticket=t,
            expected_version=body.version,
            comment=body.comment,
            attachment_ids=body.attachment_ids,
        ),
    )


@router.post("/{ticket_id}/complete", response_model=TicketDetail)
def complete(
    session: SessionDep, actor: Requires(HANDLE), ticket_id: int, body: CompleteAction
) -> TicketDetail:
    """Finish my step with one of its states (complete, review pass / fail, close …)."""
    return _act(
        session,
        actor,
        ticket_id,
        lambda t: service.complete(
            session,
            actor=actor,
            ticket=t,
            expected_version=body.version,
            state=body.state,
            comment=body.comment,
            task_id=body.task_id,
            attachment_ids=body.attachment_ids,
        ),
    )


@router.post("/{ticket_id}/transfer", response_model=TicketDetail)
def transfer(
    session: SessionDep, actor: Requires(HANDLE, DISPATCH), ticket_id: int, body: TransferAction
) -> TicketDetail:
    """Transfer (转办) to a person or a department, with a reason."""
    return _act(
        session,
        actor,
        ticket_id,
        lambda t: service.transfer(
            session,
            actor=actor,
            ticket=t,
            expected_version=body.version,
            comment=body.comment,
            user_id=body.user_id,
            department_id=body.department_id,
            task_id=body.task_id,
        ),
    )


@router.post("/{ticket_id}/hand-back", response_model=TicketDetail)
def hand_back(
    session: SessionDep, actor: Requires(HANDLE), ticket_id: int, body: ReasonAction
) -> TicketDetail:
    """Hand back (退办) to whoever had it before, with a reason."""
    return _act(
        session,
        actor,
        ticket_id,
        lambda t: service.hand_back(
            session, actor=actor, ticket=t, expected_version=body.version, comment=body.comment
        ),
    )


@router.post("/{ticket_id}/dispatch", response_model=TicketDetail)
def dispatch(
    session: SessionDep, actor: Requires(DISPATCH), ticket_id: int, body: DispatchAction
) -> TicketDetail:
    """Dispatch (派送) a waiting step to a person, or reassign it."""
    return _act(
        session,
        actor,
        ticket_id,
        lambda t: service.dispatch(
            session,
            actor=actor,
            ticket=t,
            expected_version=body.version,
            task_id=body.task_id,
            user_id=body.user_id,
            comment=body.comment,
        ),
    )


def _managed(name: str, doc: str) -> None:
    step = getattr(service, name)

    def route(
        session: SessionDep, actor: Requires(MANAGE), ticket_id: int, body: ReasonAction
    ) -> TicketDetail:
        return _act(
            session,
            actor,
            ticket_id,
            lambda t: step(
                session, actor=actor, ticket=t, expected_version=body.version, comment=body.comment
            ),
        )

    route.__doc__ = doc
    route.__name__ = name
    router.post(f"/{{ticket_id}}/{name}", response_model=TicketDetail, name=f"ticket_{name}")(route)


_managed("suspend", "Suspend (挂起) with a reason: steps and time limits pause.")
_managed("resume", "Resume a suspended ticket; due times move by the suspended working time.")
_managed("cancel", "Withdraw (撤销) the ticket with a reason; open steps are cancelled.")
_managed("reopen", "Reopen (重开) a closed ticket with a reason: a new run of its type's flow.")


@router.post("/{ticket_id}/urge", response_model=TicketDetail)
def urge(session: SessionDep, actor: Requires(URGE), ticket_id: int, body: UrgeAction) -> TicketDetail:
    """Urge (催办): the current handlers are told at once; the ticket counts urges."""
    return _act(
        session,
        actor,
        ticket_id,
        lambda t: tracking.urge(session, actor=actor, ticket=t, comment=body.comment),
    )


@router.post("/{ticket_id}/track", response_model=TicketDetail)
def track(session: SessionDep, actor: Requires(TRACK), ticket_id: int) -> TicketDetail:
    """Follow this unfinished ticket (跟踪)."""
    return _act(session, actor, ticket_id, lambda t: tracking.track(session, actor=actor, ticket=t))


@router.post("/{ticket_id}/follow-up", response_model=TicketDetail)
def follow_up(session: SessionDep, actor: Requires(TRACK), ticket_id: int, body: FollowUp) -> TicketDetail:
    """Record a follow-up; `resolved` ends my tracking, `continue` keeps it."""
    return _act(
        session,
        actor,
        ticket_id,
        lambda t: tracking.follow_up(session, actor=actor, ticket=t, note=body.note, result=body.result),
    )


@router.post("/attachments", response_model=AttachmentRead, status_code=201)
def upload(
    session: SessionDep,
    actor: Requires(CREATE, HANDLE),
    file: Annotated[UploadFile, File()],
    ticket_id: Annotated[int | None, Form()] = None,
) -> AttachmentRead:
    """Upload a file: onto a ticket (`ticket_id`), or to name later in a registration or reply."""
    ticket = access.load(session, actor, ticket_id) if ticket_id is not None else None
    row = attachments.upload(
        session,
        actor=actor,
        filename=file.filename or "",
        content_type=file.content_type,
        stream=file.file,
        ticket=ticket,
    )
    return AttachmentRead.model_validate(row)


@router.get("/attachments/{attachment_id}")
def download(
    session: SessionDep, actor: Requires(*ANY_TICKET_RIGHT), attachment_id: int
) -> StreamingResponse:
    """A file of a ticket I may see (or one I uploaded and not attached yet)."""
    row = session.get(TicketAttachment, attachment_id)
    if row is None:
        raise NotFound()
    if row.ticket_id is None:
        if row.uploaded_by_id != actor.user.id:
            raise NotFound()
    else:
        access.load(session, actor, row.ticket_id)
    handle = storage.get_storage().open(row.storage_key)
    quoted = _quote(row.filename)
    return StreamingResponse(
        handle,
        media_type=row.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quoted}",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _quote(name: str) -> str:
    return quote(name, safe="")
