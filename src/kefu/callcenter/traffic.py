"""The traffic `kefu simulate` sends (pure logic: no I/O, no database, no wall clock).

`plan` draws the calls of a run from a seed: Poisson arrivals at a rate per hour over a duration,
each with a handling time, a patience (None: waits for ever), a caller number, what the caller
entered in the IVR and how long that took, and how long the call rings at a simulated agent before
it answers. Every quantity comes from its own `random.Random` stream derived from the seed, as in
`simulation`: a seed always plans the same calls, and changing the rate keeps the callers' numbers.

`summarize` turns the calls as kefu recorded them (outcome, wait, talk) into the run's figures, and
`erlang_prediction` gives Erlang C's figures for the same rate, handling time and agents.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kefu.callcenter import erlang
from kefu.callcenter.simulation import Distribution, Exponential

__all__ = [
    "MOBILE_PREFIXES",
    "ErlangPrediction",
    "PlannedCall",
    "Summary",
    "arrival_times",
    "erlang_prediction",
    "mobile_number",
    "plan",
    "summarize",
]

MOBILE_PREFIXES = ("134", "135", "136", "138", "139", "150", "152", "158", "159", "177", "180", "186", "189")
IVR_CHOICES = (
    {"menu": "1", "intent": "broadband"},
    {"menu": "2", "intent": "billing"},
    {"menu": "3", "intent": "cable_tv"},
    {"menu": "0", "intent": "agent"},
)


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One caller of the run; times are simulated seconds from the start of the run."""

    index: int
    arrival: float  # the call reaches the PBX (new_call)
    ivr_seconds: float  # time in the IVR before the caller is queued
    handling: float  # talk time once answered
    patience: float | None  # how long the caller waits in the queue before hanging up; None: for ever
    ring_seconds: float  # how long a simulated agent lets it ring before answering
    from_number: str
    ivr: Mapping[str, Any] = field(default_factory=dict)

    @property
    def queued(self) -> float:
        return self.arrival + self.ivr_seconds


def mobile_number(rng: random.Random) -> str:
    """A plausible mainland China mobile number (11 digits)."""
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"


def arrival_times(*, rate_per_hour: float, duration_seconds: float, rng: random.Random) -> list[float]:
    """Poisson arrivals: exponential gaps of mean 3600 / rate, within [0, duration_seconds)."""
    if not (math.isfinite(rate_per_hour) and rate_per_hour > 0):
        raise ValueError(f"the rate must be > 0 calls per hour, got {rate_per_hour!r}")
    if not (math.isfinite(duration_seconds) and duration_seconds > 0):
        raise ValueError(f"the duration must be > 0 seconds, got {duration_seconds!r}")
    rate = rate_per_hour / 3600.0
    times: list[float] = []
    t = rng.expovariate(rate)
    while t < duration_seconds:
        times.append(t)
        t += rng.expovariate(rate)
    return times


def plan(
    *,
    rate_per_hour: float,
    duration_seconds: float,
    handling: Distribution,
    patience: Distribution | None,
    seed: int,
    known_numbers: Sequence[str] = (),
    known_share: float = 0.3,
    ivr_seconds: tuple[float, float] = (3.0, 12.0),
    ring_seconds: tuple[float, float] = (2.0, 6.0),
) -> list[PlannedCall]:
    """The calls of a run. A share `known_share` of the callers call from one of `known_numbers`
    (customers kefu knows, so the screen pop finds them); the others from random mobiles."""
    if not 0 <= known_share <= 1:
        raise ValueError(f"known_share must be within [0, 1], got {known_share!r}")
    times = arrival_times(
        rate_per_hour=rate_per_hour,
        duration_seconds=duration_seconds,
        rng=random.Random(f"{seed}:arrivals"),
    )
    draw_handling = handling.sampler(random.Random(f"{seed}:handling"))
    draw_patience = patience.sampler(random.Random(f"{seed}:patience")) if patience else None
    callers = random.Random(f"{seed}:callers")
    timing = random.Random(f"{seed}:timing")
    calls = []
    for index, arrival in enumerate(times):
        if known_numbers and callers.random() < known_share:
            number = callers.choice(known_numbers)
        else:
            number = mobile_number(callers)
        ivr = dict(callers.choice(IVR_CHOICES))
        calls.append(
            PlannedCall(
                index=index,
                arrival=arrival,
                ivr_seconds=timing.uniform(*ivr_seconds),
                handling=max(1.0, draw_handling()),
                patience=draw_patience() if draw_patience else None,
                ring_seconds=timing.uniform(*ring_seconds),
                from_number=number,
                ivr=ivr,
            )
        )
    return calls


