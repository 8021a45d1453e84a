"""The call-center simulator: agreement with Erlang C, abandonment, schedules, routing and the trace."""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict
from collections.abc import Sequence

import pytest

from kefu.callcenter.erlang import average_speed_of_answer, erlang_c, service_level
from kefu.callcenter.simulation import (
    Constant,
    EventKind,
    Exponential,
    IdleAgent,
    LogNormal,
    Scenario,
    SimulationResult,
    TraceEvent,
    simulate,
    trace_events,
)

MMC = Scenario(
    calls_per_hour=160.0,  # 160/h × 180 s = 8 Erlangs
    agents=10,
    handling=Exponential(180.0),
    threshold_seconds=20.0,
    warm_up_seconds=4 * 3600.0,
    max_calls=2_000_000,
)


@pytest.fixture(scope="module")
def mmc_run() -> SimulationResult:
    return simulate(MMC, seed=0)


def test_mmc_agrees_with_erlang_c(mmc_run: SimulationResult) -> None:
    """M/M/c with A = 8 Erlangs, c = 10, AHT 180 s, T = 20 s: Erlang C gives SL 67.24 %, ASA 36.83 s.

    Waits of successive calls are strongly correlated at 80 % occupancy, so the run's error is far
    above the binomial sqrt(p(1-p)/n). Measured over 30 independent runs of this length (and 80 of
    500,000 calls, scaled), the standard deviation of the estimate is about 0.17 percentage points
    for the service level and 1.2 % of the ASA: the 1 pp bound is about 6 standard errors, the 5 %
    ASA bound about 4. (This seed: SL 67.36 %, ASA 36.29 s.) Two million calls take about 3 s on an
    idle 2-core machine.
    """
    result = mmc_run
    a, c = 8.0, 10
    assert result.offered == result.answered == 2_000_000
    assert result.abandoned == 0
    expected_sl = service_level(calls=160, aht_seconds=180, agents=c, target_seconds=20)
    expected_asa = average_speed_of_answer(calls=160, aht_seconds=180, agents=c)
    assert expected_sl == pytest.approx(0.6724, abs=1e-4)
    assert result.service_level is not None
    assert result.service_level == pytest.approx(expected_sl, abs=0.01)
    assert result.asa == pytest.approx(expected_asa, rel=0.05)
    # With infinite patience everybody is answered: the mean wait of all calls is the ASA.
    assert result.average_wait == result.asa
    assert result.occupancy == pytest.approx(a / c, abs=0.01)
    assert result.average_handle_time == pytest.approx(180.0, rel=0.01)
    assert erlang_c(a, c) == pytest.approx(0.4092, abs=1e-4)


def test_little_law_holds(mmc_run: SimulationResult) -> None:
    """Mean queue length = arrival rate × mean wait (edge effects are a few calls in two million)."""
    result = mmc_run
    assert result.average_wait is not None
    assert result.average_queue_length == pytest.approx(160 / 3600 * result.average_wait, rel=0.01)
    assert result.max_queue_length > 20  # long runs see long queues at 80 % occupancy


def test_finite_patience_abandons_and_shortens_waits() -> None:
    heavy = Scenario(calls_per_hour=190.0, agents=10, threshold_seconds=20.0, duration_seconds=300 * 3600.0)
    patient = simulate(heavy, seed=3)
    impatient = simulate(
        Scenario(
            calls_per_hour=190.0,
            agents=10,
            patience=Exponential(60.0),
            threshold_seconds=20.0,
            duration_seconds=300 * 3600.0,
        ),
        seed=3,
    )
    assert patient.abandoned == 0
    assert impatient.offered == patient.offered  # same seed, same callers
    assert impatient.offered == impatient.answered + impatient.abandoned
    assert impatient.abandon_rate is not None
    assert 0.02 < impatient.abandon_rate < 0.3
    assert 0 < impatient.abandoned_within_threshold < impatient.abandoned
    assert impatient.asa is not None and patient.asa is not None
    assert impatient.asa < patient.asa / 2
    assert impatient.service_level is not None and patient.service_level is not None
    assert impatient.service_level > patient.service_level
    assert impatient.occupancy is not None and patient.occupancy is not None
    assert impatient.occupancy < patient.occupancy


