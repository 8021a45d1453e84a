"""Tables of the comprehensive search (综合查询, TKT-10) and saved queries (自定义查询, TKT-18).

`TicketNameKey` holds the search keys (the folded name, its full pinyin and initials, see
`kefu.customers.names`) of the customer name as registered on a ticket and of the customer profile it
was linked to at registration, so "zhangsan" / "zs" finds tickets with or without a linked customer
through one index; written when the ticket is indexed (registration, replies), rebuilt by
`finder.rebuild_name_keys`. `SavedQuery` is one user's named set of conditions, optionally shared.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.customers.models import key_column
from kefu.db import Base


class TicketNameKey(Base):
    """One way to find a ticket by its customer's name: the folded name, a full pinyin or initials."""

    __tablename__ = "ticket_name_key"
    __table_args__ = (Index("ix_ticket_name_key_key", "key", "ticket_id"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # name / pinyin / initials
    key: Mapped[str] = mapped_column(key_column(100), primary_key=True)


class SavedQuery(Base):
    """A named comprehensive search of one user (conditions and sort as the search parameters);
    `shared` lets every user who may search run it (read-only for them)."""

    __tablename__ = "ticket_saved_query"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_ticket_saved_query_owner_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    shared: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}
