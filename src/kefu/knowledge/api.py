"""Knowledge over HTTP: search and read published knowledge, manage articles and their versions, the
review queue, lifecycle actions, files, and sending knowledge to a customer.

Management actions answer with the article as it is now (with its new `lock_version`); a stale
`lock_version` is a 409 with the current state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from kefu.core import storage
from kefu.core.errors import NotFound
from kefu.core.permissions import Actor
from kefu.knowledge import access, actions, articles, clicks, common, diff, lifecycle, sending, views
from kefu.knowledge import search as knowledge_search
from kefu.knowledge.models import Article, ArticleVersion, Audience, KnowledgeAttachment
from kefu.knowledge.permissions import ADMIN, EDIT, MANAGE_ANY, PUBLISH, REVIEW, SEND, VIEW
from kefu.knowledge.schemas import (
    ArticleCreate,
    ArticleDetail,
    ArticleRead,
    AttachmentRead,
    CommentAction,
    DiffRead,
    DraftSave,
    HotAction,
    LogRead,
    ManagedItem,
    ManagedPage,
    MoveAction,
    PublishAction,
    PublishedArticle,
    QueueItem,
    SearchHit,
    SearchPage,
    SearchParams,
    SendAction,
    Versioned,
    VersionRead,
    VersionSummary,
)
from kefu.messaging.models import Message
from kefu.messaging.schemas import MessageRead
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/knowledge", tags=["knowledge"])

Manager = Requires(*MANAGE_ANY)
Writer = Requires(EDIT, ADMIN)


# --- reading -------------------------------------------------------------------------------------------


def to_query(params: SearchParams) -> knowledge_search.Query:
    return knowledge_search.Query(
        text=params.q,
        mode=params.mode,
        category_id=params.category_id,
        business_category_id=params.business_category_id,
        keywords=params.keywords,
        hot=params.hot,
        created_from=params.created_from,
        created_to=params.created_to,
        published_from=params.published_from,
        published_to=params.published_to,
        audience=Audience.PUBLIC if params.scope == "public" else None,
    )


@router.get("/search", response_model=SearchPage)
def search(
    session: SessionDep,
    actor: Requires(VIEW),
    params: Annotated[SearchParams, Depends()],
    limit: int = Query(default=20, ge=1, le=100),
    offset: int = Query(default=0, ge=0, le=10_000),
) -> SearchPage:
    """Search published knowledge (知识检索): full text or keywords, with fielded filters;
    `scope=public` keeps to what customers may see."""
    page = knowledge_search.run(session, actor, to_query(params), limit=limit, offset=offset)
    return SearchPage(
        total=page.total,
        exact=page.exact,
        all_words=page.all_words,
        offset=page.offset,
        limit=page.limit,
        items=[
            SearchHit(
                id=r.article.id,
                number=r.article.number,
                version=r.article.published_no,
                title=r.article.title,
                title_html=str(r.title_html),
                summary=r.article.summary,
                snippet_html=str(r.snippet_html),
                business_attrs=r.attributes,
                business_type=r.business_type,
                directory=r.directory,
                keywords=r.article.keywords,
                hot=r.article.hot,
                created_at=r.article.created_at,
                published_at=r.article.published_at,
                click_count=r.article.click_count,
                audience=r.article.audience,
                score=r.score,
            )
            for r in page.results
        ],
    )


def published_view(session: Session, article: Article) -> PublishedArticle:
    version = common.live_version(session, article)
    assert version is not None
    names = views.Names(session)
    return PublishedArticle.model_validate(
        {
            **ArticleRead.model_validate(article).model_dump(),
            "directory": names.directory(article.category_id),
            "business_type": names.business_type(article.business_category_id),
            "attribute_labels": names.attributes(article.business_attrs),
            "body_html": version.body_html,
            "attachments": [AttachmentRead.model_validate(a) for a in version.attachments],
        }
    )


@router.get("/published/{article_id}", response_model=PublishedArticle)
def read_published(
    session: SessionDep,
    actor: Requires(VIEW),
    article_id: int,
    scope: Literal["internal", "public"] = "internal",
) -> PublishedArticle:
    """Read a published article (counts one view, without a database write)."""
    audience = Audience.PUBLIC if scope == "public" else None
    article = access.load_readable(session, actor, article_id, audience=audience)
    clicks.count_view(article.id)
    return published_view(session, article)


@router.post("/published/{article_id}/send", response_model=MessageRead, status_code=201)
def send(session: SessionDep, actor: Requires(SEND), article_id: int, body: SendAction) -> MessageRead:
    """Send a public article to a customer by SMS or email (知识短信/邮件) through the outbox: the
    message is queued for the channel's gateway after the do-not-disturb check of the article's
    business type (a warning must be confirmed with `confirm_dnd`)."""
    row = sending.send_knowledge(
        session,
        actor,
        article_id,
        channel=body.channel,
        to=body.to,
        customer_id=body.customer_id,
        template_id=body.template_id,
        confirm_dnd=body.confirm_dnd,
    )
    read = MessageRead.model_validate(row)
    read.note = sending_note(row)
    return read


def sending_note(message: Message) -> str:
    from kefu.core import i18n

    if message.dnd_note:
        return i18n.gettext("Queued for sending; the do-not-disturb warning was confirmed")
    return i18n.gettext("Queued for sending")


# --- management ---------------------------------------------------------------------------------------


def version_read(version: ArticleVersion | None) -> VersionRead | None:
    return VersionRead.model_validate(version) if version is not None else None


def detail(session: Session, actor: Actor, article: Article) -> ArticleDetail:
    session.flush()
    session.refresh(article)
    open_version = common.open_version(session, article)
    live = common.live_version(session, article)
    names = views.Names(session)
    return ArticleDetail.model_validate(
        {
            **ArticleRead.model_validate(article).model_dump(),
            "directory": names.directory(article.category_id),
            "open_version": version_read(open_version),
            "live_version": version_read(live),
            "versions": [VersionSummary.model_validate(v) for v in views.versions(session, article)],
            "log": [
                LogRead(
                    at=row.at,
                    action=row.action,
                    version_no=row.version_no,
                    user_id=row.user_id,
                    user_name=name,
                    comment=row.comment,
                    detail=row.detail or {},
                )
                for row, name in views.history(session, article)
            ],
            "actions": actions.available(session, actor, article, open_version),
        }
    )


@router.get("/articles", response_model=ManagedPage)
def list_articles(
    session: SessionDep,
    actor: Manager,
    q: str = "",
    category_id: int | None = None,
    status: str = "",
    mine: bool = False,
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0),
) -> ManagedPage:
    """The article list of knowledge management (知识信息列表); `status=in_review` for those waiting."""
    filters = views.Filters(text=q, category_id=category_id, status=status, mine=mine)
    total, rows = views.managed(session, actor, filters, limit=limit, offset=offset)
    return ManagedPage(
        total=total,
        items=[
            ManagedItem.model_validate(
                {
                    **ArticleRead.model_validate(r.article).model_dump(),
                    "directory": r.directory,
                    "owner_name": r.owner,
                    "open_version_no": r.open_version.number if r.open_version else None,
                    "open_version_status": r.open_version.status if r.open_version else None,
                }
            )
            for r in rows
        ],
    )


@router.post("/articles", response_model=ArticleDetail, status_code=201)
def create_article(session: SessionDep, actor: Writer, body: ArticleCreate) -> ArticleDetail:
    """Create an article with its first version as a draft; 422 names every bad field."""
    given = body.model_dump(exclude_unset=True, exclude={"category_id"})
    article = articles.create_article(session, actor=actor, category_id=body.category_id, **given)
    return detail(session, actor, article)


@router.get("/articles/{article_id}", response_model=ArticleDetail)
def get_article(session: SessionDep, actor: Manager, article_id: int) -> ArticleDetail:
    """An article with its versions (版本列表), history and the actions I may take now."""
    return detail(session, actor, access.load_managed(session, actor, article_id))


@router.get("/articles/{article_id}/versions/{number}", response_model=VersionRead)
def get_version(session: SessionDep, actor: Manager, article_id: int, number: int) -> VersionRead:
    article = access.load_managed(session, actor, article_id)
    return VersionRead.model_validate(common.get_version(session, article, number))


@router.get("/articles/{article_id}/diff", response_model=DiffRead)
def compare(session: SessionDep, actor: Manager, article_id: int, old: int, new: int) -> DiffRead:
    """What changed from version `old` to version `new`: fields, and the text with marks."""
    article = access.load_managed(session, actor, article_id)
    names = views.Names(session)
    result = diff.compare(
        common.get_version(session, article, old), common.get_version(session, article, new), show=names.show
    )
    return DiffRead.model_validate(
        {
            "old_number": result.old_number,
            "new_number": result.new_number,
            "fields": [vars(f) for f in result.fields],
            "lines": [
                {"kind": x.kind, "old_html": str(x.old_html), "new_html": str(x.new_html)}
                for x in result.lines
            ],
        }
    )


@router.patch("/articles/{article_id}/draft", response_model=ArticleDetail)
def save_draft(session: SessionDep, actor: Writer, article_id: int, body: DraftSave) -> ArticleDetail:
    """Save the version being written; on a published article this starts a new version while the
    live one stays published. Only the fields given change."""
    article = access.load_managed(session, actor, article_id)
    given = body.model_dump(exclude_unset=True, exclude={"lock_version"})
    articles.save_draft(session, actor=actor, article=article, expected_version=body.lock_version, **given)
    return detail(session, actor, article)


@router.delete("/articles/{article_id}/draft", status_code=204)
def discard_draft(
    session: SessionDep, actor: Writer, article_id: int, lock_version: int | None = None
) -> Response:
    """Discard the version being written; an article never published is deleted with it."""
    article = access.load_managed(session, actor, article_id)
    articles.discard_draft(session, actor=actor, article=article, expected_version=lock_version)
    return Response(status_code=204)


def _act(session: Session, actor: Actor, article_id: int, step: Callable[[Article], Any]) -> ArticleDetail:
    article = access.load_managed(session, actor, article_id)
    step(article)
    return detail(session, actor, article)


@router.post("/articles/{article_id}/submit", response_model=ArticleDetail)
def submit(session: SessionDep, actor: Writer, article_id: int, body: CommentAction) -> ArticleDetail:
    """Submit the version being written for review (提交审核)."""
    return _act(
        session,
        actor,
        article_id,
        lambda a: lifecycle.submit(
            session, actor=actor, article=a, expected_version=body.lock_version, comment=body.comment
        ),
    )


@router.post("/articles/{article_id}/withdraw", response_model=ArticleDetail)
def withdraw(session: SessionDep, actor: Writer, article_id: int, body: Versioned) -> ArticleDetail:
    """Take a submitted or approved (not yet published) version back to draft."""
    return _act(
        session,
        actor,
        article_id,
        lambda a: lifecycle.withdraw(session, actor=actor, article=a, expected_version=body.lock_version),
    )


@router.post("/articles/{article_id}/approve", response_model=ArticleDetail)
def approve(
    session: SessionDep, actor: Requires(REVIEW), article_id: int, body: CommentAction
) -> ArticleDetail:
    """Approve (审核通过); in a category that publishes automatically it goes live (or at its time)."""
    return _act(
        session,
        actor,
        article_id,
        lambda a: lifecycle.approve(
            session, actor=actor, article=a, expected_version=body.lock_version, comment=body.comment
        ),
    )


@router.post("/articles/{article_id}/reject", response_model=ArticleDetail)
def reject(
    session: SessionDep, actor: Requires(REVIEW), article_id: int, body: CommentAction
) -> ArticleDetail:
    """Reject (审核不通过) with the reason; the author is told."""
    return _act(
        session,
        actor,
        article_id,
        lambda a: lifecycle.reject(
            session, actor=actor, article=a, expected_version=body.lock_version, comment=body.comment
        ),
    )


@router.post("/articles/{article_id}/publish", response_model=ArticleDetail)
def publish(
    session: SessionDep, actor: Requires(PUBLISH), article_id: int, body: PublishAction
) -> ArticleDetail:
    """Publish the approved version now, or schedule it (`publish_at`)."""
    return _act(
        session,
        actor,
        article_id,
        lambda a: lifecycle.publish(
            session, actor=actor, article=a, expected_version=body.lock_version, publish_at=body.publish_at
        ),
    )


@router.post("/articles/{article_id}/archive", response_model=ArticleDetail)
def archive(
    session: SessionDep, actor: Requires(PUBLISH), article_id: int, body: CommentAction
) -> ArticleDetail:
    """Archive (归档): out of search for good."""
    return _act(
        session,
        actor,
        article_id,
        lambda a: lifecycle.archive(
            session, actor=actor, article=a, expected_version=body.lock_version, comment=body.comment
        ),
    )


@router.post("/articles/{article_id}/revoke", response_model=ArticleDetail)
def revoke(
    session: SessionDep, actor: Requires(PUBLISH), article_id: int, body: CommentAction
) -> ArticleDetail:
    """Revoke (撤销) with a reason: out of search until a corrected version is published."""
    return _act(
        session,
        actor,
        article_id,
        lambda a: lifecycle.revoke(
            session, actor=actor, article=a, expected_version=body.lock_version, comment=body.comment
        ),
    )


@router.post("/articles/{article_id}/hot", response_model=ArticleDetail)
def set_hot(session: SessionDep, actor: Requires(PUBLISH), article_id: int, body: HotAction) -> ArticleDetail:
    """Mark or unmark as hot (热点)."""
    return _act(
        session,
        actor,
        article_id,
        lambda a: articles.set_hot(
            session, actor=actor, article=a, expected_version=body.lock_version, hot=body.hot
        ),
    )


@router.post("/articles/{article_id}/move", response_model=ArticleDetail)
def move(session: SessionDep, actor: Writer, article_id: int, body: MoveAction) -> ArticleDetail:
    """File the article in another category."""
    return _act(
        session,
        actor,
        article_id,
        lambda a: articles.move_article(
            session, actor=actor, article=a, expected_version=body.lock_version, category_id=body.category_id
        ),
    )


@router.get("/review-queue", response_model=list[QueueItem])
def review_queue(
    session: SessionDep, actor: Requires(REVIEW, PUBLISH), box: Literal["review", "publish"] = "review"
) -> list[QueueItem]:
    """Versions waiting for review (`review`, 待审核), or approved ones waiting to be published."""
    return [
        QueueItem(
            article_id=r.article.id,
            number=r.article.number,
            title=r.version.title,
            directory=r.directory,
            version_no=r.version.number,
            version_status=r.version.status,
            author_id=r.version.author_id,
            author_name=r.author,
            submitted_at=r.version.submitted_at,
            publish_at=r.version.publish_at,
            scheduled=r.version.scheduled,
            change_note=r.version.change_note,
            lock_version=r.article.lock_version,
        )
        for r in views.queue(session, actor, box=box)
    ]


# --- files --------------------------------------------------------------------------------------------


@router.post("/attachments", response_model=AttachmentRead, status_code=201)
def upload(
    session: SessionDep,
    actor: Writer,
    file: Annotated[UploadFile, File()],
    article_id: Annotated[int | None, Form()] = None,
) -> AttachmentRead:
    """Upload a file for an article; a save of a version names it in `attachment_ids`."""
    article = access.load_managed(session, actor, article_id) if article_id is not None else None
    row = articles.upload(
        session,
        actor=actor,
        filename=file.filename or "",
        content_type=file.content_type,
        stream=file.file,
        article=article,
    )
    return AttachmentRead.model_validate(row)


def attachment_visible(session: Session, actor: Actor, row: KnowledgeAttachment) -> bool:
    if row.article_id is None:
        return row.uploaded_by_id == actor.user.id
    if actor.can_any(*MANAGE_ANY):
        try:
            access.load_managed(session, actor, row.article_id)
            return True
        except NotFound:
            pass
    try:
        article = access.load_readable(session, actor, row.article_id)
    except Exception:
        return False
    live = common.live_version(session, article)
    return live is not None and any(a.id == row.id for a in live.attachments)


@router.get("/attachments/{attachment_id}")
def download(
    session: SessionDep, actor: Requires(VIEW, *MANAGE_ANY), attachment_id: int
) -> StreamingResponse:
    """A file of an article I may manage, or of the live version of one I may read."""
    row = session.get(KnowledgeAttachment, attachment_id)
    if row is None or not attachment_visible(session, actor, row):
        raise NotFound()
    handle = storage.get_storage().open(row.storage_key)
    return StreamingResponse(
        handle,
        media_type=row.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename, safe='')}",
            "X-Content-Type-Options": "nosniff",
        },
    )
