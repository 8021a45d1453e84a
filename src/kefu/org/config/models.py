"""Tables for the data dictionary and system parameters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.core import clock
from kefu.db import Base


class DictType(Base):
    """A code table, e.g. `channel` or `urgency`. System types cannot be deleted."""

    __tablename__ = "dict_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    items: Mapped[list[DictItem]] = relationship(
        back_populates="dict_type", order_by="(DictItem.sort, DictItem.id)", cascade="all, delete-orphan"
    )


class DictItem(Base):
    """One entry of a code table: a stable code, a label per language, an order and an enabled flag."""

    __tablename__ = "dict_item"
    __table_args__ = (UniqueConstraint("type_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("dict_type.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100), default="")
    sort: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    dict_type: Mapped[DictType] = relationship(back_populates="items")


class SystemParameter(Base):
    """A parameter's current value; the parameter itself (type, default, bounds) is declared in code."""

    __tablename__ = "system_parameter"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))


class ParameterHistory(Base):
    __tablename__ = "parameter_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), index=True)
    old_value: Mapped[Any] = mapped_column(JSON)
    new_value: Mapped[Any] = mapped_column(JSON)
    changed_at: Mapped[datetime] = mapped_column(default=clock.now)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    changed_by_name: Mapped[str] = mapped_column(String(100), default="")
