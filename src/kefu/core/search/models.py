"""Tables of the search interface: indexed documents, the domain dictionary and its version.

The full-text index itself (`search_fts…`) is dialect-specific and lives outside the ORM: see `ddl`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.db import Base

KIND_MAX = 40
WORD_MAX = 40
TAG_MAX = 10


class SearchDocument(Base):
    """One indexed document: the original text as the domain gave it (for highlighting and for
    re-segmenting after a dictionary change). Its id is the rowid / key of the `search_fts` index."""

    __tablename__ = "search_document"
    __table_args__ = (UniqueConstraint("kind", "ref_id", name="uq_search_document_kind_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(KIND_MAX))
    ref_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[str] = mapped_column(Text, default="")
    indexed_at: Mapped[datetime] = mapped_column(default=clock.now)


class SearchWord(Base):
    """A word of the domain dictionary (搜索词典): jieba keeps it in one piece when segmenting."""

    __tablename__ = "search_word"

    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(String(WORD_MAX), unique=True)
    # jieba's word frequency; None lets jieba suggest one just high enough to keep the word whole.
    weight: Mapped[int | None] = mapped_column(Integer)
    pos: Mapped[str] = mapped_column(String(TAG_MAX), default="")  # part of speech, e.g. n, v, nz
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class SearchDictionaryState(Base):
    """A single row: the dictionary's version, changed with every edit. Each process compares it with
    the version its segmenter was built from (at most every few seconds) and reloads when it differs.
    A random token rather than a counter, so that a rolled-back change can never be mistaken for the
    same version as a later, different one."""

    __tablename__ = "search_dictionary_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(default=clock.now)
