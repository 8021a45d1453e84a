"""API shapes of ticket merging, similar-ticket suggestions and knowledge drafts from tickets."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from kefu.tickets.schemas import TicketDetail, TicketStatus


class MergeAction(BaseModel):
    ticket_ids: list[int] = Field(default_factory=list, description="The tickets to fold into this one.")
    serials: list[str] = Field(default_factory=list, description="Or their serial numbers.")
    comment: str = Field(default="", max_length=4000)
    version: int | None = Field(default=None, description="The surviving ticket's version; stale: 409.")


class SplitAction(BaseModel):
    comment: str = Field(default="", max_length=4000)
    version: int | None = Field(default=None, description="The merged ticket's version; stale: 409.")


class MergedTicketDetail(TicketDetail):
    """A ticket with where it was merged into (if it is) and its close reason."""

    merged_into_id: int | None
    merged_at: datetime | None
    close_reason: str | None


class MergeRead(BaseModel):
    id: int
    survivor_id: int
    survivor_serial: str
    merged_id: int
    merged_serial: str
    by_id: int | None
    at: datetime
    comment: str
    moved: dict[str, object]
    split_at: datetime | None
    split_by_id: int | None


class SimilarRead(BaseModel):
    id: int
    serial: str
    subject: str
    status: TicketStatus
    customer_name: str
    customer_phone: str
    terminal_no: str
    category_id: int | None
    created_at: datetime
    score: float = Field(description="0 … 1; suggested from the cut-off up.")
    text_similarity: float
    reasons: list[str] = Field(description="customer, phone, terminal, category, text")


class KnowledgeDraftAction(BaseModel):
    category_id: int = Field(description="The knowledge category the draft is written in.")


class KnowledgeDraftRead(BaseModel):
    article_id: int
    number: str
    title: str
    status: str
    link: str
