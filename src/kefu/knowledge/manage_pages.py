"""Knowledge management pages (知识内容管理, KB-2 … KB-4): the seed's layout — query area, article
list, and the version list of the chosen article beside it — one article with its versions, history,
diff and the actions its reader may take now, and the editor.

Every form posts to a page route that calls the same service as the JSON API. Bad input re-shows the
form with the message beside the field (422); a stale `lock_version` or an action that is no longer
possible re-shows the article with the message (409).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from kefu.core import i18n, richtext
from kefu.core.errors import FieldError, KefuError
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.knowledge import access, actions, articles, common, diff, lifecycle, views
from kefu.knowledge import page_common as pc
from kefu.knowledge.models import Article
from kefu.knowledge.permissions import ADMIN, EDIT, MANAGE_ANY
from kefu.web.deps import Requires, SessionDep
from kefu.web.templating import render

router = APIRouter(prefix="/knowledge/manage", include_in_schema=False)
Manager = Requires(*MANAGE_ANY)
Writer = Requires(EDIT, ADMIN)
PAGE_SIZE = 30
STATUSES = [
    *((s.value, label) for s, (label, _colour) in pc.ARTICLE_STATUS.items()),
    ("in_review", lazy("Waiting for review")),
]


@router.get("")
def manage_list(request: Request, session: SessionDep, actor: Manager, offset: int = 0) -> Response:
    """Query area, article list, and (htmx) the chosen article's version list."""
    params = request.query_params
    raw = {k: params.get(k, "") for k in ("q", "category_id", "status", "mine", "selected")}
    filters = views.Filters(
        text=raw["q"],
        category_id=pc.int_or_none(raw["category_id"]),
        status=raw["status"],
        mine=raw["mine"] == "1",
    )
    errors: dict[str, str] = {}
    total, rows = 0, list[views.ManagedRow]()
    try:
        total, rows = views.managed(session, actor, filters, limit=PAGE_SIZE, offset=max(0, offset))
    except KefuError as exc:
        if exc.status_code != 422:
            raise
        errors = pc.messages(session, exc)
    selected = None
    if (chosen := pc.int_or_none(raw["selected"])) is not None:
        try:
            selected = access.load_managed(session, actor, chosen)
        except KefuError:
            selected = None
    context = {
        "raw": raw,
        "errors": errors,
        "total": total,
        "rows": rows,
        "offset": max(0, offset),
        "page_size": PAGE_SIZE,
        "categories": pc.category_options(session),
        "statuses": [(code, i18n.gettext(label)) for code, label in STATUSES],
        "selected": selected,
        "selected_versions": views.versions(session, selected) if selected is not None else [],
        "can_write": actor.can(EDIT) or actor.can(ADMIN),
        **pc.labels(),
    }
    fragment = pc.is_htmx(request) and request.headers.get("hx-target") == "manage-list"
    template = "knowledge/knowledge/_manage_list.html" if fragment else "knowledge/knowledge/manage.html"
    return render(request, template, context, status_code=422 if errors else 200)


# "/new" before "/{article_id}": the editor of a new article is not an article.
@router.get("/new")
def new_article(request: Request, session: SessionDep, actor: Writer) -> Response:
    category = request.query_params.get("category_id", "")
    return _editor(
        request, session, actor, article=None, values={"category_id": category, "audience": "internal"}
    )


@router.post("/new")
def create(request: Request, session: SessionDep, actor: Writer, form: pc.FormDep) -> Response:
    try:
        given = _given(session, actor, form)
        article = articles.create_article(
            session, actor=actor, category_id=pc.text(form, "category_id"), **given
        )
        if pc.text(form, "then") == "submit":
            lifecycle.submit(session, actor=actor, article=article, expected_version=article.lock_version)
    except KefuError as exc:
        if not pc.shown_again(exc):
            raise
        errors = pc.messages(session, exc)
        return _editor(
            request,
            session,
            actor,
            article=None,
            values=pc.values(form),
            errors=errors,
            status=exc.status_code,
        )
    return RedirectResponse(f"/knowledge/manage/{article.id}", status_code=303)


@router.get("/{article_id}/versions")
def version_list(request: Request, session: SessionDep, actor: Manager, article_id: int) -> Response:
    """The version list (版本列表) of one article: the fragment beside the article list."""
    article = access.load_managed(session, actor, article_id)
    context = {"selected": article, "selected_versions": views.versions(session, article), **pc.labels()}
    return render(request, "knowledge/knowledge/_version_list.html", context)


# --- one article -----------------------------------------------------------------------------------------