def collect(scenario: Scenario, *, seed: int, **kwargs: object) -> tuple[list[TraceEvent], SimulationResult]:
    events: list[TraceEvent] = []
    result = simulate(scenario, seed=seed, on_event=events.append, **kwargs)  # type: ignore[arg-type]
    return events, result


def stories(events: Sequence[TraceEvent]) -> dict[int, list[TraceEvent]]:
    by_call: dict[int, list[TraceEvent]] = defaultdict(list)
    for event in events:
        if event.call_id is not None:
            by_call[event.call_id].append(event)
    return by_call


def test_fixed_maximum_wait() -> None:
    scenario = Scenario(
        calls_per_hour=200.0, agents=9, patience=Constant(30.0), threshold_seconds=20.0, max_calls=5000
    )
    events, result = collect(scenario, seed=5)
    waits_answered, waits_abandoned = [], []
    for story in stories(events).values():
        arrived, last = story[0], story[-1]
        if last.kind is EventKind.ABANDON:
            waits_abandoned.append(last.time - arrived.time)
        else:
            waits_answered.append(story[-2].time - arrived.time)
    assert len(waits_abandoned) == result.abandoned > 0
    assert waits_abandoned == pytest.approx([30.0] * len(waits_abandoned))
    assert max(waits_answered) <= 30.0
    assert result.abandoned_within_threshold == 0  # all abandons come after 30 s > T


def test_trace_tells_consistent_stories() -> None:
    scenario = Scenario(
        calls_per_hour=[150.0, 260.0, 90.0],
        agents=[8, 12, 4],
        handling=LogNormal(170.0, 120.0),
        patience=Exponential(90.0),
        wrap_up_seconds=15.0,
        interval_seconds=1800.0,
        duration_seconds=6 * 3600.0,
    )
    events, result = collect(scenario, seed=11)
    assert [e.time for e in events] == sorted(e.time for e in events)
    answered = abandoned = 0
    for story in stories(events).values():
        kinds = [e.kind for e in story]
        assert kinds in (
            [EventKind.ARRIVE, EventKind.ANSWER, EventKind.HANGUP],
            [EventKind.ARRIVE, EventKind.QUEUE, EventKind.ANSWER, EventKind.HANGUP],
            [EventKind.ARRIVE, EventKind.QUEUE, EventKind.ABANDON],
        )
        if kinds[-1] is EventKind.HANGUP:
            answered += 1
            assert story[-1].agent == story[-2].agent is not None
        else:
            abandoned += 1
    # Warm-up 0: every call is measured, and every arrival has ended.
    assert (answered, abandoned) == (result.answered, result.abandoned)
    assert answered + abandoned == result.offered == sum(e.kind is EventKind.ARRIVE for e in events)

    # Agents: login, then (answer, hangup, ready after the wrap-up)*, maybe logout; one call at a time.
    state: dict[int, tuple[str, float]] = {}
    for e in events:
        if e.agent is None:
            continue
        before = state.get(e.agent, ("out", 0.0))
        match e.kind:
            case EventKind.LOGIN:
                assert before[0] == "out"
                state[e.agent] = ("ready", e.time)
            case EventKind.ANSWER:
                assert before[0] == "ready"
                state[e.agent] = ("talking", e.time)
            case EventKind.HANGUP:
                assert before[0] == "talking"
                state[e.agent] = ("wrap-up", e.time)
            case EventKind.READY:
                assert before[0] == "wrap-up"
                assert e.time == pytest.approx(before[1] + 15.0)
                state[e.agent] = ("ready", e.time)
            case EventKind.LOGOUT:
                assert before[0] in ("ready", "wrap-up")
                state[e.agent] = ("out", e.time)
            case _:
                pytest.fail(f"unexpected agent event {e}")
    assert {s for s, _ in state.values()} <= {"ready", "out"}  # nobody is left mid-call


