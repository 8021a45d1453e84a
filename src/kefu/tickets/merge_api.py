"""Ticket merging over HTTP: merge and split back (案例合并, TKT-11), similar-ticket suggestions for a
ticket and for a registration being typed, and a closed ticket → knowledge draft (TKT-12)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.errors import FieldError
from kefu.core.permissions import Actor
from kefu.knowledge.permissions import ADMIN as KNOWLEDGE_ADMIN
from kefu.knowledge.permissions import EDIT as KNOWLEDGE_EDIT
from kefu.tickets import access, merging, similar, to_knowledge
from kefu.tickets.api import ANY_TICKET_RIGHT, MANAGE, detail
from kefu.tickets.merge_schemas import (
    KnowledgeDraftAction,
    KnowledgeDraftRead,
    MergeAction,
    MergedTicketDetail,
    MergeRead,
    SimilarRead,
    SplitAction,
)
from kefu.tickets.models import Ticket, TicketType
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])


def merged_detail(session: Session, actor: Actor, ticket: Ticket) -> MergedTicketDetail:
    base = detail(session, actor, ticket).model_dump()
    return MergedTicketDetail.model_validate(
        {
            **base,
            "merged_into_id": ticket.merged_into_id,
            "merged_at": ticket.merged_at,
            "close_reason": ticket.close_reason,
        }
    )


def resolve_ids(session: Session, actor: Actor, ticket_ids: list[int], serials: list[str]) -> list[int]:
    """Ticket ids, with serial numbers turned into ids (a serial the actor cannot see is unknown)."""
    ids = list(ticket_ids)
    wanted = [s.strip() for s in serials if s.strip()]
    if wanted:
        stmt = access.restrict(select(Ticket.serial, Ticket.id).where(Ticket.serial.in_(wanted)), actor)
        found = dict(session.execute(stmt).tuples().all())
        missing = [s for s in wanted if s not in found]
        if missing:
            raise FieldError("serials", "No such ticket: %(serials)s", serials=", ".join(missing))
        ids += [found[s] for s in wanted]
    return ids


@router.post("/{ticket_id}/merge", response_model=MergedTicketDetail)
def merge(
    session: SessionDep, actor: Requires(MANAGE), ticket_id: int, body: MergeAction
) -> MergedTicketDetail:
    """Merge (合并) the given tickets into this one: they are withdrawn as `merged` and point here;
    their files, contact links and trackings move here; the logs of both sides note it."""
    survivor = access.load(session, actor, ticket_id)
    merging.merge(
        session,
        actor=actor,
        survivor=survivor,
        ticket_ids=resolve_ids(session, actor, body.ticket_ids, body.serials),
        expected_version=body.version,
        comment=body.comment,
    )
    return merged_detail(session, actor, survivor)


@router.post("/{ticket_id}/split", response_model=MergedTicketDetail)
def split(
    session: SessionDep, actor: Requires(MANAGE), ticket_id: int, body: SplitAction
) -> MergedTicketDetail:
    """Split (拆分) this merged ticket back out: exactly what the merge moved comes back, and the ticket
    starts a new run of its flow."""
    ticket = access.load(session, actor, ticket_id)
    merging.split(session, actor=actor, ticket=ticket, expected_version=body.version, comment=body.comment)
    return merged_detail(session, actor, ticket)


@router.get("/{ticket_id}/merges", response_model=list[MergeRead])
def merges(session: SessionDep, actor: Requires(*ANY_TICKET_RIGHT), ticket_id: int) -> list[MergeRead]:
    """Every merge this ticket took part in (as survivor or as merged), newest first."""
    ticket = access.load(session, actor, ticket_id)
    found = []
    for line in merging.history(session, ticket):
        m = line.merge
        here_survives = m.survivor_id == ticket.id
        found.append(
            MergeRead(
                id=m.id,
                survivor_id=m.survivor_id,
                survivor_serial=ticket.serial if here_survives else line.ticket.serial,
                merged_id=m.merged_id,
                merged_serial=line.ticket.serial if here_survives else ticket.serial,
                by_id=m.by_id,
                at=m.at,
                comment=m.comment,
                moved=m.moved or {},
                split_at=m.split_at,
                split_by_id=m.split_by_id,
            )
        )
    return found


def similar_read(found: list[similar.Suggestion]) -> list[SimilarRead]:
    return [
        SimilarRead(
            id=s.ticket.id,
            serial=s.ticket.serial,
            subject=s.ticket.subject,
            status=s.ticket.status,
            customer_name=s.ticket.customer_name,
            customer_phone=s.ticket.customer_phone,
            terminal_no=s.ticket.terminal_no,
            category_id=s.ticket.category_id,
            created_at=s.ticket.created_at,
            score=s.score,
            text_similarity=s.text,
            reasons=s.reasons,
        )
        for s in found
    ]


def draft_of(
    session: Session,
    *,
    subject: str,
    description: str,
    customer_id: int | None,
    customer_phone: str,
    terminal_no: str,
    category_id: int | None,
    type_id: int | None,
) -> similar.Draft:
    """A registration being typed; the ticket type gives the category when none is named."""
    if category_id is None and type_id is not None:
        ticket_type = session.get(TicketType, type_id)
        category_id = ticket_type.category_id if ticket_type is not None else None
    return similar.Draft(
        subject=subject.strip()[:200],
        description=description.strip()[:20000],
        customer_id=customer_id,
        customer_phone=customer_phone.strip()[:40],
        terminal_no=terminal_no.strip()[:100],
        category_id=category_id,
    )


@router.get("/similar", response_model=list[SimilarRead])
def similar_to_draft(
    session: SessionDep,
    actor: Requires(*ANY_TICKET_RIGHT),
    subject: str = "",
    description: str = "",
    customer_id: int | None = None,
    customer_phone: str = "",
    terminal_no: str = "",
    category_id: int | None = None,
    type_id: int | None = None,
    days: int = Query(default=similar.WINDOW_DAYS, ge=1, le=365),
    limit: int = Query(default=10, ge=1, le=50),
) -> list[SimilarRead]:
    """Tickets like a registration being typed (same customer / phone / terminal / category within
    `days`, and text similarity), best first; only tickets I may see."""
    draft = draft_of(
        session,
        subject=subject,
        description=description,
        customer_id=customer_id,
        customer_phone=customer_phone,
        terminal_no=terminal_no,
        category_id=category_id,
        type_id=type_id,
    )
    return similar_read(similar.suggest(session, actor, draft, days=days, limit=limit))


@router.get("/{ticket_id}/similar", response_model=list[SimilarRead])
def similar_to_ticket(
    session: SessionDep,
    actor: Requires(*ANY_TICKET_RIGHT),
    ticket_id: int,
    days: int = Query(default=similar.WINDOW_DAYS, ge=1, le=365),
    limit: int = Query(default=10, ge=1, le=50),
) -> list[SimilarRead]:
    """Tickets like this one (merge candidates), best first; only tickets I may see, never merged ones."""
    ticket = access.load(session, actor, ticket_id)
    return similar_read(similar.suggest(session, actor, similar.Draft.of(ticket), days=days, limit=limit))


@router.post("/{ticket_id}/knowledge-draft", response_model=KnowledgeDraftRead, status_code=201)
def knowledge_draft(
    session: SessionDep,
    actor: Requires(KNOWLEDGE_EDIT, KNOWLEDGE_ADMIN),
    ticket_id: int,
    body: KnowledgeDraftAction,
) -> KnowledgeDraftRead:
    """Draft a knowledge article (转知识库) from this closed ticket: question, resolution, link back."""
    ticket = access.load(session, actor, ticket_id)
    article = to_knowledge.draft(session, actor=actor, ticket=ticket, category_id=body.category_id)
    return KnowledgeDraftRead(
        article_id=article.id,
        number=article.number,
        title=article.title,
        status=article.status.value,
        link=f"/knowledge/manage/{article.id}",
    )
