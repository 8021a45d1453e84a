"""Call statistics (话务统计, CC-9): counts, averages, service level and abandon rate of the calls
that started in a range of local days, grouped by local hour, local day, queue or agent.

What is counted (a call belongs to the bucket in which it *started*):

- `inbound` / `outbound`: every call of that direction, finished or not;
- `offered`: inbound calls that ended after reaching a queue or an agent — `answered` + `abandoned`
  (the caller hung up first) + `missed` (nobody answered); calls that ended in the IVR are
  `self_service`, outbound calls the customer took are `outbound_answered`;
- `handled`: answered calls of both directions, the base of the talk, hold and handling averages;
- average wait: over offered calls (an abandoned call counts the time until the caller hung up);
  average speed of answer over answered inbound calls;
- average handling time: talk + hold + the wrap-up the agents' state log recorded for the call
  (every agent's, after a transfer), so talk + hold where no wrap-up was recorded;
- service level: inbound calls answered within the threshold over offered calls; abandon rate:
  abandoned over offered. A rate with nothing offered is None, not 0.

A transferred call counts once, for the queue it ended in and the agent who finished it.

Everything is summed in the database: the range is cut into buckets whose boundaries are computed
here, in the business time zone, and a balanced CASE over those boundaries gives each call its
bucket — the same SQL on SQLite and PostgreSQL, right for any time zone, and about log2(buckets)
comparisons per call. Only the (few) sums per bucket come back to Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, func, literal, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.functions import FunctionElement

from kefu.callcenter.models import AgentState, AgentStateSpan, Call, CallQueue, Direction, Outcome
from kefu.callcenter.permissions import CALLS_VIEW
from kefu.core import clock, i18n
from kefu.core.errors import FieldError
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor, restrict
from kefu.org.models import User

DEFAULT_THRESHOLD = 20  # seconds: the classic 80/20 service level
MAX_THRESHOLD = 3600
OFFERED = (Outcome.ANSWERED.value, Outcome.ABANDONED.value, Outcome.MISSED.value)
# A call and the wrap-up after it end within this long after the call started.
LONGEST_CALL = timedelta(days=1)

END_BEFORE_START = lazy("The end date is before the start date")
RANGE_TOO_LONG = lazy("At most %(days)s days for this grouping")
THRESHOLD_RANGE = lazy("Between %(min)s and %(max)s seconds")
NO_SUCH_QUEUE = lazy("No such queue")
NO_QUEUE = lazy("No queue")
NO_AGENT = lazy("No agent")


class GroupBy(StrEnum):
    HOUR = "hour"
    DAY = "day"
    QUEUE = "queue"
    AGENT = "agent"


MAX_DAYS = {GroupBy.HOUR: 31, GroupBy.DAY: 366, GroupBy.QUEUE: 366, GroupBy.AGENT: 366}


class seconds_between(FunctionElement[float]):
    """`later - earlier` in seconds (float), on SQLite and PostgreSQL."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_between(element: seconds_between, compiler: Any, **kw: Any) -> str:
    earlier, later = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    earlier, later = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


@dataclass
class Figures:
    """The sums of one bucket; the averages and rates are derived from them."""

    inbound: int = 0
    outbound: int = 0
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    missed: int = 0
    self_service: int = 0
    outbound_answered: int = 0
    answered_in_threshold: int = 0
    handled: int = 0
    wait_seconds: float = 0.0  # over offered calls
    answer_wait_seconds: float = 0.0  # over answered inbound calls
    talk_seconds: float = 0.0  # over handled calls, like hold and wrap-up
    hold_seconds: float = 0.0
    wrap_up_seconds: float = 0.0

    def add(self, other: Figures) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @staticmethod
    def _ratio(part: float, whole: int, digits: int) -> float | None:
        return round(part / whole, digits) if whole else None

    @property
    def avg_wait(self) -> float | None:
        return self._ratio(self.wait_seconds, self.offered, 1)

    @property
    def avg_answer_speed(self) -> float | None:
        return self._ratio(self.answer_wait_seconds, self.answered, 1)

    @property
    def avg_talk(self) -> float | None:
        return self._ratio(self.talk_seconds, self.handled, 1)

    @property
    def avg_hold(self) -> float | None:
        return self._ratio(self.hold_seconds, self.handled, 1)

    @property
    def avg_handle(self) -> float | None:
        handling = self.talk_seconds + self.hold_seconds + self.wrap_up_seconds
        return self._ratio(handling, self.handled, 1)

    @property
    def service_level(self) -> float | None:
        return self._ratio(self.answered_in_threshold, self.offered, 4)

    @property
    def abandon_rate(self) -> float | None:
        return self._ratio(self.abandoned, self.offered, 4)


@dataclass(frozen=True)
class StatsFilter:
    date_from: date
    date_to: date
    group_by: GroupBy = GroupBy.HOUR
    queue_id: int | None = None
    threshold: int = DEFAULT_THRESHOLD

    @property
    def start(self) -> datetime:
        return local_midnight(self.date_from)

    @property
    def end(self) -> datetime:
        return local_midnight(self.date_to + timedelta(days=1))


