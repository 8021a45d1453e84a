"""Discrete-event simulation of one call-center queue (pure logic: no I/O, no database, no wall clock).

Calls arrive as a Poisson process (constant, or with a rate per interval), wait in one FIFO queue
and are handled by the agents on duty; a caller whose patience runs out hangs up (abandons).
Time is simulated seconds from 0; the event list is a heap and all randomness comes from
`random.Random` streams derived from the seed, so a seed always replays the same run.

What is measured
* Calls are counted by the interval in which they *arrive*, and only those arriving after
  `warm_up_seconds` (the start-up transient is discarded). Arrivals stop at the end of the run
  (`duration_seconds` after the warm-up, or after `max_calls` measured arrivals); calls still in the
  system then are played out, so every measured call ends answered or abandoned:
  `offered == answered + abandoned`.
* Service level = answered within the threshold / (offered - abandoned within the threshold):
  callers who hang up before the threshold count neither for nor against it, those who hang up
  later count against it. With infinite patience this is the share of calls answered within the
  threshold, i.e. Erlang C's `P(wait <= T)`. The counts are in the result for other definitions.
* ASA is the mean wait of answered calls (those answered at once count with 0); `average_wait` is
  the mean wait of all calls, an abandoned call counting the time it waited until it hung up.
* Occupancy is busy time (talk plus wrap-up) over staffed time, and queue lengths are observed,
  within the measured window (from the warm-up to the end of arrivals).

Agents on duty follow `agents` (a number, or a number per interval). An agent who leaves the
schedule while busy finishes the call and its wrap-up first. When a call arrives and several agents
are idle, the longest-idle one takes it unless an `AgentSelector` chooses otherwise (the hook for an
ACD router); an agent who becomes free takes the call at the head of the queue.

The trace (`simulate(on_event=...)` or `trace_events`) tells every call's and agent's story:
a call `arrive`s, then is answered at once or `queue`s first, then `answer` → `hangup`, or `abandon`;
an agent does `login` (ready), then (`answer` → `hangup` → `ready`)*, and may `logout`.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import NamedTuple, Protocol

__all__ = [
    "AgentSelector",
    "Constant",
    "Distribution",
    "EventKind",
    "Exponential",
    "IdleAgent",
    "IntervalStats",
    "LogNormal",
    "Scenario",
    "SimulationResult",
    "TraceEvent",
    "longest_idle",
    "simulate",
    "trace_events",
]


# --- distributions ------------------------------------------------------------------------------


class Distribution(Protocol):
    """A distribution of non-negative durations in seconds."""

    @property
    def mean(self) -> float: ...

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        """A function drawing one value from `rng` per call."""
        ...


@dataclass(frozen=True, slots=True)
class Exponential:
    """Exponential durations with the given mean (memoryless: the M in M/M/c)."""

    mean: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean) and self.mean > 0):
            raise ValueError(f"an exponential distribution needs a mean > 0, got {self.mean!r}")

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        return partial(rng.expovariate, 1.0 / self.mean)


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Log-normal durations with the given mean and standard deviation (not those of the log)."""

    mean: float
    sd: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean) and self.mean > 0):
            raise ValueError(f"a log-normal distribution needs a mean > 0, got {self.mean!r}")
        if not (math.isfinite(self.sd) and self.sd > 0):
            raise ValueError(f"a log-normal distribution needs a standard deviation > 0, got {self.sd!r}")

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        mu, sigma = math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)
        return partial(rng.lognormvariate, mu, sigma)


@dataclass(frozen=True, slots=True)
class Constant:
    """Always the same duration: a fixed wrap-up, or a maximum wait after which the call leaves."""

    value: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.value) and self.value >= 0):
            raise ValueError(f"a constant duration must be a finite number >= 0, got {self.value!r}")

    @property
    def mean(self) -> float:
        return self.value

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        value = self.value
        return lambda: value


# --- agent selection hook -----------------------------------------------------------------------


class IdleAgent(NamedTuple):
    agent: int
    idle_since: float


class AgentSelector(Protocol):
    """Chooses which of the idle agents takes an arriving call; returns that agent's number.

    `idle` is never empty and is ordered longest-idle first.
    """

    def __call__(self, *, now: float, call_id: int, idle: Sequence[IdleAgent]) -> int: ...


def longest_idle(*, now: float, call_id: int, idle: Sequence[IdleAgent]) -> int:
    """The default routing: the agent idle for the longest time."""
    return idle[0].agent


