from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    body: str
    link: str
    target_type: str
    target_id: str
    sender_name: str
    created_at: datetime
    read_at: datetime | None


class InboxPage(BaseModel):
    unread: int
    items: list[NotificationRead]


class MarkRead(BaseModel):
    ids: list[int] | None = Field(default=None, description="Message ids; omit to mark every message read.")


class MarkReadResult(BaseModel):
    changed: int
    unread: int


class MessageSend(BaseModel):
    to_user_ids: list[int] = Field(min_length=1)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=4000)
    link: str = Field(default="", max_length=300)