@dataclass
class StatsRow:
    key: str  # "2026-11-20 09:00", "2026-11-20", a queue or agent id, "" for none
    label: str
    figures: Figures
    start: datetime | None = None  # time buckets: where the bucket begins (UTC)


@dataclass
class StatsReport:
    filter: StatsFilter
    rows: list[StatsRow]
    total: Figures = field(default_factory=Figures)


def today() -> date:
    return clock.to_local(clock.now()).date()


def local_midnight(day: date) -> datetime:
    """The UTC instant at which `day` begins in the business time zone."""
    return datetime.combine(day, time(), tzinfo=clock.local_tz()).astimezone(UTC)


def make_filter(
    session: Session,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    group_by: GroupBy = GroupBy.HOUR,
    queue_id: int | None = None,
    threshold: int = DEFAULT_THRESHOLD,
) -> StatsFilter:
    """A checked filter; the range defaults to today (local), one missing end to the other."""
    date_from = date_from or date_to or today()
    date_to = date_to or date_from
    if date_to < date_from:
        raise FieldError("date_to", END_BEFORE_START)
    if (date_to - date_from).days + 1 > MAX_DAYS[group_by]:
        raise FieldError("date_to", RANGE_TOO_LONG, days=MAX_DAYS[group_by])
    if not 1 <= threshold <= MAX_THRESHOLD:
        raise FieldError("threshold", THRESHOLD_RANGE, min=1, max=MAX_THRESHOLD)
    if queue_id is not None and session.get(CallQueue, queue_id) is None:
        raise FieldError("queue_id", NO_SUCH_QUEUE)
    return StatsFilter(date_from, date_to, group_by, queue_id, threshold)


def time_buckets(date_from: date, date_to: date, minutes: int) -> list[datetime]:
    """Bucket boundaries (UTC) every `minutes` of local wall-clock time from the start of
    `date_from` to the end of `date_to`; n + 1 boundaries for n buckets. A wall time a DST change
    skips falls on the next boundary and is dropped, so no bucket is empty by construction."""
    tz = clock.local_tz()
    bounds: list[datetime] = []
    day = date_from
    while day <= date_to:
        for minute in range(0, 24 * 60, minutes):
            local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
            bounds.append(local.astimezone(UTC))
        day += timedelta(days=1)
    bounds.append(local_midnight(date_to + timedelta(days=1)))
    return sorted(set(bounds))


def bucket_of(column: Any, bounds: Sequence[datetime]) -> ColumnElement[int]:
    """The index i of the bucket [bounds[i], bounds[i+1]) that `column` falls in (rows must already
    lie within [bounds[0], bounds[-1])): a balanced CASE tree, so log2(n) comparisons a row."""

    def build(lo: int, hi: int) -> ColumnElement[int]:
        if hi - lo == 1:
            return literal_column(str(lo))  # an inline integer: no untyped parameter in THEN
        mid = (lo + hi) // 2
        return case((column < bounds[mid], build(lo, mid)), else_=build(mid, hi))

    return build(0, len(bounds) - 1)


def _wrap_ups(start: datetime, end: datetime) -> Any:
    """Recorded wrap-up seconds per call, for calls started in [start, end)."""
    span = AgentStateSpan
    return (
        select(
            span.call_id.label("call_pk"),
            func.sum(seconds_between(span.started_at, span.ended_at)).label("seconds"),
        )
        .where(
            span.state == AgentState.WRAP_UP.value,
            span.call_id.is_not(None),
            span.ended_at.is_not(None),
            span.ended_at >= start,
            span.ended_at < end + LONGEST_CALL,
        )
        .group_by(span.call_id)
        .subquery("wrap_ups")
    )


def call_department() -> ColumnElement[Any]:
    """The department a call belongs to for data scope: its agent's at the time, else its queue's
    (so that abandoned and missed calls of a department's queue are the department's)."""
    return func.coalesce(Call.department_id, CallQueue.department_id)


def restrict_to_scope(stmt: Any, actor: Actor, permission: str = CALLS_VIEW) -> Any:
    """`stmt` (selecting from Call outer-joined to CallQueue) limited to the actor's calls."""
    return restrict(stmt, actor, permission, owner=Call.agent_id, department=call_department())


