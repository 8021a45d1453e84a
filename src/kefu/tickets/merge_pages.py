"""Pages of ticket merging (案例合并, TKT-11) and ticket → knowledge (TKT-12).

The ticket page loads a panel of its own (`/tickets/{id}/merge-panel`): where the ticket was merged
into, which tickets were merged into it (each with a split-back button), the similar tickets with a
merge form (pick from the list or give serial numbers), and for a closed ticket the knowledge draft
form. Registration shows the similar tickets of what is being typed (`/tickets/similar`).

Each form posts to a page route that calls the same service as the JSON API. Done: the ticket again
(over htmx, the whole ticket fragment replaces the one shown); bad input or a conflict: the panel again
with the message (422 / 409).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from kefu.core import i18n
from kefu.core.errors import KefuError
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.knowledge import access as knowledge_access
from kefu.knowledge import page_common as knowledge_pages
from kefu.knowledge.permissions import ADMIN as KNOWLEDGE_ADMIN
from kefu.knowledge.permissions import EDIT as KNOWLEDGE_EDIT
from kefu.tickets import access, merge_api, merging, similar, to_knowledge
from kefu.tickets import page_views as views
from kefu.tickets.api import ANY_TICKET_RIGHT, MANAGE
from kefu.tickets.models import Ticket, TicketStatus
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import FormDep, field_errors, optional_int
from kefu.web.templating import render

router = APIRouter(prefix="/tickets", include_in_schema=False)

# The processing log's words for the entries this feature writes (the log view looks them up here).
views.LOG_LABELS.setdefault("merged", lazy("Merged"))
views.LOG_LABELS.setdefault("split", lazy("Split back"))
views.LOG_LABELS.setdefault("knowledge_draft", lazy("Knowledge draft written"))
REASONS = {
    "customer": lazy("same customer"),
    "phone": lazy("same phone"),
    "terminal": lazy("same terminal number"),
    "category": lazy("same business type"),
    "text": lazy("similar text"),
}
CHANGED = "ticketChanged"
_SERIALS = re.compile(r"[\s,，、;；]+")


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def _text(form: Any, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _reasons(found: list[similar.Suggestion]) -> list[tuple[similar.Suggestion, str]]:
    return [(s, "、".join(i18n.gettext(REASONS[r]) for r in s.reasons)) for s in found]


def _panel_context(session: Session, actor: Actor, ticket: Ticket, **extra: Any) -> dict[str, Any]:
    can_merge = actor.can(MANAGE) and ticket.is_active and ticket.merged_into_id is None
    can_merge = can_merge and access.in_scope(session, actor, ticket, MANAGE)
    into = session.get(Ticket, ticket.merged_into_id) if ticket.merged_into_id else None
    can_split = into is not None and actor.can(MANAGE) and access.in_scope(session, actor, ticket, MANAGE)
    may_write = actor.can(KNOWLEDGE_EDIT) or actor.can(KNOWLEDGE_ADMIN)
    can_draft = may_write and ticket.status is TicketStatus.CLOSED
    suggestions = (
        similar.suggest(session, actor, similar.Draft.of(ticket))
        if ticket.merged_into_id is None and ticket.is_active
        else []
    )
    drafts = to_knowledge.drafts(session, ticket)
    categories = (
        knowledge_pages.category_options(session, knowledge_access.maintainable_category_ids(session, actor))
        if can_draft and not drafts
        else []
    )
    return {
        "ticket": ticket,
        "into": into,
        "merged_here": merging.merged_into_this(session, ticket),
        "suggestions": _reasons(suggestions),
        "can_merge": can_merge,
        "can_split": can_split,
        "can_draft": can_draft,
        "knowledge_drafts": drafts,
        "knowledge_categories": categories,
        "errors": {},
        "values": {},
        "failed": "",
        "notice": "",
        **extra,
    }


def _panel(
    request: Request, session: Session, actor: Actor, ticket: Ticket, *, status: int = 200, **extra: Any
) -> Response:
    context = _panel_context(session, actor, ticket, **extra)
    template = "tickets/tickets/merge_panel.html" if _is_htmx(request) else "tickets/tickets/merge.html"
    return render(request, template, context, status_code=status)


@router.get("/similar")
def similar_to_draft(
    request: Request,
    session: SessionDep,
    actor: Requires(*ANY_TICKET_RIGHT),
    subject: str = "",
    description: str = "",
    customer_phone: str = "",
    customer_id: str = "",
    terminal_no: str = "",
    type_id: str = "",
) -> Response:
    """The similar tickets of a registration being typed (a fragment of the registration form)."""
    draft = merge_api.draft_of(
        session,
        subject=subject,
        description=description,
        customer_id=optional_int(customer_id),
        customer_phone=customer_phone,
        terminal_no=terminal_no,
        category_id=None,
        type_id=optional_int(type_id),
    )
    found = similar.suggest(session, actor, draft, limit=5) if (draft.subject or draft.description) else []
    return render(request, "tickets/tickets/merge_similar.html", {"suggestions": _reasons(found)})


@router.get("/{ticket_id}/merge-panel")
def merge_panel(
    request: Request, session: SessionDep, actor: Requires(*ANY_TICKET_RIGHT), ticket_id: int
) -> Response:
    """The merge panel of the ticket page (the full page without htmx)."""
    return _panel(request, session, actor, access.load(session, actor, ticket_id))


def _done(request: Request, session: Session, actor: Actor, ticket: Ticket, notice: str) -> Response:
    """The ticket as it is now: over htmx the whole ticket fragment, else a redirect to its page."""
    session.flush()
    if not _is_htmx(request):
        return RedirectResponse(f"/tickets/{ticket.id}", status_code=303)
    session.refresh(ticket)
    context = {
        **views.detail(session, actor, ticket),
        "errors": {},
        "failed": "",
        "values": {},
        "notice": notice,
    }
    headers = {"HX-Trigger": CHANGED, "HX-Retarget": "#ticket-detail", "HX-Reswap": "outerHTML"}
    return render(request, "tickets/tickets/_detail.html", context, headers=headers)


def _failed(
    request: Request, session: Session, actor: Actor, ticket_id: int, form: Any, exc: KefuError, failed: str
) -> Response:
    session.rollback()
    ticket = access.load(session, actor, ticket_id)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    values["ticket_ids"] = [v for v in form.getlist("ticket_ids") if isinstance(v, str)]
    return _panel(
        request,
        session,
        actor,
        ticket,
        status=exc.status_code,
        errors=field_errors(exc),
        values=values,
        failed=failed,
    )


def _version(form: Any) -> int:
    found = optional_int(form.get("version"))
    return found if found is not None else -1  # a form without its version is stale by definition


@router.post("/{ticket_id}/merge")
def merge(
    request: Request, session: SessionDep, actor: Requires(MANAGE), ticket_id: int, form: FormDep
) -> Response:
    """Merge the chosen tickets (from the similar list, or by serial number) into this one."""
    survivor = access.load(session, actor, ticket_id)
    try:
        ids = [i for i in (optional_int(v) for v in form.getlist("ticket_ids")) if i is not None]
        serials = [s for s in _SERIALS.split(_text(form, "serials")) if s]
        merging.merge(
            session,
            actor=actor,
            survivor=survivor,
            ticket_ids=merge_api.resolve_ids(session, actor, ids, serials),
            expected_version=_version(form),
            comment=_text(form, "comment"),
        )
    except KefuError as exc:
        if exc.status_code not in (403, 409, 422):
            raise
        return _failed(request, session, actor, ticket_id, form, exc, "merge")
    return _done(request, session, actor, survivor, i18n.gettext("The tickets were merged into this one."))


@router.post("/{ticket_id}/split")
def split(
    request: Request, session: SessionDep, actor: Requires(MANAGE), ticket_id: int, form: FormDep
) -> Response:
    """Split this merged ticket back out of the ticket it was merged into."""
    ticket = access.load(session, actor, ticket_id)
    try:
        merging.split(
            session,
            actor=actor,
            ticket=ticket,
            expected_version=_version(form),
            comment=_text(form, "comment"),
        )
    except KefuError as exc:
        if exc.status_code not in (403, 409, 422):
            raise
        return _failed(request, session, actor, ticket_id, form, exc, "split")
    return _done(request, session, actor, ticket, i18n.gettext("The ticket was split back out."))


@router.post("/{ticket_id}/knowledge-draft")
def knowledge_draft(
    request: Request,
    session: SessionDep,
    actor: Requires(KNOWLEDGE_EDIT, KNOWLEDGE_ADMIN),
    ticket_id: int,
    form: FormDep,
) -> Response:
    """Draft a knowledge article from this closed ticket in the chosen category."""
    ticket = access.load(session, actor, ticket_id)
    try:
        article = to_knowledge.draft(
            session, actor=actor, ticket=ticket, category_id=_text(form, "category_id")
        )
    except KefuError as exc:
        if exc.status_code not in (403, 409, 422):
            raise
        return _failed(request, session, actor, ticket_id, form, exc, "knowledge")
    notice = i18n.gettext("Knowledge draft %(number)s was written.") % {"number": article.number}
    return _done(request, session, actor, ticket, notice)
