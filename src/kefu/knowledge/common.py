"""What every article command shares: claiming the article row (optimistic lock), the lifecycle log,
the audit record, events and messages to the people concerned."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kefu.audit import service as audit
from kefu.core import clock, events
from kefu.core.errors import Conflict, NotFound
from kefu.core.permissions import Actor
from kefu.knowledge import labels
from kefu.knowledge.models import OPEN_VERSION, Article, ArticleVersion, KnowledgeLog
from kefu.knowledge.permissions import FUNCTION
from kefu.notices.service import notify

KNOWLEDGE_CHANGED = "knowledge.changed"


def begin(session: Session, article: Article, expected_version: int | None) -> None:
    """Claim the article row for this action: a stale `expected_version` is a 409 naming the current
    state, and a concurrent action on the same article waits here and then fails."""
    if expected_version is not None and expected_version != article.lock_version:
        raise Conflict(
            "The article was changed by someone else meanwhile (now: %(status)s); reload it",
            status=labels.article_status(article.status),
        )
    article.updated_at = clock.now()
    flush(session)


def flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("The article was changed by someone else meanwhile; reload it") from None


def open_version(session: Session, article: Article) -> ArticleVersion | None:
    """The version being written, reviewed or waiting to be published (at most one)."""
    return session.scalars(
        select(ArticleVersion)
        .where(ArticleVersion.article_id == article.id, ArticleVersion.status.in_(OPEN_VERSION))
        .order_by(ArticleVersion.number.desc())
    ).first()


def live_version(session: Session, article: Article) -> ArticleVersion | None:
    """The version last published (live while the article is published)."""
    if article.published_no is None:
        return None
    return get_version(session, article, article.published_no)


def get_version(session: Session, article: Article, number: int) -> ArticleVersion:
    found = session.scalars(
        select(ArticleVersion).where(ArticleVersion.article_id == article.id, ArticleVersion.number == number)
    ).first()
    if found is None:
        raise NotFound()
    return found


def next_number(session: Session, article: Article) -> int:
    last = session.scalar(
        select(func.max(ArticleVersion.number)).where(ArticleVersion.article_id == article.id)
    )
    return int(last or 0) + 1


def log(
    session: Session,
    article: Article,
    actor: Actor | None,
    action: str,
    *,
    version: ArticleVersion | None = None,
    comment: str = "",
    detail: Mapping[str, Any] | None = None,
) -> KnowledgeLog:
    row = KnowledgeLog(
        article_id=article.id,
        version_no=version.number if version is not None else None,
        action=action,
        user_id=actor.user.id if actor is not None else None,
        comment=comment,
        detail=dict(detail or {}),
        at=clock.now(),
    )
    session.add(row)
    return row


def record(
    session: Session,
    actor: Actor | None,
    article: Article,
    action: str,
    *,
    version: ArticleVersion | None = None,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """The audit row of an article action, and the `knowledge.changed` event after commit."""
    label = f"{article.number} {article.title}"
    if version is not None:
        label += f" v{version.number}"
    audit.record(
        session,
        actor=actor,
        action=f"knowledge.article.{action}",
        function=FUNCTION,
        target=article,
        target_label=label[:200],
        summary=summary,
        before=before,
        after=after,
    )
    events.on_commit(
        session,
        events.Event(
            type=KNOWLEDGE_CHANGED,
            data={
                "id": article.id,
                "action": action,
                "status": article.status.value,
                "version": version.number if version is not None else article.published_no,
            },
            audience=(),
        ),
    )


def link(article: Article) -> str:
    return f"/knowledge/manage/{article.id}"


def tell(
    session: Session,
    article: Article,
    user_ids: Iterable[int | None],
    title: str,
    *,
    actor: Actor | None,
    body: str = "",
) -> None:
    """A personal message about `article` to each of `user_ids` (not to the actor)."""
    me = actor.user.id if actor is not None else None
    recipients = [u for u in dict.fromkeys(user_ids) if u is not None and u != me]
    if recipients:
        notify(
            session,
            user_ids=recipients,
            title=title % {"title": article.title[:80], "number": article.number},
            body=body,
            link=link(article),
            kind="knowledge",
            target_type="knowledge_article",
            target_id=str(article.id),
            sender=actor,
        )
