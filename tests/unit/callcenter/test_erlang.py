"""Erlang B / C and staffing: against direct summation, published values and the targets' laws."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.callcenter.erlang import (
    Staffing,
    agents_needed,
    average_speed_of_answer,
    erlang_b,
    erlang_c,
    occupancy,
    offered_traffic,
    service_level,
    staffing_plan,
)


def _log_terms(a: float, c: int) -> list[float]:
    """log(a^k / k!) for k = 0..c."""
    return [k * math.log(a) - math.lgamma(k + 1) for k in range(c + 1)]


def direct_erlang_b(a: float, c: int) -> float:
    """(a^c / c!) / sum_{k<=c} a^k / k!, summed in scaled logs so that large sizes do not overflow."""
    logs = _log_terms(a, c)
    m = max(logs)
    return math.exp(logs[c] - m) / math.fsum(math.exp(x - m) for x in logs)


def direct_erlang_c(a: float, c: int) -> float:
    """The textbook closed form: (a^c/c! · c/(c-a)) / (sum_{k<c} a^k/k! + a^c/c! · c/(c-a))."""
    logs = _log_terms(a, c)
    top = logs[c] + math.log(c / (c - a))
    m = max(*logs[:c], top)
    num = math.exp(top - m)
    return num / (math.fsum(math.exp(x - m) for x in logs[:c]) + num)


CASES = [(0.5, 1), (2.0, 3), (8.0, 10), (10.0, 11), (10.0, 14), (47.3, 55), (500.0, 520), (1900.0, 1950)]


@pytest.mark.parametrize(("a", "c"), CASES)
def test_recursion_matches_direct_summation(a: float, c: int) -> None:
    assert erlang_b(a, c) == pytest.approx(direct_erlang_b(a, c), rel=1e-9)
    assert erlang_c(a, c) == pytest.approx(direct_erlang_c(a, c), rel=1e-9)


@settings(derandomize=True, max_examples=200)
@given(a=st.floats(min_value=0.01, max_value=300.0), extra=st.integers(min_value=1, max_value=40))
def test_recursion_matches_direct_summation_everywhere(a: float, extra: int) -> None:
    c = math.floor(a) + extra
    assert erlang_c(a, c) == pytest.approx(direct_erlang_c(a, c), rel=1e-9)
    assert 0 < erlang_b(a, c) < erlang_c(a, c) < 1


def test_published_example_ten_erlangs() -> None:
    """The widely used worked example: 100 calls per half hour, AHT 180 s, target 80 % in 20 s,
    i.e. A = 10 Erlangs. Published: P(wait) 68.21 % / 44.94 % / 28.53 % / 17.41 % and service level
    39.0 % / 64.0 % / 79.6 % / 88.8 % for 11 / 12 / 13 / 14 agents; 14 agents needed, ASA ≈ 7.8 s."""
    a = offered_traffic(calls=100, interval_seconds=1800, aht_seconds=180)
    assert a == 10.0
    published = {11: (0.6821, 0.390), 12: (0.4494, 0.640), 13: (0.2853, 0.796), 14: (0.1741, 0.888)}
    for c, (p_wait, sl) in published.items():
        assert erlang_c(a, c) == pytest.approx(p_wait, abs=5e-5)
        got = service_level(calls=100, interval_seconds=1800, aht_seconds=180, agents=c, target_seconds=20)
        assert got == pytest.approx(sl, abs=5e-4)
    staffing = agents_needed(
        calls=100, interval_seconds=1800, aht_seconds=180, target_service_level=0.8, target_seconds=20
    )
    assert staffing.agents == 14
    assert staffing.asa == pytest.approx(7.8, abs=0.05)
    assert staffing.occupancy == pytest.approx(10 / 14)


def test_formulas_fit_together() -> None:
    a, c, aht, t = 8.0, 10, 180.0, 20.0
    p_wait = direct_erlang_c(a, c)
    calls = a * 3600 / aht  # per hour, the default interval
    assert service_level(calls=calls, aht_seconds=aht, agents=c, target_seconds=t) == pytest.approx(
        1 - p_wait * math.exp(-(c - a) * t / aht)
    )
    assert average_speed_of_answer(calls=calls, aht_seconds=aht, agents=c) == pytest.approx(
        p_wait * aht / (c - a)
    )
    assert occupancy(calls=calls, aht_seconds=aht, agents=c) == pytest.approx(0.8)
    # With T = 0 the service level is the share answered without waiting.
    assert service_level(calls=calls, aht_seconds=aht, agents=c, target_seconds=0) == pytest.approx(
        1 - p_wait
    )


def test_edges_of_the_model() -> None:
    assert erlang_b(5.0, 0) == 1.0
    assert erlang_b(0.0, 3) == 0.0
    assert erlang_c(0.0, 3) == 0.0
    assert erlang_c(10.0, 10) == 1.0  # no stable queue: everybody waits
    assert erlang_c(10.0, 9) == 1.0
    assert service_level(calls=200, aht_seconds=180, agents=10, target_seconds=20) == 0.0
    assert average_speed_of_answer(calls=200, aht_seconds=180, agents=10) == math.inf
    assert occupancy(calls=200, aht_seconds=180, agents=8) == 1.0
    assert service_level(calls=0, aht_seconds=180, agents=0, target_seconds=20) == 1.0
    assert average_speed_of_answer(calls=0, aht_seconds=180, agents=2) == 0.0


def test_large_centers_stay_finite() -> None:
    for a, c in [(1990.0, 2000), (1999.9, 2000), (2500.0, 2600)]:
        p = erlang_c(a, c)
        assert 0 < p <= 1
        assert math.isfinite(p)
    staffing = agents_needed(calls=38_000, aht_seconds=180, target_service_level=0.8, target_seconds=20)
    assert staffing.traffic == pytest.approx(1900.0)
    assert 1900 < staffing.agents < 1950
    assert staffing.service_level >= 0.8


@settings(derandomize=True, max_examples=150)
@given(
    calls=st.floats(min_value=1, max_value=3000),
    aht=st.floats(min_value=20, max_value=900),
    target_sl=st.floats(min_value=0.5, max_value=0.99),
    target_seconds=st.sampled_from([0.0, 10.0, 20.0, 60.0]),
)
def test_agents_needed_is_the_minimum(
    calls: float, aht: float, target_sl: float, target_seconds: float
) -> None:
    staffing = agents_needed(
        calls=calls, aht_seconds=aht, target_service_level=target_sl, target_seconds=target_seconds
    )
    c = staffing.agents
    kwargs = {"calls": calls, "aht_seconds": aht, "target_seconds": target_seconds}
    assert staffing.service_level == pytest.approx(service_level(agents=c, **kwargs))
    assert staffing.service_level >= target_sl * (1 - 1e-12)
    assert service_level(agents=c - 1, **kwargs) < target_sl
    assert staffing.scheduled == c


def test_occupancy_cap_adds_agents() -> None:
    # 3600 calls/h of 60 s is 60 Erlangs; 80/20 alone needs fewer agents than a 90 % occupancy cap.
    base = agents_needed(calls=3600, aht_seconds=60, target_service_level=0.8, target_seconds=20)
    assert base.occupancy > 0.9
    capped = agents_needed(
        calls=3600, aht_seconds=60, target_service_level=0.8, target_seconds=20, max_occupancy=0.9
    )
    assert capped.agents == math.ceil(60 / 0.9) == 67
    assert capped.occupancy <= 0.9
    assert 60 / (capped.agents - 1) > 0.9
    # A cap met exactly counts as met (8 / 10 == 0.8 up to rounding).
    exact = agents_needed(
        calls=160, aht_seconds=180, target_service_level=0.5, target_seconds=20, max_occupancy=0.8
    )
    assert exact.agents == 10
    # A loose cap changes nothing.
    loose = agents_needed(
        calls=3600, aht_seconds=60, target_service_level=0.8, target_seconds=20, max_occupancy=0.99
    )
    assert loose == base


def test_shrinkage_rounds_the_schedule_up() -> None:
    kwargs = {"calls": 100.0, "interval_seconds": 1800.0, "aht_seconds": 180.0, "target_seconds": 20.0}
    staffing = agents_needed(target_service_level=0.8, shrinkage=0.3, **kwargs)
    assert staffing.agents == 14
    assert staffing.scheduled == 20  # 14 / 0.7
    assert agents_needed(target_service_level=0.8, shrinkage=0.25, **kwargs).scheduled == 19  # 18.67
    busier = agents_needed(target_service_level=0.8, shrinkage=0.3, **{**kwargs, "calls": 170.0})
    assert 21 / (1 - 0.3) > 30  # 30.000000000000004 in floats ...
    assert (busier.agents, busier.scheduled) == (21, 30)  # ... but 30 agents are enough


def test_staffing_plan_per_interval() -> None:
    forecast = [("08:00", 40.0), ("08:30", 100.0), ("09:00", 0.0), ("09:30", 250.0)]
    plan = staffing_plan(
        forecast, interval_seconds=1800, aht_seconds=180, target_service_level=0.8, target_seconds=20
    )
    assert [row.label for row in plan] == ["08:00", "08:30", "09:00", "09:30"]
    assert [row.calls for row in plan] == [40.0, 100.0, 0.0, 250.0]
    assert plan[1].staffing.agents == 14
    assert plan[2].staffing == Staffing(
        agents=0, scheduled=0, service_level=1.0, asa=0.0, occupancy=0.0, traffic=0.0
    )
    for row in plan:
        if row.calls:
            alone = agents_needed(
                calls=row.calls,
                interval_seconds=1800,
                aht_seconds=180,
                target_service_level=0.8,
                target_seconds=20,
            )
            assert row.staffing == alone
    assert plan[0].staffing.agents < plan[1].staffing.agents < plan[3].staffing.agents


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calls": -1.0}, "calls"),
        ({"calls": math.nan}, "calls"),
        ({"aht_seconds": 0.0}, "aht_seconds"),
        ({"aht_seconds": -5.0}, "aht_seconds"),
        ({"interval_seconds": 0.0}, "interval_seconds"),
        ({"target_service_level": 0.0}, "target_service_level"),
        ({"target_service_level": 1.0}, "target_service_level"),
        ({"target_service_level": 80.0}, "target_service_level"),
        ({"target_seconds": -1.0}, "target_seconds"),
        ({"max_occupancy": 0.0}, "max_occupancy"),
        ({"max_occupancy": 1.5}, "max_occupancy"),
        ({"shrinkage": 1.0}, "shrinkage"),
        ({"shrinkage": -0.1}, "shrinkage"),
    ],
)
def test_agents_needed_rejects_bad_input(kwargs: dict[str, float], message: str) -> None:
    args: dict[str, float] = {
        "calls": 100.0,
        "aht_seconds": 180.0,
        "target_service_level": 0.8,
        "target_seconds": 20.0,
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        agents_needed(**args)  # type: ignore[arg-type]


def test_formulas_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="traffic"):
        erlang_b(-1.0, 3)
    with pytest.raises(ValueError, match="traffic"):
        erlang_c(math.inf, 3)
    with pytest.raises(ValueError, match="agents"):
        erlang_c(1.0, -1)
    with pytest.raises(ValueError, match="agents"):
        erlang_b(1.0, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="agents"):
        service_level(calls=10, aht_seconds=60, agents=-2, target_seconds=20)
    with pytest.raises(ValueError, match="target_seconds"):
        service_level(calls=10, aht_seconds=60, agents=2, target_seconds=-1)
    with pytest.raises(ValueError, match="aht_seconds"):
        average_speed_of_answer(calls=10, aht_seconds=0, agents=2)
    with pytest.raises(ValueError, match="calls"):
        occupancy(calls=-3, aht_seconds=60, agents=2)
