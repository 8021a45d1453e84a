"""Closed ticket → knowledge article draft (已关闭案例转知识库, TKT-12).

The draft holds the question (the ticket's subject and description), the resolution (the handlers'
replies and completion comments, in order) and a link back to the ticket; it starts in the knowledge
review lifecycle as any draft does (the author edits and submits it). The knowledge service checks the
author's right to write in the chosen category; the ticket's log notes the draft.
"""

from __future__ import annotations

from typing import Any

from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import i18n
from kefu.core.errors import Conflict
from kefu.core.permissions import Actor
from kefu.knowledge import articles, content
from kefu.knowledge.models import Article
from kefu.tickets import queries, service
from kefu.tickets.merge_models import TicketKnowledgeDraft
from kefu.tickets.models import Ticket, TicketStatus

# The log entries whose comments make up the resolution.
RESOLUTION_ACTIONS = ("replied", "completed")


def drafts(session: Session, ticket: Ticket) -> list[Article]:
    """The knowledge articles drafted from `ticket`, oldest first."""
    stmt = (
        select(Article)
        .join(TicketKnowledgeDraft, TicketKnowledgeDraft.article_id == Article.id)
        .where(TicketKnowledgeDraft.ticket_id == ticket.id)
        .order_by(TicketKnowledgeDraft.id)
    )
    return list(session.scalars(stmt))


def resolution(session: Session, ticket: Ticket) -> list[str]:
    """The replies and completion comments of the ticket, in the order they were written."""
    return [
        line.entry.comment.strip()
        for line in queries.log(session, ticket)
        if line.entry.action in RESOLUTION_ACTIONS and line.entry.comment.strip()
    ]


def _paragraphs(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "<p>" + "<br>".join(str(escape(line)) for line in lines) + "</p>" if lines else ""


def body_html(ticket: Ticket, answers: list[str]) -> str:
    """The article body: question, resolution and the link back (escaped; the knowledge service
    sanitises it again)."""
    parts = [f"<h3>{escape(i18n.gettext('Question'))}</h3>", _paragraphs(ticket.subject)]
    parts.append(_paragraphs(ticket.description))
    parts.append(f"<h3>{escape(i18n.gettext('Resolution'))}</h3>")
    if answers:
        parts.append("<ol>" + "".join(f"<li>{_paragraphs(a)}</li>" for a in answers) + "</ol>")
    else:
        parts.append(f"<p>{escape(i18n.gettext('(no resolution was recorded on the ticket)'))}</p>")
    link = f'<a href="/tickets/{ticket.id}">{escape(ticket.serial)}</a>'
    parts.append(f"<p>{escape(i18n.gettext('Source ticket'))}: {link}</p>")
    return "".join(p for p in parts if p)


def draft(session: Session, *, actor: Actor, ticket: Ticket, category_id: Any) -> Article:
    """Write a knowledge article draft from the closed `ticket` into the category `category_id`."""
    if ticket.status is not TicketStatus.CLOSED:
        raise Conflict("Only a closed ticket can become a knowledge article")
    service.begin_change(session, ticket, None)  # one draft at a time per ticket
    existing = drafts(session, ticket)
    if existing:
        raise Conflict(
            "A knowledge article was already drafted from this ticket (%(number)s)", number=existing[0].number
        )
    summary = (ticket.description or ticket.subject).strip()[: content.SUMMARY_MAX]
    article = articles.create_article(
        session,
        actor=actor,
        category_id=category_id,
        title=ticket.subject,
        summary=summary,
        body_html=body_html(ticket, resolution(session, ticket)),
        business_category_id=ticket.category_id,
        change_note=i18n.gettext("Written from ticket %(serial)s") % {"serial": ticket.serial},
    )
    session.add(TicketKnowledgeDraft(ticket_id=ticket.id, article_id=article.id, by_id=actor.user.id))
    service.log_entry(
        session,
        ticket,
        actor,
        "knowledge_draft",
        comment=f"{article.number} {article.title}",
        detail={"article_id": article.id},
    )
    service.audit_action(session, actor, ticket, "to_knowledge", summary=article.number)
    session.flush()
    return article
