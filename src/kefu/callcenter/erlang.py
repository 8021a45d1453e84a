"""Erlang B and Erlang C: how many agents an interval needs (pure logic: no I/O, no database).

The model is M/M/c with infinite patience: calls arrive as a Poisson process, handling times
(talk plus wrap-up) are exponential with mean `aht_seconds`, `agents` serve one queue in arrival
order and nobody hangs up while waiting. Offered traffic in Erlangs is
`A = calls * aht_seconds / interval_seconds`.

* `erlang_b(A, c)` — blocking probability of c servers without a queue, by the recursion
  `B(0) = 1`, `B(k) = A·B(k-1) / (k + A·B(k-1))`; every step stays in [0, 1], so it is exact to
  rounding for thousands of agents where factorials and powers would overflow.
* `erlang_c(A, c)` — probability that a call waits, `C = c·B / (c - A·(1 - B))`; 1 when c <= A.
* `service_level` — share of calls answered within `target_seconds`:
  `1 - C · exp(-(c - A) · t / aht)`.
* `average_speed_of_answer` — mean wait over all calls: `C · aht / (c - A)`.
* `occupancy` — share of staffed time spent handling calls: `A / c` (capped at 1).
* `agents_needed` / `staffing_plan` — the smallest c meeting a service-level target (and an
  optional occupancy cap) per interval, and the head count to schedule after shrinkage.

With c <= A the queue grows without bound: C = 1, the service level is 0 and the ASA is infinite.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = [
    "IntervalStaffing",
    "Staffing",
    "agents_needed",
    "average_speed_of_answer",
    "erlang_b",
    "erlang_c",
    "occupancy",
    "offered_traffic",
    "service_level",
    "staffing_plan",
]

L = TypeVar("L")

# Targets are compared with this relative slack so that a value equal to the target up to float
# rounding (e.g. 8 / 10 against an occupancy cap of 0.8) counts as meeting it.
_EPS = 1e-12


def _check_traffic(traffic: float) -> None:
    if not math.isfinite(traffic) or traffic < 0:
        raise ValueError(f"traffic must be a finite number of Erlangs >= 0, got {traffic!r}")


def _check_agents(agents: int, *, minimum: int = 0) -> None:
    if isinstance(agents, bool) or not isinstance(agents, int):
        raise ValueError(f"agents must be an integer, got {agents!r}")
    if agents < minimum:
        raise ValueError(f"agents must be >= {minimum}, got {agents}")


def erlang_b(traffic: float, agents: int) -> float:
    """Probability that a call finds all `agents` busy in a loss system offered `traffic` Erlangs."""
    _check_traffic(traffic)
    _check_agents(agents)
    b = 1.0
    for k in range(1, agents + 1):
        ab = traffic * b
        b = ab / (k + ab)
    return b


def _erlang_c_from_b(traffic: float, agents: int, b: float) -> float:
    if agents <= traffic:
        return 1.0
    return agents * b / (agents - traffic * (1.0 - b))


def erlang_c(traffic: float, agents: int) -> float:
    """Probability that a call has to wait (M/M/c); 1.0 when `agents <= traffic`."""
    return _erlang_c_from_b(traffic, agents, erlang_b(traffic, agents))


def offered_traffic(*, calls: float, interval_seconds: float = 3600.0, aht_seconds: float) -> float:
    """Offered traffic in Erlangs: `calls` arriving per `interval_seconds`, each held `aht_seconds`."""
    if not math.isfinite(calls) or calls < 0:
        raise ValueError(f"calls must be a finite number >= 0, got {calls!r}")
    if not math.isfinite(interval_seconds) or interval_seconds <= 0:
        raise ValueError(f"interval_seconds must be > 0, got {interval_seconds!r}")
    if not math.isfinite(aht_seconds) or aht_seconds <= 0:
        raise ValueError(f"aht_seconds (average handling time) must be > 0, got {aht_seconds!r}")
    return calls * aht_seconds / interval_seconds


def _check_target_seconds(target_seconds: float) -> None:
    if not math.isfinite(target_seconds) or target_seconds < 0:
        raise ValueError(f"target_seconds must be a finite number >= 0, got {target_seconds!r}")


def _service_level(traffic: float, agents: int, c_wait: float, aht: float, target: float) -> float:
    if agents <= traffic:
        return 0.0
    return 1.0 - c_wait * math.exp(-(agents - traffic) * target / aht)


def _asa(traffic: float, agents: int, c_wait: float, aht: float) -> float:
    if agents <= traffic:
        return math.inf
    return c_wait * aht / (agents - traffic)


def _occupancy(traffic: float, agents: int) -> float:
    if agents == 0:
        return 0.0 if traffic == 0 else 1.0
    return min(1.0, traffic / agents)


def service_level(
    *,
    calls: float,
    interval_seconds: float = 3600.0,
    aht_seconds: float,
    agents: int,
    target_seconds: float,
) -> float:
    """Share of calls answered within `target_seconds` (0 when the queue is unstable).

    `calls` arrive per `interval_seconds` (calls per hour by default).
    """
    a = offered_traffic(calls=calls, interval_seconds=interval_seconds, aht_seconds=aht_seconds)
    _check_agents(agents)
    _check_target_seconds(target_seconds)
    if a == 0:
        return 1.0
    return _service_level(a, agents, erlang_c(a, agents), aht_seconds, target_seconds)


def average_speed_of_answer(
    *, calls: float, interval_seconds: float = 3600.0, aht_seconds: float, agents: int
) -> float:
    """Mean wait in seconds over all calls, those answered at once included (inf when unstable)."""
    a = offered_traffic(calls=calls, interval_seconds=interval_seconds, aht_seconds=aht_seconds)
    _check_agents(agents)
    if a == 0:
        return 0.0
    return _asa(a, agents, erlang_c(a, agents), aht_seconds)


def occupancy(*, calls: float, interval_seconds: float = 3600.0, aht_seconds: float, agents: int) -> float:
    """Share of the agents' staffed time spent handling calls, `A / c`, at most 1."""
    a = offered_traffic(calls=calls, interval_seconds=interval_seconds, aht_seconds=aht_seconds)
    _check_agents(agents)
    return _occupancy(a, agents)


