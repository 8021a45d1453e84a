"""Tables of ticket merging (案例合并, TKT-11) and of knowledge drafts written from tickets (TKT-12).

A merge keeps the list of rows it moved from the merged ticket to the survivor (files, contact links,
trackings and single follow-up records), so that a split-back moves exactly those back: rows added to
the survivor afterwards stay where they are, and the processing log never moves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.db import Base


class TicketMerge(Base):
    """One ticket merged into a surviving one; `split_at` is set when it was split back."""

    __tablename__ = "ticket_merge"
    __table_args__ = (Index("ix_ticket_merge_survivor", "survivor_id", "split_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    merged_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=clock.now)
    comment: Mapped[str] = mapped_column(Text, default="")
    # The merged ticket as it was: its status, and whether the merge cancelled its running flow.
    prior_status: Mapped[str] = mapped_column(String(16))
    # What moved to the survivor: {"attachments": [ids], "contacts": [contact record ids],
    # "trackings": [ids], "records": {record id: the tracking it came from}}.
    moved: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    split_at: Mapped[datetime | None] = mapped_column()
    split_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    split_comment: Mapped[str] = mapped_column(Text, default="")


class TicketKnowledgeDraft(Base):
    """A knowledge article drafted from a closed ticket (已关闭案例转知识库): the link both ways."""

    __tablename__ = "ticket_knowledge_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_article.id", ondelete="CASCADE"), unique=True
    )
    by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=clock.now)
