"""API shapes of the search dictionary."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class WordCreate(BaseModel):
    word: str
    weight: int | None = None
    pos: str = ""
    enabled: bool = True
    note: str = ""


class WordUpdate(BaseModel):
    """Fields left out stay as they are; `"weight": null` lets jieba choose the frequency again."""

    word: str | None = None
    weight: int | None = None
    pos: str | None = None
    enabled: bool | None = None
    note: str | None = None


class WordRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    word: str
    weight: int | None
    pos: str
    enabled: bool
    note: str
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime


class WordPage(BaseModel):
    total: int
    items: list[WordRead]


class SegmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    text: str
    normalized: str
    document_terms: list[str]
    query_terms: list[str]


class ReindexQueued(BaseModel):
    queued: bool = True
