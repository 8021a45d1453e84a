"""Writing knowledge (知识创建 / 维护, KB-2): new articles, saving the version being written (editing a
published article starts a new version from the live one, which stays in use), discarding it, moving an
article to another category, the hot flag, and files.

Every command checks the actor's rights (the category's maintaining departments for writing), claims
the article row (a stale `expected_version` is a 409), checks all input before changing anything,
logs, audits, and never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock, storage
from kefu.core.errors import Conflict, FieldError, FieldErrors, PermissionDenied
from kefu.core.permissions import Actor
from kefu.knowledge import access, common, content
from kefu.knowledge.models import (
    EDITABLE_VERSION,
    Article,
    ArticleStatus,
    ArticleVersion,
    Audience,
    KnowledgeAttachment,
    KnowledgeCategory,
    VersionStatus,
)
from kefu.knowledge.permissions import ADMIN, EDIT, FUNCTION, PUBLISH
from kefu.settings import get_settings

# Fields copied from a version to its article when it goes live (and, before the first publish, on save).
SHOWN_FIELDS = (
    "title",
    "summary",
    "keywords",
    "business_category_id",
    "business_attrs",
    "audience",
    "expires_at",
)


def _category(session: Session, value: Any) -> KnowledgeCategory:
    try:
        key = int(value)
    except (TypeError, ValueError):
        key = 0
    category = session.get(KnowledgeCategory, key) if key > 0 and not isinstance(value, bool) else None
    if category is None:
        raise FieldError("category_id", "No such category")
    return category


def version_values(version: ArticleVersion | None) -> dict[str, Any]:
    if version is None:
        return {}
    return {f: getattr(version, f) for f in (*content.CONTENT_FIELDS, "body_text")}


def _apply(version: ArticleVersion, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    changed = {}
    for key, value in values.items():
        old = getattr(version, key)
        if old != value:
            changed[key] = (old, value)
            setattr(version, key, value)
    return changed


def _mirror(article: Article, version: ArticleVersion) -> None:
    for field in SHOWN_FIELDS:
        setattr(article, field, getattr(version, field))


def _link_files(
    session: Session, actor: Actor, article: Article, version: ArticleVersion, ids: Sequence[int]
) -> None:
    """Make `ids` the files of `version`: files of this article, or ones I uploaded and nobody has used."""
    rows = (
        list(session.scalars(select(KnowledgeAttachment).where(KnowledgeAttachment.id.in_(ids))))
        if ids
        else []
    )
    by_id = {r.id: r for r in rows}
    for file_id in ids:
        row = by_id.get(file_id)
        ok = row is not None and (
            row.article_id == article.id or (row.article_id is None and row.uploaded_by_id == actor.user.id)
        )
        if not ok:
            raise FieldError(
                "attachment_ids", "Only files of this article or files you uploaded can be attached"
            )
    for row in rows:
        row.article_id = article.id
    version.attachments = [by_id[i] for i in ids]


def create_article(
    session: Session, *, actor: Actor, category_id: Any, source_question_id: int | None = None, **given: Any
) -> Article:
    """A new article with its first version as a draft, in a category the author may maintain."""
    if not (actor.can(EDIT) or actor.can(ADMIN)):
        raise PermissionDenied()
    problems: list[FieldError] = []
    category = None
    try:
        category = _category(session, category_id)
        access.require_maintain(session, actor, category)
    except FieldError as exc:
        problems.append(exc)
    checked = None
    try:
        checked = content.check(session, given, base={}, require_all=True)
    except FieldErrors as exc:
        problems.extend(exc.errors)
    if problems:
        raise FieldErrors(problems)
    assert category is not None and checked is not None
    values = {"audience": Audience.INTERNAL, "business_attrs": [], **checked.values}
    now = clock.now()
    article = Article(
        category_id=category.id,
        status=ArticleStatus.DRAFT,
        title=values["title"],
        owner_id=actor.user.id,
        department_id=actor.user.department_id,
        source_question_id=source_question_id,
        created_at=now,
        updated_at=now,
    )
    session.add(article)
    session.flush()
    version = ArticleVersion(
        article_id=article.id, number=1, status=VersionStatus.DRAFT, author_id=actor.user.id, **values
    )
    session.add(version)
    session.flush()
    _mirror(article, version)
    if checked.attachment_ids:
        _link_files(session, actor, article, version, checked.attachment_ids)
    common.log(session, article, actor, "created", version=version)
    common.record(session, actor, article, "create", version=version, summary=category.name)
    return article


def save_draft(
    session: Session, *, actor: Actor, article: Article, expected_version: int | None, **given: Any
) -> ArticleVersion:
    """Save the version being written. Without one, a new version starts from the live one (which
    stays published until the new one is); a version waiting for review must be withdrawn first."""
    access.require_maintain(session, actor, article.category)
    if article.status is ArticleStatus.ARCHIVED:
        raise Conflict("The article is archived; it cannot be changed")
    version = common.open_version(session, article)
    if version is not None and version.status not in EDITABLE_VERSION:
        raise Conflict(
            "Version %(no)s is %(status)s; withdraw it before editing",
            no=version.number,
            status=_status_word(version.status),
        )
    base = version or common.live_version(session, article)
    checked = content.check(session, given, base=version_values(base), require_all=base is None)
    common.begin(session, article, expected_version)
    started = version is None
    if version is None:
        assert base is not None  # a published article always has its live version
        version = ArticleVersion(
            article_id=article.id,
            number=common.next_number(session, article),
            status=VersionStatus.DRAFT,
            author_id=actor.user.id,
            **{k: v for k, v in version_values(base).items() if k not in ("publish_at", "change_note")},
        )
        version.attachments = list(base.attachments)
        session.add(version)
        session.flush()
    changed = _apply(version, checked.values)
    if checked.attachment_ids is not None:
        _link_files(session, actor, article, version, checked.attachment_ids)
    if version.status is VersionStatus.REJECTED:
        version.status = VersionStatus.DRAFT
    version.updated_at = clock.now()
    if article.status is ArticleStatus.DRAFT:
        _mirror(article, version)
    common.flush(session)
    fields = sorted(k for k in changed if k != "body_text")
    common.log(
        session,
        article,
        actor,
        "new_version" if started else "edited",
        version=version,
        detail={"fields": fields},
    )
    common.record(session, actor, article, "edit", version=version, summary=", ".join(fields))
    return version


def _status_word(status: VersionStatus) -> str:
    from kefu.knowledge import labels

    return labels.version_status(status)


def discard_draft(
    session: Session, *, actor: Actor, article: Article, expected_version: int | None
) -> Article | None:
    """Throw away the version being written; an article never published goes with it (None)."""
    access.require_maintain(session, actor, article.category)
    version = common.open_version(session, article)
    if version is None or version.status not in EDITABLE_VERSION:
        raise Conflict("There is no draft to discard")
    common.begin(session, article, expected_version)
    common.record(session, actor, article, "discard", version=version)
    if article.status is ArticleStatus.DRAFT:
        session.delete(article)
        common.flush(session)
        return None
    common.log(session, article, actor, "discarded", version=version)
    session.delete(version)
    common.flush(session)
    return article


def move_article(
    session: Session, *, actor: Actor, article: Article, expected_version: int | None, category_id: Any
) -> Article:
    """File the article in another category (the author's department must maintain both)."""
    target = _category(session, category_id)
    access.require_maintain(session, actor, article.category)
    access.require_maintain(session, actor, target)
    if article.status is ArticleStatus.ARCHIVED:
        raise Conflict("The article is archived; it cannot be changed")
    common.begin(session, article, expected_version)
    before = article.category.name
    article.category_id = target.id
    common.flush(session)
    session.refresh(article, ["category"])
    common.log(session, article, actor, "moved", comment=f"{before} → {target.name}")
    common.record(
        session,
        actor,
        article,
        "move",
        summary=f"{before} → {target.name}",
        before={"category": before},
        after={"category": target.name},
    )
    return article


def set_hot(
    session: Session, *, actor: Actor, article: Article, expected_version: int | None, hot: bool
) -> Article:
    """Mark or unmark the article as a hot topic (热点), shown first and flagged in search."""
    access.require_scope(session, actor, article, PUBLISH)
    if not isinstance(hot, bool):
        raise FieldError("hot", "Enter true or false")
    if article.status is ArticleStatus.ARCHIVED:
        raise Conflict("The article is archived; it cannot be changed")
    common.begin(session, article, expected_version)
    if article.hot != hot:
        article.hot = hot
        common.log(session, article, actor, "hot" if hot else "not_hot")
        common.record(session, actor, article, "hot", before={"hot": not hot}, after={"hot": hot})
    return article


def upload(
    session: Session,
    *,
    actor: Actor,
    filename: str,
    content_type: str | None,
    stream: BinaryIO,
    article: Article | None = None,
) -> KnowledgeAttachment:
    """Store a file for an article (size and type limits of the deployment); it joins a version when
    a save names it. A failed request leaves no file behind."""
    if not (actor.can(EDIT) or actor.can(ADMIN)):
        raise PermissionDenied()
    if article is not None:
        access.require_maintain(session, actor, article.category)
    config = get_settings()
    name = storage.check_upload(filename, content_type, allowed=config.attachment_types)
    stored = storage.get_storage().put(stream, max_bytes=config.attachment_max_bytes)
    storage.delete_on_rollback(session, stored.key)
    row = KnowledgeAttachment(
        article_id=article.id if article is not None else None,
        filename=name,
        content_type=(content_type or "application/octet-stream")[:100],
        size=stored.size,
        sha256=stored.sha256,
        storage_key=stored.key,
        uploaded_by_id=actor.user.id,
        uploaded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="knowledge.article.upload",
        function=FUNCTION,
        target=row,
        target_label=name,
    )
    return row
