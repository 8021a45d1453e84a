"""API shapes of announcements."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kefu.core import clock
from kefu.notices.announcement_audience import Audience
from kefu.notices.announcement_models import AnnouncementStatus, Priority
from kefu.notices.announcements import Draft


class AnnouncementWrite(BaseModel):
    """A draft as a whole (PUT replaces every field). Times without a zone are the deployment's."""

    title: str = Field(max_length=200)
    body: str = Field(description="Rich text (HTML); anything but formatting is removed.")
    priority: Priority = Priority.NORMAL
    audience_all: bool = Field(default=False, description="Every active member of staff.")
    department_ids: list[int] = Field(default_factory=list)
    include_subdepartments: bool = Field(
        default=True, description="Departments include their sub-departments."
    )
    role_ids: list[int] = Field(default_factory=list)
    user_ids: list[int] = Field(default_factory=list)
    starts_at: datetime | None = Field(default=None, description="Shown from (empty: when published).")
    ends_at: datetime | None = Field(default=None, description="Shown until (empty: no end).")

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=clock.local_tz()).astimezone(clock.UTC)
        return value

    def draft(self) -> Draft:
        return Draft(
            title=self.title,
            body=self.body,
            priority=self.priority,
            audience=Audience.of(
                all=self.audience_all,
                department_ids=self.department_ids,
                include_subdepartments=self.include_subdepartments,
                role_ids=self.role_ids,
                user_ids=self.user_ids,
            ),
            starts_at=self.starts_at,
            ends_at=self.ends_at,
        )


class AnnouncementCreate(AnnouncementWrite):
    publish: bool = Field(default=False, description="Publish at once instead of keeping a draft.")


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    content_type: str
    size: int
    uploaded_at: datetime


class AnnouncementBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    priority: Priority
    author_name: str
    starts_at: datetime | None
    ends_at: datetime | None


class ReceivedBrief(AnnouncementBrief):
    read_at: datetime | None = None


class ReceivedAnnouncement(ReceivedBrief):
    body: str
    attachments: list[AttachmentRead]


class AnnouncementInbox(BaseModel):
    unread: int
    items: list[ReceivedBrief]


class ReadResult(BaseModel):
    read_at: datetime | None
    unread: int


class ReceiptCounts(BaseModel):
    total: int
    read: int
    unread: int


class ManagedAnnouncement(AnnouncementBrief):
    """An announcement as its publisher sees it: the audience rule, the state and the counts."""

    body: str
    status: AnnouncementStatus
    audience_all: bool
    department_ids: list[int]
    include_subdepartments: bool
    role_ids: list[int]
    user_ids: list[int]
    audience_names: dict[str, list[str]]
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    withdrawn_at: datetime | None
    withdraw_reason: str
    last_reminded_at: datetime | None
    attachments: list[AttachmentRead]
    counts: ReceiptCounts


class ManagedList(BaseModel):
    items: list[ManagedAnnouncement]


class ReceiptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: int
    name: str
    username: str
    department: str
    read_at: datetime | None
    reminded_at: datetime | None
    remind_count: int


class DepartmentCounts(ReceiptCounts):
    department: str


class ReceiptReport(BaseModel):
    counts: ReceiptCounts
    departments: list[DepartmentCounts]
    items: list[ReceiptRead]


class Withdraw(BaseModel):
    reason: str = Field(default="", max_length=500)


class RemindResult(BaseModel):
    reminded: int
