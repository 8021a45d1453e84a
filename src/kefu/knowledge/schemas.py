"""API shapes of the knowledge base. `lock_version` is the article's optimistic-lock counter (a stale
one gives 409); `number` / `published_no` are version numbers (版本号) people see."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kefu.knowledge.models import ArticleStatus, Audience, PublishMode, VersionStatus

# --- categories ------------------------------------------------------------------------------------------


class CategoryCreate(BaseModel):
    name: str = Field(max_length=100)
    parent_id: int | None = None
    description: str = Field(default="", max_length=2000)
    sort: int = 0
    publish_mode: PublishMode = PublishMode.AUTO
    editor_department_ids: list[int] = Field(
        default_factory=list,
        description="Departments that may maintain articles here (and below, unless a sub-category "
        "names its own); empty: every author.",
    )


class CategoryUpdate(BaseModel):
    lock_version: int | None = None
    name: str | None = Field(default=None, max_length=100)
    parent_id: int | None = Field(
        default=None, description="A new parent moves the category with its subtree."
    )
    description: str | None = Field(default=None, max_length=2000)
    sort: int | None = None
    publish_mode: PublishMode | None = None
    editor_department_ids: list[int] | None = None


class CategoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    parent_id: int | None
    path: str
    depth: int = 0
    description: str
    sort: int
    publish_mode: PublishMode
    editor_department_ids: list[int]
    lock_version: int
    may_maintain: bool = False


# --- articles and versions ----------------------------------------------------------------------------


class Content(BaseModel):
    """The fields of a version. On a save, only the fields given change."""

    title: str | None = Field(default=None, max_length=200)
    summary: str | None = Field(default=None, max_length=1000, description="业务简介")
    body_html: str | None = Field(default=None, description="Rich text; sanitised (nh3) when saved.")
    keywords: str | list[str] | None = Field(default=None, description="Separated by spaces, commas or 、.")
    business_category_id: int | None = Field(
        default=None, description="A ticket business category (业务类型)."
    )
    business_attrs: list[str] | None = Field(default=None, description="Codes of `knowledge_attribute`.")
    audience: Audience | None = None
    publish_at: datetime | None = Field(default=None, description="Publish not before (定时发布).")
    expires_at: datetime | None = Field(default=None, description="Stops being valid (失效时间).")
    change_note: str | None = Field(default=None, max_length=2000)
    attachment_ids: list[int] | None = Field(default=None, description="The files the version carries.")


class ArticleCreate(Content):
    category_id: int


class DraftSave(Content):
    lock_version: int | None = None


class Versioned(BaseModel):
    lock_version: int | None = Field(
        default=None, description="The article's lock_version the action is based on."
    )


class CommentAction(Versioned):
    comment: str = Field(default="", max_length=2000)


class PublishAction(Versioned):
    publish_at: datetime | None = Field(default=None, description="Empty: now; a future time schedules it.")


class HotAction(Versioned):
    hot: bool


class MoveAction(Versioned):
    category_id: int


class SendAction(BaseModel):
    channel: Literal["sms", "email"] = "sms"
    to: str = Field(max_length=200, description="A phone number (sms) or an email address.")
    customer_id: int | None = None
    template_id: int | None = Field(default=None, description="A knowledge template of the channel.")
    confirm_dnd: bool = Field(default=False, description="Send despite a do-not-disturb warning.")


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    article_id: int | None
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class VersionSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    status: VersionStatus
    title: str
    change_note: str
    author_id: int | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    reviewer_id: int | None
    reviewed_at: datetime | None
    review_comment: str
    publish_at: datetime | None
    scheduled: bool
    published_at: datetime | None


class VersionRead(VersionSummary):
    summary: str
    body_html: str
    body_text: str
    keywords: str
    business_category_id: int | None
    business_attrs: list[str]
    audience: Audience
    expires_at: datetime | None
    attachments: list[AttachmentRead]


class ArticleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    category_id: int
    status: ArticleStatus
    published_no: int | None
    title: str
    summary: str
    keywords: str
    business_category_id: int | None
    business_attrs: list[str]
    audience: Audience
    expires_at: datetime | None
    hot: bool
    click_count: int
    owner_id: int | None
    department_id: int | None
    source_question_id: int | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    first_published_at: datetime | None
    lock_version: int


class LogRead(BaseModel):
    at: datetime
    action: str
    version_no: int | None
    user_id: int | None
    user_name: str
    comment: str
    detail: dict[str, Any]


class ArticleDetail(ArticleRead):
    directory: str
    open_version: VersionRead | None
    live_version: VersionRead | None
    versions: list[VersionSummary]
    log: list[LogRead]
    actions: list[str] = Field(description="What I may do now: edit, submit, approve, publish, …")


class PublishedArticle(ArticleRead):
    """An article as readers see it: the live version."""

    directory: str
    business_type: str
    attribute_labels: list[str]
    body_html: str
    attachments: list[AttachmentRead]


class ManagedItem(ArticleRead):
    directory: str
    owner_name: str
    open_version_no: int | None
    open_version_status: VersionStatus | None


class ManagedPage(BaseModel):
    total: int
    items: list[ManagedItem]


class QueueItem(BaseModel):
    article_id: int
    number: str
    title: str
    directory: str
    version_no: int
    version_status: VersionStatus
    author_id: int | None
    author_name: str
    submitted_at: datetime | None
    publish_at: datetime | None
    scheduled: bool
    change_note: str
    lock_version: int


class SearchHit(BaseModel):
    id: int
    number: str
    version: int | None = Field(description="The live version number (版本).")
    title: str
    title_html: str
    summary: str
    snippet_html: str
    business_attrs: list[str] = Field(description="Labels of the business attributes (业务属性).")
    business_type: str
    directory: str
    keywords: str
    hot: bool
    created_at: datetime
    published_at: datetime | None
    click_count: int
    audience: Audience
    score: float | None


class SearchPage(BaseModel):
    total: int
    exact: bool = Field(description="False: there are at least `total` results.")
    all_words: bool = Field(description="False: no article held every word; these hold some of them.")
    offset: int
    limit: int
    items: list[SearchHit]


class SearchParams(BaseModel):
    q: str = ""
    mode: Literal["fulltext", "keyword"] = "fulltext"
    category_id: int | None = None
    business_category_id: int | None = None
    keywords: str = ""
    hot: bool | None = None
    created_from: date | None = None
    created_to: date | None = None
    published_from: date | None = None
    published_to: date | None = None
    scope: Literal["internal", "public"] = "internal"


class FieldChangeRead(BaseModel):
    field: str
    old: str
    new: str


class DiffLineRead(BaseModel):
    kind: str
    old_html: str
    new_html: str


class DiffRead(BaseModel):
    old_number: int
    new_number: int
    fields: list[FieldChangeRead]
    lines: list[DiffLineRead]
