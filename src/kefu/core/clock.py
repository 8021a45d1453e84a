"""The one source of "now". Tests freeze it with `clock.freeze(...)`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["UTC", "advance", "freeze", "local_tz", "now", "to_local"]

_frozen: datetime | None = None
_local_tz = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The current instant, aware, in UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def set_local_tz(name: str) -> None:
    global _local_tz
    _local_tz = ZoneInfo(name)


def local_tz() -> ZoneInfo:
    """The deployment's time zone, in which times are shown and working hours are counted."""
    return _local_tz


def to_local(value: datetime) -> datetime:
    return value.astimezone(_local_tz)


@contextmanager
def freeze(at: datetime) -> Iterator[None]:
    """Make `now()` return `at` (aware) inside the block."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    previous, _frozen = _frozen, at.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = previous


def advance(delta: timedelta) -> None:
    """Move a frozen clock forward."""
    global _frozen
    if _frozen is None:
        raise RuntimeError("advance() needs a frozen clock")
    _frozen = _frozen + delta
