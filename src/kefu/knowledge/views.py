"""Read models of the management screens (知识内容管理: query area, article list, version list), the
review queue and an article's history — each a fixed number of queries, whatever the page size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from kefu.core import i18n
from kefu.core.errors import FieldError
from kefu.core.permissions import Actor
from kefu.knowledge import access
from kefu.knowledge.models import (
    OPEN_VERSION,
    Article,
    ArticleStatus,
    ArticleVersion,
    KnowledgeCategory,
    KnowledgeLog,
    VersionStatus,
)
from kefu.knowledge.permissions import PUBLISH, REVIEW
from kefu.org.config import dictionary_cache
from kefu.org.models import User


class Names:
    """Display names for ids, each table read once per request (and only when needed)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @cached_property
    def _directories(self) -> dict[int, str]:
        rows = {c.id: c for c in self.session.scalars(select(KnowledgeCategory))}
        out = {}
        for c in rows.values():
            ids = [int(p) for p in c.path.strip("/").split("/") if p]
            out[c.id] = " / ".join(rows[i].name for i in ids if i in rows) or c.name
        return out

    def directory(self, category_id: int | None) -> str:
        return self._directories.get(category_id, "") if category_id is not None else ""

    @cached_property
    def _business_types(self) -> dict[int, str]:
        from kefu.tickets.setup import service as ticket_setup

        return {c.id: c.name for c, _depth in ticket_setup.category_tree(self.session)}

    def business_type(self, category_id: int | None) -> str:
        return self._business_types.get(category_id, "") if category_id is not None else ""

    @cached_property
    def _attributes(self) -> dict[str, str]:
        from kefu.knowledge.content import ATTRIBUTE_DICTIONARY

        try:
            items = dictionary_cache.items(self.session, ATTRIBUTE_DICTIONARY, include_disabled=True)
        except Exception:
            return {}
        return {i.code: i.text(i18n.get_locale()) for i in items}

    def attributes(self, codes: Iterable[str] | None) -> list[str]:
        return [self._attributes.get(c, c) for c in codes or []]

    def users(self, ids: Iterable[int | None]) -> dict[int, str]:
        wanted = {i for i in ids if i is not None}
        if not wanted:
            return {}
        return dict(
            self.session.execute(select(User.id, User.name).where(User.id.in_(wanted))).tuples().all()
        )

    def show(self, name: str, value: Any) -> str:
        """A version field for people (the diff's `show`)."""
        from kefu.web.templating import local_time

        if name == "business_category_id":
            return self.business_type(value)
        if name == "business_attrs":
            return "、".join(self.attributes(value))
        if name == "audience":
            return i18n.gettext(value.value) if value is not None else ""
        if name in ("publish_at", "expires_at"):
            return local_time(value)
        return "" if value is None else str(value)


@dataclass
class ManagedRow:
    article: Article
    directory: str
    owner: str
    open_version: ArticleVersion | None


@dataclass
class Filters:
    text: str = ""
    category_id: int | None = None
    status: str = ""
    mine: bool = False


STATUS_FILTERS = (*(s.value for s in ArticleStatus), "in_review")


