"""The lifecycle of knowledge (KB-3, KB-4): submit for review → approve / reject with a comment →
publish (automatically on approval or by hand, per category; now or at a set time) → maintain (a new
version goes through review while the live one stays searchable) → archive (归档) or revoke (撤销);
expiry when the live version's expiry time passes.

Versions and articles move only along the tables below; an illegal move is a 409 naming the state.
Each command claims the article row, logs, audits and tells the author how the review went. The timer
job (`kefu.knowledge.jobs`) publishes scheduled versions and expires articles, each in its own unit
of work and idempotently.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import clock, i18n
from kefu.core.errors import Conflict, FieldError, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.knowledge import access, common, content, indexing, labels
from kefu.knowledge.articles import _mirror
from kefu.knowledge.models import (
    OPEN_VERSION,
    Article,
    ArticleStatus,
    ArticleVersion,
    PublishMode,
    VersionStatus,
)
from kefu.knowledge.permissions import PUBLISH, REVIEW
from kefu.org.config import parameters as params

V, A = VersionStatus, ArticleStatus
# action → (the version states it starts from, the state it leads to)
VERSION_MOVES: dict[str, tuple[frozenset[VersionStatus], VersionStatus]] = {
    "submit": (frozenset({V.DRAFT, V.REJECTED}), V.PENDING),
    "withdraw": (frozenset({V.PENDING, V.APPROVED}), V.DRAFT),
    "approve": (frozenset({V.PENDING}), V.APPROVED),
    "reject": (frozenset({V.PENDING}), V.REJECTED),
    "publish": (frozenset({V.APPROVED}), V.PUBLISHED),
    "schedule": (frozenset({V.APPROVED}), V.APPROVED),
    "cancel": (frozenset(OPEN_VERSION), V.CANCELLED),
    "supersede": (frozenset({V.PUBLISHED}), V.SUPERSEDED),
}
ARTICLE_MOVES: dict[str, tuple[frozenset[ArticleStatus], ArticleStatus]] = {
    "publish": (frozenset({A.DRAFT, A.PUBLISHED, A.EXPIRED, A.REVOKED}), A.PUBLISHED),
    "expire": (frozenset({A.PUBLISHED}), A.EXPIRED),
    "revoke": (frozenset({A.PUBLISHED, A.EXPIRED}), A.REVOKED),
    "archive": (frozenset({A.PUBLISHED, A.EXPIRED, A.REVOKED}), A.ARCHIVED),
}

params.GROUP_LABELS.setdefault("knowledge", lazy("Knowledge base"))
SELF_REVIEW = params.declare(
    "knowledge.self_review",
    "Reviewers may approve versions they wrote themselves",
    bool,
    False,
    group="knowledge",
)
COMMENT_MAX = 2000


def move_version(version: ArticleVersion, action: str) -> None:
    sources, target = VERSION_MOVES[action]
    if version.status not in sources:
        raise Conflict(
            "Version %(no)s is %(status)s; it cannot be %(action)s",
            no=version.number,
            status=labels.version_status(version.status),
            action=i18n.gettext(action),
        )
    version.status = target


def move_article(article: Article, action: str) -> None:
    sources, target = ARTICLE_MOVES[action]
    if article.status not in sources:
        raise Conflict(
            "The article is %(status)s; it cannot be %(action)s",
            status=labels.article_status(article.status),
            action=i18n.gettext(action),
        )
    article.status = target


# Words of the conflict messages above, extracted for translation.
ACTION_WORDS = (
    lazy("submit"),
    lazy("withdraw"),
    lazy("approve"),
    lazy("reject"),
    lazy("publish"),
    lazy("schedule"),
    lazy("expire"),
    lazy("revoke"),
    lazy("archive"),
)


def _open(session: Session, article: Article) -> ArticleVersion:
    version = common.open_version(session, article)
    if version is None:
        raise Conflict("The article has no version in progress")
    return version


def _comment(value: str | None, *, required: bool = False) -> str:
    text = content.text("comment", value, COMMENT_MAX, required=required)
    return text


def submit(
    session: Session,
    *,
    actor: Actor,
    article: Article,
    expected_version: int | None,
    comment: str | None = "",
) -> ArticleVersion:
    """Submit the version being written for review (提交审核); a new version must say what changed."""
    access.require_maintain(session, actor, article.category)
    note = _comment(comment)
    version = _open(session, article)
    if version.number > 1 and not (version.change_note or "").strip():
        raise FieldError("change_note", "Describe what changed in this version")
    if version.expires_at is not None and version.expires_at <= clock.now():
        raise FieldError("expires_at", "Choose a time in the future")
    common.begin(session, article, expected_version)
    move_version(version, "submit")
    version.submitted_at = clock.now()
    version.reviewer_id, version.reviewed_at, version.review_comment = None, None, ""
    common.log(session, article, actor, "submitted", version=version, comment=note)
    common.record(session, actor, article, "submit", version=version, summary=note)
    return version


def withdraw(
    session: Session, *, actor: Actor, article: Article, expected_version: int | None
) -> ArticleVersion:
    """Take a submitted or approved, not yet published, version back to draft."""
    access.require_maintain(session, actor, article.category)
    version = _open(session, article)
    common.begin(session, article, expected_version)
    move_version(version, "withdraw")
    version.scheduled = False
    common.log(session, article, actor, "withdrawn", version=version)
    common.record(session, actor, article, "withdraw", version=version)
    return version


def _reviewable(session: Session, actor: Actor, article: Article) -> ArticleVersion:
    access.require_scope(session, actor, article, REVIEW)
    version = _open(session, article)
    if version.author_id == actor.user.id and not params.get(session, SELF_REVIEW):
        raise PermissionDenied("You cannot review a version you wrote")
    return version


def approve(
    session: Session,
    *,
    actor: Actor,
    article: Article,
    expected_version: int | None,
    comment: str | None = "",
) -> ArticleVersion:
    """Approve the submitted version (审核通过). In a category that publishes automatically it goes live
    now, or at its publish time; otherwise it waits for a publisher."""
    note = _comment(comment)
    version = _reviewable(session, actor, article)
    common.begin(session, article, expected_version)
    move_version(version, "approve")
    version.reviewer_id, version.reviewed_at, version.review_comment = actor.user.id, clock.now(), note
    common.log(session, article, actor, "approved", version=version, comment=note)
    common.record(session, actor, article, "approve", version=version, summary=note)
    if article.category.publish_mode is PublishMode.AUTO:
        if version.publish_at is not None and version.publish_at > clock.now():
            version.scheduled = True
            common.log(
                session,
                article,
                actor,
                "scheduled",
                version=version,
                detail={"at": version.publish_at.isoformat()},
            )
        else:
            _go_live(session, article, version, actor)
            return version
    title = i18n.gettext("Knowledge %(number)s %(title)s was approved")
    common.tell(session, article, [version.author_id], title, actor=actor, body=note)
    return version


def reject(
    session: Session, *, actor: Actor, article: Article, expected_version: int | None, comment: str | None
) -> ArticleVersion:
    """Return the submitted version to its author with the reason (审核不通过)."""
    note = _comment(comment, required=True)
    version = _reviewable(session, actor, article)
    common.begin(session, article, expected_version)
    move_version(version, "reject")
    version.reviewer_id, version.reviewed_at, version.review_comment = actor.user.id, clock.now(), note
    common.log(session, article, actor, "rejected", version=version, comment=note)
    common.record(session, actor, article, "reject", version=version, summary=note)
    title = i18n.gettext("Knowledge %(number)s %(title)s was returned for changes")
    common.tell(session, article, [version.author_id], title, actor=actor, body=note)
    return version


def publish(
    session: Session,
    *,
    actor: Actor,
    article: Article,
    expected_version: int | None,
    publish_at: datetime | str | None = None,
) -> ArticleVersion:
    """Publish the approved version by hand (人工发布): now, or at `publish_at` (定时发布)."""
    access.require_scope(session, actor, article, PUBLISH)
    version = _open(session, article)
    at = content.moment("publish_at", publish_at) if publish_at is not None else None
    if at is not None and at <= clock.now():
        raise FieldError("publish_at", "Choose a time in the future")
    if version.expires_at is not None and version.expires_at <= (at or clock.now()):
        raise FieldError("publish_at", "The version expires before it would be published")
    common.begin(session, article, expected_version)
    if at is None:
        _go_live(session, article, version, actor)
        return version
    move_version(version, "schedule")
    version.publish_at, version.scheduled = at, True
    common.log(session, article, actor, "scheduled", version=version, detail={"at": at.isoformat()})
    common.record(session, actor, article, "schedule", version=version, summary=at.isoformat())
    return version


def _go_live(session: Session, article: Article, version: ArticleVersion, actor: Actor | None) -> None:
    """Make `version` the live one: the previous live version is superseded, the article shows the
    new version's fields, and the index holds its text."""
    move_version(version, "publish")
    move_article(article, "publish")
    previous = common.live_version(session, article)
    if previous is not None and previous.id != version.id and previous.status is VersionStatus.PUBLISHED:
        move_version(previous, "supersede")
    now = clock.now()
    version.published_at, version.scheduled = now, False
    version.published_by_id = actor.user.id if actor is not None else None
    article.published_no = version.number
    article.published_at = now
    article.first_published_at = article.first_published_at or now
    _mirror(article, version)
    common.flush(session)
    indexing.index_live(session, article, version)
    common.log(session, article, actor, "published", version=version)
    common.record(session, actor, article, "publish", version=version)
    title = i18n.gettext("Knowledge %(number)s %(title)s is published")
    common.tell(session, article, [version.author_id], title, actor=actor)