@dataclass(frozen=True, slots=True)
class Staffing:
    """The staffing of one interval.

    `agents` is the smallest number of agents on the phones that meets the targets; `scheduled`
    is the head count to roster so that `agents` remain after shrinkage (breaks, training, absence):
    `ceil(agents / (1 - shrinkage))`. The other fields describe the interval served by `agents`.
    """

    agents: int
    scheduled: int
    service_level: float
    asa: float
    occupancy: float
    traffic: float


def agents_needed(
    *,
    calls: float,
    interval_seconds: float = 3600.0,
    aht_seconds: float,
    target_service_level: float,
    target_seconds: float,
    max_occupancy: float | None = None,
    shrinkage: float = 0.0,
) -> Staffing:
    """The smallest number of agents whose service level reaches `target_service_level` (e.g. 0.8)
    within `target_seconds` (e.g. 20) and whose occupancy stays at or under `max_occupancy`.

    An interval without calls needs no agents (service level 1, ASA 0).
    """
    a = offered_traffic(calls=calls, interval_seconds=interval_seconds, aht_seconds=aht_seconds)
    if not (math.isfinite(target_service_level) and 0 < target_service_level < 1):
        raise ValueError(
            f"target_service_level must be a fraction strictly between 0 and 1, got {target_service_level!r}"
        )
    _check_target_seconds(target_seconds)
    if max_occupancy is not None and not (math.isfinite(max_occupancy) and 0 < max_occupancy <= 1):
        raise ValueError(f"max_occupancy must be in (0, 1], got {max_occupancy!r}")
    if not (math.isfinite(shrinkage) and 0 <= shrinkage < 1):
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage!r}")
    if a == 0:
        return Staffing(agents=0, scheduled=0, service_level=1.0, asa=0.0, occupancy=0.0, traffic=0.0)

    # Walk c upwards, carrying the Erlang B recursion along: O(c) in all, whatever the answer.
    b = 1.0
    c = 0
    while True:
        c += 1
        ab = a * b
        b = ab / (c + ab)
        if c <= a:
            continue
        if max_occupancy is not None and a / c > max_occupancy * (1 + _EPS):
            continue
        c_wait = _erlang_c_from_b(a, c, b)
        sl = _service_level(a, c, c_wait, aht_seconds, target_seconds)
        if sl >= target_service_level * (1 - _EPS):
            break
    # The small slack keeps e.g. 7 / (1 - 0.3) = 10.000000000000002 from rounding up to 11.
    scheduled = max(c, math.ceil(c / (1 - shrinkage) - 1e-9))
    return Staffing(
        agents=c,
        scheduled=scheduled,
        service_level=sl,
        asa=_asa(a, c, c_wait, aht_seconds),
        occupancy=_occupancy(a, c),
        traffic=a,
    )


@dataclass(frozen=True, slots=True)
class IntervalStaffing(Generic[L]):
    """One row of a staffing plan: the interval's label (e.g. its start), its forecast and staffing."""

    label: L
    calls: float
    staffing: Staffing


def staffing_plan(
    intervals: Iterable[tuple[L, float]],
    *,
    interval_seconds: float = 1800.0,
    aht_seconds: float,
    target_service_level: float,
    target_seconds: float,
    max_occupancy: float | None = None,
    shrinkage: float = 0.0,
) -> list[IntervalStaffing[L]]:
    """`agents_needed` for each `(label, forecast calls)` interval, in the given order.

    Every interval lasts `interval_seconds` (half an hour by default) and shares the same handling
    time and targets; each is solved on its own (steady state within the interval), which is the
    usual basis for a shift plan.
    """
    return [
        IntervalStaffing(
            label=label,
            calls=calls,
            staffing=agents_needed(
                calls=calls,
                interval_seconds=interval_seconds,
                aht_seconds=aht_seconds,
                target_service_level=target_service_level,
                target_seconds=target_seconds,
                max_occupancy=max_occupancy,
                shrinkage=shrinkage,
            ),
        )
        for label, calls in intervals
    ]