def _detail_page(
    request: Request,
    session: Session,
    actor: Actor,
    article: Article,
    *,
    errors: dict[str, str] | None = None,
    failed: str = "",
    status: int = 200,
) -> Response:
    session.flush()
    session.refresh(article)
    open_version = common.open_version(session, article)
    live = common.live_version(session, article)
    names = views.Names(session)
    change = None
    if open_version is not None and live is not None and open_version.id != live.id:
        change = diff.compare(live, open_version, show=names.show)
    context = {
        "article": article,
        "open_version": open_version,
        "live": live,
        "change": change,
        "versions": views.versions(session, article),
        "history": views.history(session, article),
        "actions": actions.available(session, actor, article, open_version),
        "directory": names.directory(article.category_id),
        "names": names,
        "authors": names.users([v.author_id for v in views.versions(session, article)]),
        "move_options": pc.category_options(session, access.maintainable_category_ids(session, actor)),
        "errors": errors or {},
        "failed": failed,
        **pc.labels(),
    }
    return render(request, "knowledge/knowledge/manage_article.html", context, status_code=status)


@router.get("/{article_id}")
def article_detail(request: Request, session: SessionDep, actor: Manager, article_id: int) -> Response:
    return _detail_page(request, session, actor, access.load_managed(session, actor, article_id))


@router.get("/{article_id}/versions/{number}")
def version_page(
    request: Request, session: SessionDep, actor: Manager, article_id: int, number: int
) -> Response:
    article = access.load_managed(session, actor, article_id)
    version = common.get_version(session, article, number)
    names = views.Names(session)
    context = {
        "article": article,
        "version": version,
        "names": names,
        "people": names.users([version.author_id, version.reviewer_id, version.published_by_id]),
        **pc.labels(),
    }
    return render(request, "knowledge/knowledge/version.html", context)


@router.get("/{article_id}/diff")
def diff_page(
    request: Request, session: SessionDep, actor: Manager, article_id: int, old: int, new: int
) -> Response:
    article = access.load_managed(session, actor, article_id)
    names = views.Names(session)
    result = diff.compare(
        common.get_version(session, article, old), common.get_version(session, article, new), show=names.show
    )
    return render(
        request, "knowledge/knowledge/diff.html", {"article": article, "change": result, **pc.labels()}
    )


Step = Callable[[Session, Actor, Article, FormData], Any]


def _comment(form: FormData) -> dict[str, Any]:
    return {"expected_version": pc.lock_version(form), "comment": pc.text(form, "comment")}


STEPS: dict[str, Step] = {
    "submit": lambda s, a, art, f: lifecycle.submit(s, actor=a, article=art, **_comment(f)),
    "withdraw": lambda s, a, art, f: lifecycle.withdraw(
        s, actor=a, article=art, expected_version=pc.lock_version(f)
    ),
    "approve": lambda s, a, art, f: lifecycle.approve(s, actor=a, article=art, **_comment(f)),
    "reject": lambda s, a, art, f: lifecycle.reject(s, actor=a, article=art, **_comment(f)),
    "publish": lambda s, a, art, f: lifecycle.publish(
        s,
        actor=a,
        article=art,
        expected_version=pc.lock_version(f),
        publish_at=pc.text(f, "publish_at") or None,
    ),
    "archive": lambda s, a, art, f: lifecycle.archive(s, actor=a, article=art, **_comment(f)),
    "revoke": lambda s, a, art, f: lifecycle.revoke(s, actor=a, article=art, **_comment(f)),
    "hot": lambda s, a, art, f: articles.set_hot(
        s, actor=a, article=art, expected_version=pc.lock_version(f), hot=pc.text(f, "hot") == "1"
    ),
    "move": lambda s, a, art, f: articles.move_article(
        s, actor=a, article=art, expected_version=pc.lock_version(f), category_id=pc.text(f, "category_id")
    ),
}


@router.post("/{article_id}/discard")
def discard(
    request: Request, session: SessionDep, actor: Writer, article_id: int, form: pc.FormDep
) -> Response:
    article = access.load_managed(session, actor, article_id)
    try:
        kept = articles.discard_draft(
            session, actor=actor, article=article, expected_version=pc.lock_version(form)
        )
    except KefuError as exc:
        if not pc.shown_again(exc):
            raise
        errors = pc.messages(session, exc)
        return _detail_page(
            request,
            session,
            actor,
            access.load_managed(session, actor, article_id),
            errors=errors,
            failed="discard",
            status=exc.status_code,
        )
    return RedirectResponse(
        f"/knowledge/manage/{article_id}" if kept else "/knowledge/manage", status_code=303
    )


# --- the editor ----------------------------------------------------------------------------------------