def archive(
    session: Session,
    *,
    actor: Actor,
    article: Article,
    expected_version: int | None,
    comment: str | None = "",
) -> Article:
    """Retire the article for good (归档): out of search, read-only; a version in progress is cancelled."""
    access.require_scope(session, actor, article, PUBLISH)
    note = _comment(comment)
    common.begin(session, article, expected_version)
    move_article(article, "archive")
    version = common.open_version(session, article)
    if version is not None:
        move_version(version, "cancel")
        version.scheduled = False
    indexing.remove(session, article)
    common.log(session, article, actor, "archived", comment=note)
    common.record(session, actor, article, "archive", summary=note)
    title = i18n.gettext("Knowledge %(number)s %(title)s was archived")
    common.tell(session, article, [article.owner_id], title, actor=actor, body=note)
    return article


def revoke(
    session: Session, *, actor: Actor, article: Article, expected_version: int | None, comment: str | None
) -> Article:
    """Pull wrong or useless knowledge at once (撤销), with the reason; it can be corrected and
    published again."""
    access.require_scope(session, actor, article, PUBLISH)
    note = _comment(comment, required=True)
    common.begin(session, article, expected_version)
    move_article(article, "revoke")
    indexing.remove(session, article)
    common.log(session, article, actor, "revoked", comment=note)
    common.record(session, actor, article, "revoke", summary=note)
    title = i18n.gettext("Knowledge %(number)s %(title)s was revoked")
    common.tell(session, article, [article.owner_id], title, actor=actor, body=note)
    return article