def test_per_interval_numbers_add_up_to_the_totals() -> None:
    rates = [120.0, 360.0, 240.0, 60.0]
    scenario = Scenario(
        calls_per_hour=rates,
        agents=[6, 15, 10, 3],
        patience=Exponential(120.0),
        interval_seconds=1800.0,
        warm_up_seconds=3600.0,
        duration_seconds=200 * 4 * 1800.0,
    )
    result = simulate(scenario, seed=2)
    intervals = result.intervals
    assert len(intervals) == 800
    assert intervals[0].start == 3600.0
    assert [i.scheduled_agents for i in intervals[:4]] == [10, 3, 6, 15]
    for name in (
        "offered",
        "answered",
        "abandoned",
        "answered_within_threshold",
        "abandoned_within_threshold",
    ):
        assert sum(getattr(i, name) for i in intervals) == getattr(result, name)
    assert result.asa == pytest.approx(
        sum(i.wait_answered_seconds for i in intervals) / sum(i.answered for i in intervals)
    )
    for i in intervals:
        assert i.offered == i.answered + i.abandoned
        if i.offered:
            assert i.service_level == i.answered_within_threshold / (i.offered - i.abandoned_within_threshold)
    # The arrival profile is followed: about rate / 2 calls per half hour in each slot.
    for slot, rate in enumerate(rates):
        offered = sum(i.offered for i in intervals if round(i.start / 1800.0) % 4 == slot)
        assert offered == pytest.approx(200 * rate / 2, rel=0.05)


def test_no_calls_are_answered_while_nobody_is_scheduled() -> None:
    scenario = Scenario(
        calls_per_hour=60.0, agents=[3, 0], interval_seconds=600.0, duration_seconds=20 * 3600.0
    )
    events, result = collect(scenario, seed=4)
    answers = [e for e in events if e.kind is EventKind.ANSWER]
    assert len(answers) == result.answered == result.offered > 500
    assert all(math.floor(e.time / 600.0) % 2 == 0 for e in answers)
    logged_in = peak = 0
    for e in events:
        logged_in += {EventKind.LOGIN: 1, EventKind.LOGOUT: -1}.get(e.kind, 0)
        peak = max(peak, logged_in)
    assert peak == 3
    # Calls of the empty intervals wait for the next shift.
    assert result.service_level is not None and result.service_level < 0.7


def idle_order_check(events: Sequence[TraceEvent], *, pick_longest: bool) -> int:
    """Replays the trace and checks which idle agent took each call answered on arrival."""
    idle: dict[int, int] = {}  # agent -> order in which it became idle
    counter = 0
    checked = 0
    previous: TraceEvent | None = None
    for e in events:
        if e.kind in (EventKind.LOGIN, EventKind.READY):
            assert e.agent is not None
            idle[e.agent] = counter
            counter += 1
        elif e.kind is EventKind.LOGOUT:
            idle.pop(e.agent, None)  # type: ignore[arg-type]
        elif e.kind is EventKind.ANSWER:
            assert e.agent in idle
            if previous is not None and previous.kind is EventKind.ARRIVE and previous.call_id == e.call_id:
                chosen = (min if pick_longest else max)(idle, key=idle.__getitem__)
                assert e.agent == chosen
                checked += 1
            else:  # from the queue: the agent just freed, and nobody else was idle
                assert list(idle) == [e.agent]
            del idle[e.agent]
        previous = e
    return checked


def test_default_routing_takes_the_longest_idle_agent() -> None:
    scenario = Scenario(calls_per_hour=150.0, agents=12, wrap_up_seconds=5.0, max_calls=3000)
    events, _ = collect(scenario, seed=8)
    assert idle_order_check(events, pick_longest=True) > 1000


def test_agent_selection_is_pluggable() -> None:
    seen: list[tuple[float, int, tuple[IdleAgent, ...]]] = []

    def most_recently_idle(*, now: float, call_id: int, idle: Sequence[IdleAgent]) -> int:
        seen.append((now, call_id, tuple(idle)))
        return idle[-1].agent

    scenario = Scenario(calls_per_hour=150.0, agents=12, max_calls=3000)
    events, result = collect(scenario, seed=8, select_agent=most_recently_idle)
    assert idle_order_check(events, pick_longest=False) == len(seen) > 1000
    for now, _, idle in seen:
        assert [a.idle_since for a in idle] == sorted(a.idle_since for a in idle)
        assert all(a.idle_since <= now for a in idle)
    assert result.offered == 3000

    def anyone(*, now: float, call_id: int, idle: Sequence[IdleAgent]) -> int:
        return 999

    with pytest.raises(ValueError, match="not idle"):
        simulate(scenario, seed=8, select_agent=anyone)


