"""Tables of the knowledge base (知识库): the category tree with its maintaining departments, articles
with their versions, files, lifecycle log, and knowledge sent to customers.

An article (知识) holds what does not need review — its category, hot flag, click count — and, copied
from its live version at publish, the fields that lists and search read (title, summary, keywords,
business type, scope, expiry). The content itself lives in versions (版本): a version is written,
submitted, reviewed and published; editing a published article makes a new version while the live
one stays in use. `lock_version` on the article makes concurrent actions give one success and a 409.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.core import clock
from kefu.db import Base


def _enum(cls: type[StrEnum]) -> Enum:
    """Stored as its value in a plain string column (no database enum type to migrate)."""
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class PublishMode(StrEnum):
    AUTO = "auto"  # 审核通过自动发布
    MANUAL = "manual"  # 人工发布


class Audience(StrEnum):
    INTERNAL = "internal"  # staff only (内部)
    PUBLIC = "public"  # may also be shown to customers (公开: portal, SMS)


class ArticleStatus(StrEnum):
    DRAFT = "draft"  # never published yet
    PUBLISHED = "published"  # a version is live and searchable
    EXPIRED = "expired"  # past its expiry time (失效)
    REVOKED = "revoked"  # pulled because wrong (撤销); can be corrected and published again
    ARCHIVED = "archived"  # retired for good (归档); read-only


class VersionStatus(StrEnum):
    DRAFT = "draft"  # being written
    PENDING = "pending"  # submitted, waiting for review (待审核)
    REJECTED = "rejected"  # returned with a comment (审核不通过)
    APPROVED = "approved"  # approved, waiting to be published (by hand or at its time)
    PUBLISHED = "published"  # the version that was (or is) live
    SUPERSEDED = "superseded"  # was live, replaced by a newer version
    CANCELLED = "cancelled"  # dropped when the article was archived


# The versions an author still works on; an article has at most one of them at a time.
OPEN_VERSION = (VersionStatus.DRAFT, VersionStatus.PENDING, VersionStatus.REJECTED, VersionStatus.APPROVED)
EDITABLE_VERSION = (VersionStatus.DRAFT, VersionStatus.REJECTED)


class KnowledgeCategory(Base):
    """A node of the knowledge directory (知识分类/目录). `path` is "/1/4/" like departments."""

    __tablename__ = "knowledge_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("knowledge_category.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), default="", index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    sort: Mapped[int] = mapped_column(Integer, default=0)
    publish_mode: Mapped[PublishMode] = mapped_column(_enum(PublishMode), default=PublishMode.AUTO)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    editors: Mapped[list[KnowledgeCategoryEditor]] = relationship(
        cascade="all, delete-orphan", order_by="KnowledgeCategoryEditor.department_id"
    )

    __mapper_args__ = {"version_id_col": lock_version}

    @property
    def editor_department_ids(self) -> list[int]:
        return [e.department_id for e in self.editors]


class KnowledgeCategoryEditor(Base):
    """A business department that may create and maintain articles in a category (KB-6)."""

    __tablename__ = "knowledge_category_editor"

    category_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_category.id", ondelete="CASCADE"), primary_key=True
    )
    department_id: Mapped[int] = mapped_column(
        ForeignKey("department.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Article(Base):
    __tablename__ = "knowledge_article"
    __table_args__ = (
        Index("ix_knowledge_article_status_category", "status", "category_id"),
        Index("ix_knowledge_article_status_published", "status", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("knowledge_category.id", ondelete="RESTRICT"))
    status: Mapped[ArticleStatus] = mapped_column(_enum(ArticleStatus), default=ArticleStatus.DRAFT)
    # The live version's number (None until first published) and its fields, for lists and search.
    published_no: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(1000), default="")
    keywords: Mapped[str] = mapped_column(String(300), default="")
    business_category_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_category.id", ondelete="SET NULL"), index=True
    )
    business_attrs: Mapped[list[str]] = mapped_column(JSON, default=list)
    audience: Mapped[Audience] = mapped_column(_enum(Audience), default=Audience.INTERNAL)
    expires_at: Mapped[datetime | None] = mapped_column()
    hot: Mapped[bool] = mapped_column(Boolean, default=False)
    click_count: Mapped[int] = mapped_column(Integer, default=0)
    # Who created it and the department that owns it (the data scope of edit / review / publish).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"), index=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    # A question (问题解答) this article was written from.
    source_question_id: Mapped[int | None] = mapped_column(
        ForeignKey("knowledge_question.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    published_at: Mapped[datetime | None] = mapped_column()  # of the live version
    first_published_at: Mapped[datetime | None] = mapped_column()
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    category: Mapped[KnowledgeCategory] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}

    @property
    def number(self) -> str:
        """The knowledge number staff quote (知识编号)."""
        return f"KB{self.id:06d}"


class ArticleVersion(Base):
    """One version (版本) of an article's content and reviewed base info."""

    __tablename__ = "knowledge_version"
    __table_args__ = (
        UniqueConstraint("article_id", "number"),
        Index("ix_knowledge_version_status_submitted", "status", "submitted_at"),
        Index("ix_knowledge_version_status_publish_at", "status", "publish_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("knowledge_article.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[VersionStatus] = mapped_column(_enum(VersionStatus), default=VersionStatus.DRAFT)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(1000), default="")
    body_html: Mapped[str] = mapped_column(Text, default="")  # sanitised
    body_text: Mapped[str] = mapped_column(Text, default="")  # plain text of body_html (search, diff, SMS)
    keywords: Mapped[str] = mapped_column(String(300), default="")
    business_category_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_category.id", ondelete="SET NULL")
    )
    business_attrs: Mapped[list[str]] = mapped_column(JSON, default=list)
    audience: Mapped[Audience] = mapped_column(_enum(Audience), default=Audience.INTERNAL)
    # Publish not before (定时发布) and stop being valid at (失效时间).
    publish_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    change_note: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    submitted_at: Mapped[datetime | None] = mapped_column()
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column()
    review_comment: Mapped[str] = mapped_column(Text, default="")
    # Approved and waiting for `publish_at`: the timer job publishes it then.
    scheduled: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column()
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))

    article: Mapped[Article] = relationship()
    attachments: Mapped[list[KnowledgeAttachment]] = relationship(
        secondary="knowledge_version_attachment", order_by="KnowledgeAttachment.id"
    )


class KnowledgeAttachment(Base):
    """A file of an article, kept in `core.storage`; versions link the files they carry, so a file of
    an old version stays while a newer version drops it."""

    __tablename__ = "knowledge_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None until a save of a version names it (an upload made before the article existed).
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("knowledge_article.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=clock.now)


class VersionAttachment(Base):
    __tablename__ = "knowledge_version_attachment"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_version.id", ondelete="CASCADE"), primary_key=True
    )
    attachment_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_attachment.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class KnowledgeLog(Base):
    """The lifecycle history of an article: who did what to which version, when, with what comment."""

    __tablename__ = "knowledge_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_article.id", ondelete="CASCADE"), index=True
    )
    version_no: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(30))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    comment: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=clock.now)