# --- scenario, trace and results ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scenario:
    """What to simulate.

    `calls_per_hour` and `agents` are either one value or one value per interval of
    `interval_seconds` (interval k starts at k · interval_seconds); a sequence repeats, so a profile
    of 48 half-hours describes every day of a longer run. Arrivals go on for `duration_seconds` after
    `warm_up_seconds`, or until `max_calls` calls arrived after the warm-up, whichever comes first.
    """

    calls_per_hour: float | Sequence[float]
    agents: int | Sequence[int]
    handling: Distribution = Exponential(180.0)
    patience: Distribution | None = None
    wrap_up_seconds: float = 0.0
    threshold_seconds: float = 20.0
    interval_seconds: float = 1800.0
    warm_up_seconds: float = 0.0
    duration_seconds: float | None = None
    max_calls: int | None = None

    def rate_profile(self) -> tuple[float, ...]:
        rates = (
            (self.calls_per_hour,) if isinstance(self.calls_per_hour, int | float) else self.calls_per_hour
        )
        return tuple(float(r) for r in rates)

    def agent_schedule(self) -> tuple[int, ...]:
        return (self.agents,) if isinstance(self.agents, int) else tuple(self.agents)

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent setting."""
        rates = self.rate_profile()
        if not rates or any(not math.isfinite(r) or r < 0 for r in rates):
            raise ValueError("calls_per_hour must be one or more finite rates >= 0")
        if not any(rates):
            raise ValueError("calls_per_hour must be positive in at least one interval")
        schedule = self.agent_schedule()
        if not schedule or any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in schedule):
            raise ValueError("agents must be one or more whole numbers >= 0")
        if not any(schedule):
            raise ValueError("agents must be positive in at least one interval")
        for name in ("wrap_up_seconds", "threshold_seconds", "warm_up_seconds"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if not (math.isfinite(self.interval_seconds) and self.interval_seconds > 0):
            raise ValueError(f"interval_seconds must be > 0, got {self.interval_seconds!r}")
        if self.duration_seconds is None and self.max_calls is None:
            raise ValueError("give duration_seconds or max_calls (or both) so that the run ends")
        if self.duration_seconds is not None and not (
            math.isfinite(self.duration_seconds) and self.duration_seconds > 0
        ):
            raise ValueError(f"duration_seconds must be > 0, got {self.duration_seconds!r}")
        if self.max_calls is not None and self.max_calls <= 0:
            raise ValueError(f"max_calls must be > 0, got {self.max_calls!r}")


class EventKind(StrEnum):
    ARRIVE = "arrive"
    QUEUE = "queue"
    ANSWER = "answer"
    ABANDON = "abandon"
    HANGUP = "hangup"
    LOGIN = "login"
    READY = "ready"
    LOGOUT = "logout"


class TraceEvent(NamedTuple):
    time: float
    kind: EventKind
    call_id: int | None
    agent: int | None


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


@dataclass(frozen=True, slots=True)
class IntervalStats:
    """Calls that arrived in one interval [start, start + interval_seconds) and how they ended."""

    start: float
    scheduled_agents: int
    offered: int
    answered: int
    abandoned: int
    answered_within_threshold: int
    abandoned_within_threshold: int
    wait_answered_seconds: float
    wait_abandoned_seconds: float
    handle_seconds: float

    @property
    def service_level(self) -> float | None:
        return _ratio(self.answered_within_threshold, self.offered - self.abandoned_within_threshold)

    @property
    def asa(self) -> float | None:
        return _ratio(self.wait_answered_seconds, self.answered)

    @property
    def average_wait(self) -> float | None:
        return _ratio(self.wait_answered_seconds + self.wait_abandoned_seconds, self.offered)

    @property
    def abandon_rate(self) -> float | None:
        return _ratio(self.abandoned, self.offered)

    @property
    def average_handle_time(self) -> float | None:
        """Mean talk time of the answered calls (wrap-up not included)."""
        return _ratio(self.handle_seconds, self.answered)


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """Totals over the measured calls (see the module docstring for the definitions).

    Ratios are None when their denominator is 0.
    """

    threshold_seconds: float
    measured_seconds: float
    offered: int
    answered: int
    abandoned: int
    answered_within_threshold: int
    abandoned_within_threshold: int
    service_level: float | None
    asa: float | None
    average_wait: float | None
    abandon_rate: float | None
    average_handle_time: float | None
    occupancy: float | None
    max_queue_length: int
    average_queue_length: float | None
    intervals: tuple[IntervalStats, ...]


# --- the simulation -----------------------------------------------------------------------------

# Heap entries are (time, kind, call_id, agent); at equal times the kinds run in this order, and an
# arrival (kept out of the heap: there is only ever one pending) after all of them.
_BOUNDARY, _LOGIN, _TALK_END, _WRAP_END, _PATIENCE_END, _ARRIVAL = range(6)

# Per-interval counters, indexed by these positions in a row.
_OFFERED, _ANSWERED, _ABANDONED, _ANS_IN, _ABD_IN, _WAIT_ANS, _WAIT_ABD, _HANDLE = range(8)


def simulate(
    scenario: Scenario,
    *,
    seed: int,
    select_agent: AgentSelector | None = None,
    on_event: Callable[[TraceEvent], None] | None = None,
) -> SimulationResult:
    """Run `scenario` to the end; `on_event` (if given) receives every trace event in time order."""
    run = _run(scenario, seed=seed, select_agent=select_agent, trace=on_event is not None)
    while True:
        try:
            event = next(run)
        except StopIteration as done:
            result: SimulationResult = done.value
            return result
        assert on_event is not None
        on_event(event)


def trace_events(
    scenario: Scenario, *, seed: int, select_agent: AgentSelector | None = None
) -> Generator[TraceEvent, None, SimulationResult]:
    """The run's events, lazily and in time order; the generator returns the `SimulationResult`
    (`result = yield from trace_events(...)`). Same seed, same events as `simulate`."""
    scenario.validate()  # now, not at the first `next()`
    return _run(scenario, seed=seed, select_agent=select_agent, trace=True)


def _run(
    scenario: Scenario, *, seed: int, select_agent: AgentSelector | None, trace: bool
) -> Generator[TraceEvent, None, SimulationResult]:
    scenario.validate()
    length = scenario.interval_seconds
    rates = tuple(r / 3600.0 for r in scenario.rate_profile())
    schedule = scenario.agent_schedule()
    warm_up = scenario.warm_up_seconds
    threshold = scenario.threshold_seconds
    wrap_up = scenario.wrap_up_seconds
    horizon = math.inf if scenario.duration_seconds is None else warm_up + scenario.duration_seconds
    max_calls = scenario.max_calls if scenario.max_calls is not None else -1
    measure_end = horizon  # moved to the last arrival when max_calls ends the run first

    # Separate streams keep arrivals, handling and patience independent of each other and of the
    # system's state: two scenarios run with one seed see the same callers (common random numbers).
    arrival_rng = random.Random(f"{seed}:arrivals")
    draw_handle = scenario.handling.sampler(random.Random(f"{seed}:handling"))
    draw_patience = (
        scenario.patience.sampler(random.Random(f"{seed}:patience")) if scenario.patience else None
    )
    expovariate = arrival_rng.expovariate
    constant_rate = rates[0] if len(rates) == 1 else None

    def next_arrival_after(t: float, horizon: float) -> float:
        # Piecewise-constant rate: by memorylessness, a draw past the interval's end may be dropped
        # and drawn again from the boundary with the next interval's rate.
        while t < horizon:
            k = math.floor(t / length)
            end = (k + 1) * length
            rate = rates[k % len(rates)]
            if rate > 0:
                candidate = t + expovariate(rate)
                if candidate < end:
                    return candidate
            t = end
        return math.inf

    heap: list[tuple[float, int, int, int]] = []
    push, pop = heapq.heappush, heapq.heappop
    queue: deque[int] = deque()  # waiting call ids in arrival order (abandoned ones removed lazily)
    # call id -> (arrival time, handling time, its interval's counters or None when not measured)
    waiting: dict[int, tuple[float, float, list[float] | None]] = {}
    idle: deque[int] = deque()  # idle agents, longest idle first
    idle_since: dict[int, float] = {}
    spare_ids: list[int] = []  # numbers of logged-out agents, reused lowest first
    next_agent_id = 0
    staffed = busy = logoff_pending = 0
    # Counters per arrival interval; a waiting call carries its row (None when not measured).
    rows: dict[int, list[float]] = {}
    row: list[float] = []
    row_end = -math.inf

    last_t = 0.0
    busy_area = staffed_area = queue_area = 0.0
    max_queue = 0
    n_waiting = 0
    measured = 0
    call_id = 0

    t = 0.0
    for _ in range(schedule[0]):
        agent = next_agent_id
        next_agent_id += 1
        staffed += 1
        idle.append(agent)
        idle_since[agent] = t
        if trace:
            yield TraceEvent(t, EventKind.LOGIN, None, agent)
    if len(schedule) > 1:
        push(heap, (length, _BOUNDARY, 0, 0))
    next_arrival = next_arrival_after(0.0, horizon)

    while True:
        if heap and heap[0][0] <= next_arrival:
            t, kind, cid, agent = pop(heap)
        elif next_arrival < math.inf:
            t, kind = next_arrival, _ARRIVAL
        else:
            break

        # Time integrals (and the longest queue) over the measured window, of the state that held
        # since the last event.
        if t > last_t:
            lo = last_t if last_t > warm_up else warm_up
            hi = t if t < measure_end else measure_end
            if hi > lo:
                dt = hi - lo
                busy_area += busy * dt
                staffed_area += staffed * dt
                queue_area += n_waiting * dt
                if n_waiting > max_queue:
                    max_queue = n_waiting
            last_t = t

        if kind == _ARRIVAL:
            cid = call_id
            call_id += 1
            handle = draw_handle()
            patience = draw_patience() if draw_patience is not None else math.inf
            r: list[float] | None = None
            if t >= warm_up:
                if t >= row_end:
                    k = math.floor(t / length)
                    row_end = (k + 1) * length
                    row = rows.setdefault(k, [0, 0, 0, 0, 0, 0.0, 0.0, 0.0])
                r = row
                r[_OFFERED] += 1
                measured += 1
                if measured == max_calls:
                    measure_end = min(measure_end, t)
                    horizon = t
            if constant_rate is not None:
                next_arrival = t + expovariate(constant_rate)
            else:
                next_arrival = next_arrival_after(t, horizon)
            if next_arrival >= horizon:
                next_arrival = math.inf
            if trace:
                yield TraceEvent(t, EventKind.ARRIVE, cid, None)
            if not idle:
                waiting[cid] = (t, handle, r)
                queue.append(cid)
                n_waiting += 1
                if patience < math.inf:
                    push(heap, (t + patience, _PATIENCE_END, cid, 0))
                if trace:
                    yield TraceEvent(t, EventKind.QUEUE, cid, None)
                continue
            if select_agent is None:
                agent = idle.popleft()
            else:
                agent = select_agent(now=t, call_id=cid, idle=[IdleAgent(a, idle_since[a]) for a in idle])
                try:
                    idle.remove(agent)
                except ValueError:
                    raise ValueError(f"the agent selector chose agent {agent}, who is not idle") from None
            if r is not None:
                r[_ANSWERED] += 1
                r[_ANS_IN] += 1
                r[_HANDLE] += handle
            busy += 1
            push(heap, (t + handle, _TALK_END, cid, agent))
            if trace:
                yield TraceEvent(t, EventKind.ANSWER, cid, agent)
            continue

        if kind == _TALK_END:
            if trace:
                yield TraceEvent(t, EventKind.HANGUP, cid, agent)
            if wrap_up > 0:
                push(heap, (t + wrap_up, _WRAP_END, cid, agent))
                continue
        elif kind == _PATIENCE_END:
            entry = waiting.pop(cid, None)
            if entry is None:  # answered before the caller's patience ran out
                continue
            n_waiting -= 1
            arrived, r = entry[0], entry[2]
            if r is not None:
                r[_ABANDONED] += 1
                wait = t - arrived
                r[_WAIT_ABD] += wait
                if wait <= threshold:
                    r[_ABD_IN] += 1
            if trace:
                yield TraceEvent(t, EventKind.ABANDON, cid, None)
            continue
        elif kind == _BOUNDARY:
            k = round(t / length)
            target = schedule[k % len(schedule)]
            on_duty = staffed - logoff_pending
            if target > on_duty:
                kept = min(logoff_pending, target - on_duty)
                logoff_pending -= kept
                for _ in range(target - on_duty - kept):
                    if spare_ids:
                        agent = heapq.heappop(spare_ids)
                    else:
                        agent = next_agent_id
                        next_agent_id += 1
                    staffed += 1
                    push(heap, (t, _LOGIN, 0, agent))
            elif target < on_duty:
                leaving = on_duty - target
                while leaving and idle:
                    agent = idle.pop()  # the most recently idle leave first
                    staffed -= 1
                    heapq.heappush(spare_ids, agent)
                    leaving -= 1
                    if trace:
                        yield TraceEvent(t, EventKind.LOGOUT, None, agent)
                logoff_pending += leaving  # busy agents leave when they are done
            if next_arrival < math.inf or n_waiting:
                push(heap, ((k + 1) * length, _BOUNDARY, 0, 0))
            continue

        # The agent is free (after a call and its wrap-up, or on login): log off if the schedule
        # says so, else take the call at the head of the queue or wait for one.
        if kind == _LOGIN:
            if trace:
                yield TraceEvent(t, EventKind.LOGIN, None, agent)
        else:
            busy -= 1
            if logoff_pending:
                logoff_pending -= 1
                staffed -= 1
                heapq.heappush(spare_ids, agent)
                if trace:
                    yield TraceEvent(t, EventKind.LOGOUT, None, agent)
                continue
            if trace:
                yield TraceEvent(t, EventKind.READY, None, agent)
        entry = None
        while queue:
            cid = queue.popleft()
            entry = waiting.pop(cid, None)
            if entry is not None:
                break
        if entry is None:
            idle.append(agent)
            idle_since[agent] = t
            continue
        n_waiting -= 1
        arrived, handle, r = entry
        if r is not None:
            wait = t - arrived
            r[_ANSWERED] += 1
            r[_WAIT_ANS] += wait
            r[_HANDLE] += handle
            if wait <= threshold:
                r[_ANS_IN] += 1
        busy += 1
        push(heap, (t + handle, _TALK_END, cid, agent))
        if trace:
            yield TraceEvent(t, EventKind.ANSWER, cid, agent)

    return _result(scenario, rows, warm_up, measure_end, busy_area, staffed_area, queue_area, max_queue)


def _result(
    scenario: Scenario,
    rows: dict[int, list[float]],
    warm_up: float,
    measure_end: float,
    busy_area: float,
    staffed_area: float,
    queue_area: float,
    max_queue: int,
) -> SimulationResult:
    length = scenario.interval_seconds
    schedule = scenario.agent_schedule()
    first = math.floor(warm_up / length)
    last = max(first, math.ceil(measure_end / length) - 1)
    intervals = []
    for k in range(first, last + 1):
        r = rows.get(k, [0, 0, 0, 0, 0, 0.0, 0.0, 0.0])
        intervals.append(
            IntervalStats(
                start=k * length,
                scheduled_agents=schedule[k % len(schedule)],
                offered=int(r[_OFFERED]),
                answered=int(r[_ANSWERED]),
                abandoned=int(r[_ABANDONED]),
                answered_within_threshold=int(r[_ANS_IN]),
                abandoned_within_threshold=int(r[_ABD_IN]),
                wait_answered_seconds=r[_WAIT_ANS],
                wait_abandoned_seconds=r[_WAIT_ABD],
                handle_seconds=r[_HANDLE],
            )
        )
    offered = sum(i.offered for i in intervals)
    answered = sum(i.answered for i in intervals)
    abandoned = sum(i.abandoned for i in intervals)
    ans_in = sum(i.answered_within_threshold for i in intervals)
    abd_in = sum(i.abandoned_within_threshold for i in intervals)
    wait_ans = math.fsum(i.wait_answered_seconds for i in intervals)
    wait_abd = math.fsum(i.wait_abandoned_seconds for i in intervals)
    handle = math.fsum(i.handle_seconds for i in intervals)
    window = max(0.0, measure_end - warm_up)
    return SimulationResult(
        threshold_seconds=scenario.threshold_seconds,
        measured_seconds=window,
        offered=offered,
        answered=answered,
        abandoned=abandoned,
        answered_within_threshold=ans_in,
        abandoned_within_threshold=abd_in,
        service_level=_ratio(ans_in, offered - abd_in),
        asa=_ratio(wait_ans, answered),
        average_wait=_ratio(wait_ans + wait_abd, offered),
        abandon_rate=_ratio(abandoned, offered),
        average_handle_time=_ratio(handle, answered),
        occupancy=_ratio(busy_area, staffed_area),
        max_queue_length=max_queue,
        average_queue_length=_ratio(queue_area, window),
        intervals=tuple(intervals),
    )