def test_same_seed_same_run() -> None:
    scenario = Scenario(
        calls_per_hour=[200.0, 320.0],
        agents=[11, 16],
        handling=LogNormal(160.0, 90.0),
        patience=Exponential(80.0),
        wrap_up_seconds=10.0,
        warm_up_seconds=1800.0,
        max_calls=20_000,
    )
    first = simulate(scenario, seed=42)
    assert simulate(scenario, seed=42) == first
    events, traced = collect(scenario, seed=42)
    assert traced == first  # tracing draws nothing and changes nothing
    streamed = trace_events(scenario, seed=42)
    replayed: list[TraceEvent] = []
    while True:
        try:
            replayed.append(next(streamed))
        except StopIteration as done:
            assert done.value == first
            break
    assert replayed == events
    assert simulate(scenario, seed=43) != first
    assert first.offered == 20_000
    assert all(e.time >= 0 for e in events)
    assert sum(e.kind is EventKind.ARRIVE and e.time >= 1800.0 for e in events) == 20_000


def test_wrap_up_counts_as_busy_time() -> None:
    """Talk 150 s + wrap-up 30 s at 160 calls/h on 10 agents: occupancy 160 × 180 / 3600 / 10 = 0.8."""
    scenario = Scenario(
        calls_per_hour=160.0,
        agents=10,
        handling=Exponential(150.0),
        wrap_up_seconds=30.0,
        warm_up_seconds=7200.0,
        max_calls=200_000,
    )
    result = simulate(scenario, seed=6)
    assert result.occupancy == pytest.approx(0.8, abs=0.01)
    assert result.average_handle_time == pytest.approx(150.0, rel=0.02)


def test_distributions_have_the_requested_moments() -> None:
    draw = LogNormal(300.0, 200.0).sampler(random.Random(1))
    sample = [draw() for _ in range(200_000)]
    assert statistics.fmean(sample) == pytest.approx(300.0, rel=0.02)
    assert statistics.stdev(sample) == pytest.approx(200.0, rel=0.05)
    assert min(sample) > 0
    draw = Exponential(60.0).sampler(random.Random(1))
    sample = [draw() for _ in range(200_000)]
    assert statistics.fmean(sample) == pytest.approx(60.0, rel=0.02)
    assert statistics.stdev(sample) == pytest.approx(60.0, rel=0.02)
    assert Constant(12.5).sampler(random.Random(1))() == 12.5


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_calls": None, "duration_seconds": None}, "duration_seconds or max_calls"),
        ({"calls_per_hour": -1.0}, "calls_per_hour"),
        ({"calls_per_hour": [0.0, 0.0]}, "calls_per_hour"),
        ({"agents": [0, 0]}, "agents"),
        ({"agents": -3}, "agents"),
        ({"wrap_up_seconds": -1.0}, "wrap_up_seconds"),
        ({"threshold_seconds": math.nan}, "threshold_seconds"),
        ({"interval_seconds": 0.0}, "interval_seconds"),
        ({"duration_seconds": -5.0}, "duration_seconds"),
        ({"max_calls": 0}, "max_calls"),
    ],
)
def test_scenario_validation(changes: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"calls_per_hour": 100.0, "agents": 5, "max_calls": 10}
    scenario = Scenario(**{**base, **changes})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        simulate(scenario, seed=1)


def test_distribution_validation() -> None:
    with pytest.raises(ValueError, match="mean"):
        Exponential(0.0)
    with pytest.raises(ValueError, match="standard deviation"):
        LogNormal(100.0, 0.0)
    with pytest.raises(ValueError, match="constant"):
        Constant(-1.0)