def managed(
    session: Session, actor: Actor, filters: Filters, *, limit: int = 50, offset: int = 0
) -> tuple[int, list[ManagedRow]]:
    """The article list of the management screen, newest change first."""
    stmt = select(Article).where(access.managed_condition(actor))
    if filters.text.strip():
        pattern = "%" + filters.text.strip().replace("%", "").replace("_", "") + "%"
        stmt = stmt.where(or_(Article.title.like(pattern), Article.keywords.like(pattern)))
    if filters.category_id is not None:
        from kefu.knowledge.categories import get_category, subtree_ids

        try:
            category = get_category(session, filters.category_id)
        except Exception:
            raise FieldError("category_id", "No such category") from None
        stmt = stmt.where(Article.category_id.in_(subtree_ids(session, category)))
    if filters.status == "in_review":
        stmt = stmt.where(
            select(ArticleVersion.id)
            .where(ArticleVersion.article_id == Article.id, ArticleVersion.status == VersionStatus.PENDING)
            .exists()
        )
    elif filters.status:
        if filters.status not in STATUS_FILTERS:
            raise FieldError("status", "Choose one of the offered values")
        stmt = stmt.where(Article.status == ArticleStatus(filters.status))
    if filters.mine:
        stmt = stmt.where(Article.owner_id == actor.user.id)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    articles = list(
        session.scalars(
            stmt.order_by(Article.updated_at.desc(), Article.id.desc()).limit(limit).offset(offset)
        )
    )
    opens = open_versions(session, [a.id for a in articles])
    names = Names(session)
    owners = names.users(a.owner_id for a in articles)
    rows = [
        ManagedRow(a, names.directory(a.category_id), owners.get(a.owner_id or 0, ""), opens.get(a.id))
        for a in articles
    ]
    return total, rows


def open_versions(session: Session, article_ids: list[int]) -> dict[int, ArticleVersion]:
    if not article_ids:
        return {}
    stmt = select(ArticleVersion).where(
        ArticleVersion.article_id.in_(article_ids), ArticleVersion.status.in_(OPEN_VERSION)
    )
    return {v.article_id: v for v in session.scalars(stmt)}


def versions(session: Session, article: Article) -> list[ArticleVersion]:
    """Every version of an article, newest first, with its files."""
    stmt = (
        select(ArticleVersion)
        .where(ArticleVersion.article_id == article.id)
        .options(selectinload(ArticleVersion.attachments))
        .order_by(ArticleVersion.number.desc())
    )
    return list(session.scalars(stmt))


def history(session: Session, article: Article) -> list[tuple[KnowledgeLog, str]]:
    rows = list(
        session.scalars(
            select(KnowledgeLog).where(KnowledgeLog.article_id == article.id).order_by(KnowledgeLog.id)
        )
    )
    users = Names(session).users(r.user_id for r in rows)
    return [(r, users.get(r.user_id or 0, "")) for r in rows]


@dataclass
class QueueRow:
    version: ArticleVersion
    article: Article
    directory: str
    author: str


def queue(session: Session, actor: Actor, *, box: str = "review", limit: int = 100) -> list[QueueRow]:
    """`review`: versions waiting for review in my review scope, oldest first (待审核版本);
    `publish`: approved versions waiting to be published in my publish scope (scheduled ones too)."""
    if box == "publish":
        status, permission = VersionStatus.APPROVED, PUBLISH
    elif box == "review":
        status, permission = VersionStatus.PENDING, REVIEW
    else:
        raise FieldError("box", "Choose one of the offered values")
    if not actor.can(permission):
        return []
    stmt = (
        select(ArticleVersion, Article)
        .join(Article, Article.id == ArticleVersion.article_id)
        .where(and_(ArticleVersion.status == status, access.scope_condition(actor, permission)))
        .order_by(ArticleVersion.submitted_at, ArticleVersion.id)
        .limit(limit)
    )
    pairs = session.execute(stmt).tuples().all()
    names = Names(session)
    authors = names.users(v.author_id for v, _a in pairs)
    return [
        QueueRow(v, a, names.directory(a.category_id), authors.get(v.author_id or 0, "")) for v, a in pairs
    ]


def queue_counts(session: Session, actor: Actor) -> dict[str, int]:
    out = {}
    for box, status, permission in (
        ("review", VersionStatus.PENDING, REVIEW),
        ("publish", VersionStatus.APPROVED, PUBLISH),
    ):
        if not actor.can(permission):
            out[box] = 0
            continue
        stmt = (
            select(func.count())
            .select_from(ArticleVersion)
            .join(Article, Article.id == ArticleVersion.article_id)
            .where(ArticleVersion.status == status, access.scope_condition(actor, permission))
        )
        out[box] = int(session.scalar(stmt) or 0)
    return out