# --- the timer job's steps (each in its own unit of work) ----------------------------------------------


def due_publications(session: Session, *, at: datetime | None = None) -> list[int]:
    """Ids of approved versions whose publish time has come."""
    now = at or clock.now()
    stmt = select(ArticleVersion.id).where(
        ArticleVersion.status == VersionStatus.APPROVED,
        ArticleVersion.scheduled.is_(True),
        ArticleVersion.publish_at <= now,
    )
    return list(session.scalars(stmt.order_by(ArticleVersion.publish_at, ArticleVersion.id)))


def due_expiries(session: Session, *, at: datetime | None = None) -> list[int]:
    """Ids of published articles whose expiry time has passed."""
    now = at or clock.now()
    stmt = select(Article.id).where(Article.status == ArticleStatus.PUBLISHED, Article.expires_at <= now)
    return list(session.scalars(stmt.order_by(Article.expires_at, Article.id)))


def _locked(session: Session, model: type, key: int) -> object | None:
    return session.scalars(select(model).where(model.id == key).with_for_update()).first()  # type: ignore[attr-defined]


def publish_scheduled(session: Session, *, version_id: int) -> bool:
    """Publish one scheduled version if it is still due (idempotent: a second run finds it published)."""
    version = _locked(session, ArticleVersion, version_id)
    if not isinstance(version, ArticleVersion):
        return False
    article = _locked(session, Article, version.article_id)
    now = clock.now()
    if (
        not isinstance(article, Article)
        or version.status is not VersionStatus.APPROVED
        or not version.scheduled
        or version.publish_at is None
        or version.publish_at > now
        or article.status is ArticleStatus.ARCHIVED
    ):
        return False
    article.updated_at = now
    _go_live(session, article, version, None)
    if version.expires_at is not None and version.expires_at <= now:
        expire(session, article_id=article.id)
    return True


def expire(session: Session, *, article_id: int) -> bool:
    """Expire one article if its live version's time is up (idempotent)."""
    article = _locked(session, Article, article_id)
    now = clock.now()
    if (
        not isinstance(article, Article)
        or article.status is not ArticleStatus.PUBLISHED
        or article.expires_at is None
        or article.expires_at > now
    ):
        return False
    article.updated_at = now
    move_article(article, "expire")
    indexing.remove(session, article)
    common.log(session, article, None, "expired")
    common.record(session, None, article, "expire")
    title = i18n.gettext("Knowledge %(number)s %(title)s has expired")
    common.tell(session, article, [article.owner_id], title, actor=None)
    return True