def parse_duration(text: str) -> float:
    """Seconds from `90`, `90s`, `10m`, `1.5h`."""
    value = text.strip().lower()
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    factor = 1.0
    if value and value[-1] in units:
        factor, value = units[value[-1]], value[:-1]
    try:
        seconds = float(value) * factor
    except ValueError:
        raise ValueError(f"not a duration: {text!r} (e.g. 90s, 10m, 1h)") from None
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"the duration must be > 0, got {text!r}")
    return seconds


# --- the figures -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    """A run's figures from the calls kefu recorded. Ratios and means are None without calls."""

    offered: int
    answered: int
    abandoned: int
    other: int  # ended otherwise (missed, time-out) or still open
    answered_within_threshold: int
    threshold_seconds: int
    service_level: float | None  # answered within the threshold / offered
    average_wait: float | None  # over all offered calls (an abandoned one: until it hung up)
    average_answer_wait: float | None  # ASA
    average_talk: float | None


def _mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return math.fsum(items) / len(items) if items else None


def summarize(calls: Iterable[Mapping[str, Any]], *, threshold_seconds: int) -> Summary:
    """Figures of `calls` (each as kefu's API returns a call: `outcome`, `wait_seconds`,
    `talk_seconds`)."""
    rows = list(calls)
    answered = [c for c in rows if c.get("outcome") == "answered"]
    abandoned = [c for c in rows if c.get("outcome") == "abandoned"]
    within = [c for c in answered if (c.get("wait_seconds") or 0) <= threshold_seconds]
    waits = [float(c["wait_seconds"]) for c in rows if c.get("wait_seconds") is not None]
    return Summary(
        offered=len(rows),
        answered=len(answered),
        abandoned=len(abandoned),
        other=len(rows) - len(answered) - len(abandoned),
        answered_within_threshold=len(within),
        threshold_seconds=threshold_seconds,
        service_level=len(within) / len(rows) if rows else None,
        average_wait=_mean(waits),
        average_answer_wait=_mean(float(c.get("wait_seconds") or 0) for c in answered),
        average_talk=_mean(float(c.get("talk_seconds") or 0) for c in answered),
    )


@dataclass(frozen=True, slots=True)
class ErlangPrediction:
    agents: int
    traffic: float  # Erlangs
    probability_of_wait: float
    service_level: float
    asa: float  # seconds; inf when the agents cannot keep up
    agents_needed: int | None  # for the queue's service-level target; None without a target


def erlang_prediction(
    *,
    rate_per_hour: float,
    aht_seconds: float,
    agents: int,
    threshold_seconds: float,
    target: float | None = None,
) -> ErlangPrediction:
    """Erlang C (M/M/c, infinite patience) for `rate_per_hour` calls of `aht_seconds` (talk plus
    wrap-up) served by `agents`."""
    traffic = erlang.offered_traffic(calls=rate_per_hour, aht_seconds=aht_seconds)
    needed = None
    if target is not None and 0 < target < 1:
        needed = erlang.agents_needed(
            calls=rate_per_hour,
            aht_seconds=aht_seconds,
            target_service_level=target,
            target_seconds=threshold_seconds,
        ).agents
    return ErlangPrediction(
        agents=agents,
        traffic=traffic,
        probability_of_wait=erlang.erlang_c(traffic, agents),
        service_level=erlang.service_level(
            calls=rate_per_hour, aht_seconds=aht_seconds, agents=agents, target_seconds=threshold_seconds
        ),
        asa=erlang.average_speed_of_answer(calls=rate_per_hour, aht_seconds=aht_seconds, agents=agents),
        agents_needed=needed,
    )


DEFAULT_HANDLING = Exponential(180.0)