def _editor(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    article: Article | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    files = []
    if article is not None:
        version = common.open_version(session, article) or common.live_version(session, article)
        files = list(version.attachments) if version is not None else []
    if values.get("body_html"):  # shown in the editor as HTML: only what would be stored
        values = {**values, "body_html": richtext.sanitize(str(values["body_html"]))}
    context = {
        "article": article,
        "values": values,
        "errors": errors or {},
        "files": files,
        "categories": pc.category_options(session, access.maintainable_category_ids(session, actor)),
        "business_types": pc.business_type_options(session),
        "attributes": pc.attribute_options(session),
        **pc.labels(),
    }
    return render(request, "knowledge/knowledge/editor.html", context, status_code=status)


def _values_of(article: Article, session: Session) -> dict[str, Any]:
    version = common.open_version(session, article) or common.live_version(session, article)
    assert version is not None
    return {
        "category_id": article.category_id,
        "title": version.title,
        "summary": version.summary,
        "body_html": version.body_html,
        "keywords": version.keywords,
        "business_category_id": version.business_category_id or "",
        "business_attrs": list(version.business_attrs or []),
        "audience": version.audience.value,
        "publish_at": pc.local_input(version.publish_at),
        "expires_at": pc.local_input(version.expires_at),
        "change_note": version.change_note if version.status.value != "published" else "",
        "keep_files": [str(a.id) for a in version.attachments],
        "lock_version": article.lock_version,
    }


@router.get("/{article_id}/edit")
def edit_article(request: Request, session: SessionDep, actor: Writer, article_id: int) -> Response:
    article = access.load_managed(session, actor, article_id)
    access.require_maintain(session, actor, article.category)
    return _editor(request, session, actor, article=article, values=_values_of(article, session))


def _given(session: Session, actor: Actor, form: FormData) -> dict[str, Any]:
    uploads = []
    for item in form.getlist("files"):
        if isinstance(item, UploadFile) and item.filename:
            try:
                row = articles.upload(
                    session,
                    actor=actor,
                    filename=item.filename,
                    content_type=item.content_type,
                    stream=item.file,
                )
            except FieldError as exc:
                raise FieldError("files", exc.message, **exc.params) from None
            uploads.append(row.id)
    keep = [int(v) for v in form.getlist("keep_files") if isinstance(v, str) and v.isdigit()]
    return {
        "title": pc.text(form, "title"),
        "summary": pc.text(form, "summary"),
        "body_html": pc.text(form, "body_html"),
        "keywords": pc.text(form, "keywords"),
        "business_category_id": pc.text(form, "business_category_id") or None,
        "business_attrs": [v for v in form.getlist("business_attrs") if isinstance(v, str)],
        "audience": pc.text(form, "audience") or "internal",
        "publish_at": pc.text(form, "publish_at") or None,
        "expires_at": pc.text(form, "expires_at") or None,
        "change_note": pc.text(form, "change_note"),
        "attachment_ids": [*keep, *uploads],
    }


@router.post("/{article_id}/edit")
def save(request: Request, session: SessionDep, actor: Writer, article_id: int, form: pc.FormDep) -> Response:
    article = access.load_managed(session, actor, article_id)
    try:
        given = _given(session, actor, form)
        articles.save_draft(
            session, actor=actor, article=article, expected_version=pc.lock_version(form), **given
        )
        if pc.text(form, "then") == "submit":
            lifecycle.submit(session, actor=actor, article=article, expected_version=article.lock_version)
    except KefuError as exc:
        if not pc.shown_again(exc):
            raise
        errors = pc.messages(session, exc)
        article = access.load_managed(session, actor, article_id)
        return _editor(
            request,
            session,
            actor,
            article=article,
            values=pc.values(form),
            errors=errors,
            status=exc.status_code,
        )
    return RedirectResponse(f"/knowledge/manage/{article_id}", status_code=303)


# Last: "/{article_id}/{action}" would otherwise catch "/{article_id}/edit".
@router.post("/{article_id}/{action}")
def act(
    request: Request, session: SessionDep, actor: Manager, article_id: int, action: str, form: pc.FormDep
) -> Response:
    """One lifecycle action from the article page; back to the article, or the message beside it."""
    step = STEPS.get(action)
    if step is None:
        return Response(status_code=404)
    article = access.load_managed(session, actor, article_id)
    try:
        step(session, actor, article, form)
    except KefuError as exc:
        if not pc.shown_again(exc):
            raise
        errors = pc.messages(session, exc)
        article = access.load_managed(session, actor, article_id)
        return _detail_page(
            request, session, actor, article, errors=errors, failed=action, status=exc.status_code
        )
    return RedirectResponse(f"/knowledge/manage/{article_id}", status_code=303)