def aggregate(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    key: ColumnElement[Any] | QueryableAttribute[Any],
    where: Sequence[ColumnElement[bool]] = (),
    threshold: int | None = DEFAULT_THRESHOLD,
    scope: tuple[Actor, str] | None = None,
) -> dict[Any, Figures]:
    """Figures per value of `key` over the calls started in [start, end).

    `key` is an expression over Call / CallQueue (e.g. `bucket_of(Call.started_at, bounds)` or
    `Call.queue_id`); `threshold` None takes each queue's own service-level seconds (the default
    for calls without a queue); `scope` (actor, permission) applies that permission's data scope.
    """
    wraps = _wrap_ups(start, end)
    limit = (
        literal(threshold)
        if threshold is not None
        else func.coalesce(CallQueue.service_level_seconds, DEFAULT_THRESHOLD)
    )
    inner = (
        select(
            key.label("bucket"),
            Call.direction,
            Call.outcome,
            Call.wait_seconds,
            Call.talk_seconds,
            Call.hold_seconds,
            func.coalesce(wraps.c.seconds, 0.0).label("wrap_up"),
            limit.label("threshold"),
        )
        .select_from(Call)
        .outerjoin(CallQueue, CallQueue.id == Call.queue_id)
        .outerjoin(wraps, wraps.c.call_pk == Call.id)
        .where(Call.started_at >= start, Call.started_at < end, *where)
    )
    if scope is not None:
        inner = restrict_to_scope(inner, *scope)
    c = inner.subquery("calls").c
    inbound = c.direction == Direction.IN.value
    offered = and_(inbound, c.outcome.in_(OFFERED))
    answered_in = and_(inbound, c.outcome == Outcome.ANSWERED.value)
    handled = c.outcome == Outcome.ANSWERED.value
    stmt = select(
        c.bucket,
        func.count().filter(inbound),
        func.count().filter(c.direction == Direction.OUT.value),
        func.count().filter(offered),
        func.count().filter(answered_in),
        func.count().filter(and_(inbound, c.outcome == Outcome.ABANDONED.value)),
        func.count().filter(and_(inbound, c.outcome == Outcome.MISSED.value)),
        func.count().filter(and_(inbound, c.outcome == Outcome.SELF_SERVICE.value)),
        func.count().filter(and_(c.direction == Direction.OUT.value, handled)),
        func.count().filter(and_(answered_in, c.wait_seconds <= c.threshold)),
        func.count().filter(handled),
        func.sum(c.wait_seconds).filter(offered),
        func.sum(c.wait_seconds).filter(answered_in),
        func.sum(c.talk_seconds).filter(handled),
        func.sum(c.hold_seconds).filter(handled),
        func.sum(c.wrap_up).filter(handled),
    ).group_by(c.bucket)
    result: dict[Any, Figures] = {}
    for bucket, *values in session.execute(stmt):
        counts = [int(v or 0) for v in values[:10]]
        sums = [round(float(v or 0), 3) for v in values[10:]]
        result[bucket] = Figures(*counts, *sums)  # type: ignore[arg-type]
    return result


def report(session: Session, actor: Actor, flt: StatsFilter, *, permission: str = CALLS_VIEW) -> StatsReport:
    """The statistics of `flt` over the calls within the actor's data scope of `permission`."""
    where: list[ColumnElement[bool]] = []
    if flt.queue_id is not None:
        where.append(Call.queue_id == flt.queue_id)
    common: dict[str, Any] = {
        "start": flt.start,
        "end": flt.end,
        "where": where,
        "threshold": flt.threshold,
        "scope": (actor, permission),
    }
    rows: list[StatsRow]
    if flt.group_by in (GroupBy.HOUR, GroupBy.DAY):
        minutes = 60 if flt.group_by is GroupBy.HOUR else 24 * 60
        bounds = time_buckets(flt.date_from, flt.date_to, minutes)
        found = aggregate(session, key=bucket_of(Call.started_at, bounds), **common)
        fmt = "%Y-%m-%d %H:00" if flt.group_by is GroupBy.HOUR else "%Y-%m-%d"
        rows = []
        for i, begin in enumerate(bounds[:-1]):
            label = clock.to_local(begin).strftime(fmt)
            rows.append(StatsRow(label, label, found.get(i, Figures()), start=begin))
    elif flt.group_by is GroupBy.QUEUE:
        found = aggregate(session, key=Call.queue_id, **common)
        ids = [k for k in found if k is not None]
        names = dict(
            session.execute(select(CallQueue.id, CallQueue.name).where(CallQueue.id.in_(ids))).tuples().all()
        )
        rows = _named_rows(found, names, NO_QUEUE)
    else:
        found = aggregate(session, key=Call.agent_id, **common)
        ids = [k for k in found if k is not None]
        names = dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).tuples().all())
        rows = _named_rows(found, names, NO_AGENT)
    total = Figures()
    for row in rows:
        total.add(row.figures)
    return StatsReport(filter=flt, rows=rows, total=total)


def _named_rows(found: dict[Any, Figures], names: dict[int, str], none_label: str) -> list[StatsRow]:
    """Rows by name; the calls of no queue (or no agent) last, labelled as such (translated where shown)."""
    named = sorted((k for k in found if k is not None), key=lambda k: (names.get(k, ""), k))
    rows = [StatsRow(str(k), names.get(k, str(k)), found[k]) for k in named]
    if None in found:
        rows.append(StatsRow("", i18n.gettext(none_label), found[None]))
    return rows
