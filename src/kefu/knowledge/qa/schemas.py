"""API shapes of questions and answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from kefu.knowledge.qa.models import QuestionStatus


class QuestionAsk(BaseModel):
    title: str = Field(max_length=200)
    body: str = Field(default="", max_length=4000)
    category_id: int | None = None


class QuestionEdit(QuestionAsk):
    lock_version: int | None = None


class AnswerBody(BaseModel):
    lock_version: int | None = None
    answer: str = Field(max_length=20000)


class FaqBody(BaseModel):
    lock_version: int | None = None
    faq: bool


class ToArticleBody(BaseModel):
    category_id: int


class QuestionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    body: str
    category_id: int | None
    status: QuestionStatus
    asker_id: int | None
    answer: str
    answered_by_id: int | None
    answered_at: datetime | None
    faq: bool
    created_at: datetime
    updated_at: datetime
    lock_version: int
    article_id: int | None = None


class QuestionPage(BaseModel):
    total: int
    items: list[QuestionRead]
