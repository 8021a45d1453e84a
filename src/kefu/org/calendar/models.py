"""Tables of the business calendar (工作日历): day overrides, weekly working hours, shifts and the roster.

Wall-clock times are stored as "HH:MM" strings in the deployment's zone: they are times of day, not
instants, and "24:00" (the end of a day) has no `TIME` value on every database.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.core import clock
from kefu.db import Base
from kefu.org.models import User


class HolidayOverride(Base):
    """The deployment's decision about one date (节假日定义): worked or not; beats the statutory table."""

    __tablename__ = "calendar_override"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(60), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))


class WorkingHoursSpan(Base):
    """One worked wall-clock span [start, end) of a weekday (0 = Monday). "24:00" ends at midnight."""

    __tablename__ = "calendar_working_span"
    __table_args__ = (CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    weekday: Mapped[int] = mapped_column(Integer, index=True)
    start: Mapped[str] = mapped_column(String(5))
    end: Mapped[str] = mapped_column(String(5))
    sort: Mapped[int] = mapped_column(Integer, default=0)


class Shift(Base):
    """A shift (班次): local start and end times; it crosses midnight when `end` is not after `start`."""

    __tablename__ = "shift"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    start: Mapped[str] = mapped_column(String(5))
    end: Mapped[str] = mapped_column(String(5))
    colour: Mapped[str] = mapped_column(String(7), default="#0d6efd")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    @property
    def crosses_midnight(self) -> bool:
        """True when the shift ends on the day after it starts ("HH:MM" strings compare in time order)."""
        return self.end <= self.start


class RosterEntry(Base):
    """A user works `shift` starting on the local date `day` (排班)."""

    __tablename__ = "roster_entry"
    __table_args__ = (UniqueConstraint("user_id", "day", "shift_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shift.id", ondelete="RESTRICT"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime] = mapped_column(default=clock.now)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    shift: Mapped[Shift] = relationship()
