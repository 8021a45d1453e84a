"""The question table of questions and answers (问题解答)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.db import Base


class QuestionStatus(StrEnum):
    OPEN = "open"  # waiting for an answer (待解答)
    ANSWERED = "answered"  # 已解答


class Question(Base):
    """A question a staff member asked; an answer, and whether it is a frequent question (常见问题)."""

    __tablename__ = "knowledge_question"
    __table_args__ = (
        Index("ix_knowledge_question_asker_created", "asker_id", "created_at"),
        Index("ix_knowledge_question_status_created", "status", "created_at"),
        Index("ix_knowledge_question_faq", "faq", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    # The knowledge category the question is about, if the asker chose one.
    category_id: Mapped[int | None] = mapped_column(ForeignKey("knowledge_category.id", ondelete="SET NULL"))
    status: Mapped[QuestionStatus] = mapped_column(
        Enum(QuestionStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=QuestionStatus.OPEN,
    )
    asker_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    asker_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column()
    faq: Mapped[bool] = mapped_column(Boolean, default=False)
    # An article written from this question points back at it (Article.source_question_id).
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}
