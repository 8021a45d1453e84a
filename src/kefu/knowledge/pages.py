"""Knowledge pages for readers: search (知识检索, KB-5) with the seed's result columns, one published
article with its files, and sending it to a customer (KB-7).

The search form reloads only the result list over htmx (and pushes the query into the address, so a
search can be bookmarked and shared); without JavaScript it is an ordinary GET form.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from kefu.core.errors import KefuError
from kefu.core.permissions import Actor
from kefu.knowledge import access, clicks, common, sending
from kefu.knowledge import page_common as pc
from kefu.knowledge import search as knowledge_search
from kefu.knowledge.api import sending_note
from kefu.knowledge.models import Article, Audience
from kefu.knowledge.permissions import ANSWER, ASK, CATEGORIES, MANAGE_ANY, PUBLISH, REVIEW, SEND, VIEW
from kefu.knowledge.views import Names
from kefu.web import nav
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import optional_int
from kefu.web.templating import render

router = APIRouter(prefix="/knowledge", include_in_schema=False)
nav.section("knowledge", "Knowledge base", 30)
nav.register(nav.NavItem("knowledge", "Search knowledge", "/knowledge", "bi-search", (VIEW,), 10))
nav.register(
    nav.NavItem("knowledge", "Manage knowledge", "/knowledge/manage", "bi-journal-richtext", MANAGE_ANY, 20)
)
nav.register(
    nav.NavItem(
        "knowledge", "Knowledge review", "/knowledge/review", "bi-clipboard-check", (REVIEW, PUBLISH), 30
    )
)
nav.register(
    nav.NavItem(
        "knowledge", "Questions and answers", "/knowledge/questions", "bi-question-circle", (ASK, ANSWER), 40
    )
)
nav.register(
    nav.NavItem(
        "knowledge", "Knowledge categories", "/knowledge/categories", "bi-folder2-open", (CATEGORIES,), 50
    )
)

PAGE_SIZE = 20


def _query(request: Request) -> tuple[knowledge_search.Query, dict[str, str]]:
    params = request.query_params
    raw = {
        key: params.get(key, "")
        for key in (
            "q",
            "mode",
            "category_id",
            "business_category_id",
            "keywords",
            "hot",
            "created_from",
            "created_to",
            "published_from",
            "published_to",
            "scope",
        )
    }
    query = knowledge_search.Query(
        text=raw["q"],
        mode=raw["mode"] if raw["mode"] in knowledge_search.MODES else "fulltext",
        category_id=pc.int_or_none(raw["category_id"]),
        business_category_id=pc.int_or_none(raw["business_category_id"]),
        keywords=raw["keywords"],
        hot={"1": True, "0": False}.get(raw["hot"]),
        created_from=pc.parse_date(raw["created_from"]),
        created_to=pc.parse_date(raw["created_to"]),
        published_from=pc.parse_date(raw["published_from"]),
        published_to=pc.parse_date(raw["published_to"]),
        audience=Audience.PUBLIC if raw["scope"] == "public" else None,
    )
    return query, raw


@router.get("")
def search_page(request: Request, session: SessionDep, actor: Requires(VIEW), offset: int = 0) -> Response:
    """The search page: the query area and the result list (the list alone for htmx)."""
    query, raw = _query(request)
    offset = max(0, min(offset, 10_000))
    errors: dict[str, str] = {}
    page = None
    try:
        page = knowledge_search.run(session, actor, query, limit=PAGE_SIZE, offset=offset)
    except KefuError as exc:
        if exc.status_code != 422:
            raise
        errors = pc.messages(session, exc)
    advanced = any(raw[k] for k in raw if k not in ("q", "mode"))
    context = {
        "page": page,
        "raw": raw,
        "errors": errors,
        "advanced": advanced,
        "offset": offset,
        "page_size": PAGE_SIZE,
        "query_string": urlencode({k: v for k, v in raw.items() if v}),
        "categories": pc.category_options(session),
        "business_types": pc.business_type_options(session),
        **pc.labels(),
    }
    fragment = pc.is_htmx(request) and request.headers.get("hx-target") == "knowledge-results"
    template = "knowledge/knowledge/_results.html" if fragment else "knowledge/knowledge/search.html"
    return render(request, template, context, status_code=422 if errors else 200)


def _send_choices(session: Session) -> dict[str, Any]:
    """The channels that have a gateway, and the knowledge templates of the first of them."""
    from sqlalchemy import select

    from kefu.core import i18n
    from kefu.messaging import gateways
    from kefu.messaging.models import Channel, Implementation, MessageTemplate, TemplateKind

    labels = {Channel.SMS: i18n.gettext("SMS"), Channel.EMAIL: i18n.gettext("Email")}
    channels = [
        (c.value, labels[c])
        for c in Channel
        if gateways.load(session, c).implementation is not Implementation.OFF
    ]
    templates = session.execute(
        select(MessageTemplate.id, MessageTemplate.name, MessageTemplate.channel)
        .where(MessageTemplate.kind == TemplateKind.KNOWLEDGE, MessageTemplate.enabled.is_(True))
        .order_by(MessageTemplate.code)
    ).all()
    return {
        "channels": channels,
        "templates": [(str(t.id), f"{t.name} ({labels[t.channel]})") for t in templates],
    }


def _article_page(
    request: Request,
    session: Session,
    actor: Actor,
    article: Article,
    *,
    sent: Any = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    version = common.live_version(session, article)
    names = Names(session)
    context = {
        "article": article,
        "version": version,
        "directory": names.directory(article.category_id),
        "business_type": names.business_type(article.business_category_id),
        "attributes": names.attributes(article.business_attrs),
        "can_send": actor.can(SEND) and article.audience is Audience.PUBLIC,
        "can_manage": actor.can_any(*MANAGE_ANY),
        **_send_choices(session),
        "sent": sent,
        "sent_note": sending_note(sent) if sent is not None else "",
        "errors": errors or {},
        "values": values or {},
        **pc.labels(),
    }
    return render(request, "knowledge/knowledge/article.html", context, status_code=status)


@router.get("/articles/{article_id}")
def article_page(request: Request, session: SessionDep, actor: Requires(VIEW), article_id: int) -> Response:
    """A published article as agents read it (counts one view, without a database write)."""
    article = access.load_readable(session, actor, article_id)
    clicks.count_view(article.id)
    return _article_page(request, session, actor, article)


@router.post("/articles/{article_id}/send")
def send_page(
    request: Request, session: SessionDep, actor: Requires(SEND), article_id: int, form: pc.FormDep
) -> Response:
    """Send the article to a customer; the page says whether it was queued or cannot be sent yet."""
    article = access.load_readable(session, actor, article_id)
    try:
        row = sending.send_knowledge(
            session,
            actor,
            article.id,
            channel=pc.text(form, "channel"),
            to=pc.text(form, "to"),
            template_id=optional_int(pc.text(form, "template_id")),
            confirm_dnd=bool(pc.text(form, "confirm_dnd")),
        )
    except KefuError as exc:
        if not pc.shown_again(exc):
            raise
        errors = pc.messages(session, exc)
        article = access.load_readable(session, actor, article_id)
        return _article_page(
            request, session, actor, article, errors=errors, values=pc.values(form), status=exc.status_code
        )
    return _article_page(request, session, actor, article, sent=row)
