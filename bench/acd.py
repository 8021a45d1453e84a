"""ACD routing decisions per second: `python -m bench.acd [--agents 1000] [--skills 20] [--decisions 200000]`.

Builds `--queues` queues (1–3 required skills each with minimum levels 1–4, the four strategies in
turn, a third overflowing to a later queue, half with a maximum wait of 1–5 minutes, VIP/gold tiers) and
`--agents` agents (4–8 of `--skills` skills at levels 1–10, member of 0–2 queues), all ready. Then
drives a call-center day as a seeded stochastic simulation in simulated seconds: calls arrive at
`--load` times what the agents can handle (3-minute calls), agents finish calls and are ready again,
some take breaks, waiting callers hang up, and `tick` runs once per simulated second. The stream
is the same for a seed, so repeats measure the same work.

A decision is one `offer` (route or queue an arriving call) or one `finish` / `agent_ready` (an
agent becoming ready takes the best waiting call or joins the ready indexes). Reported: decisions
per second over the time spent inside the router (every router call counted, ticks and abandons
included; the driver's own bookkeeping excluded), the same end to end, and per-call latency
percentiles — medians over `--repeat` runs. Compare runs on the same machine only.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from kefu.callcenter.acd import (
    Agent,
    AgentState,
    Assignment,
    Overflowed,
    QueueSpec,
    Router,
    Strategy,
    TimedOut,
)

T = TypeVar("T")
TIERS = {"vip": 10, "gold": 5}
CALL_SECONDS = 180.0
PATIENCE_SECONDS = 120.0  # mean time before a waiting caller hangs up
BREAK_RATE = 1 / 3600  # per ready agent: a break about once an hour
BREAK_SECONDS = 300.0
COUNTED = (
    "routed at once",
    "queued",
    "taken from queue",
    "overflowed",
    "overflow routed",
    "timed out",
    "abandoned",
)


def build(*, queues: int, agents: int, skills: int, seed: int) -> Router:
    rng = random.Random(seed)
    skill_names = [f"s{i:02d}" for i in range(skills)]
    strategies = list(Strategy)
    specs = []
    for i in range(queues):
        required = {s: rng.randint(1, 4) for s in rng.sample(skill_names, rng.randint(1, 3))}
        overflow_to = f"q{rng.randint(i + 1, queues - 1):02d}" if i < queues - 1 and i % 3 == 0 else None
        specs.append(
            QueueSpec(
                f"q{i:02d}",
                strategies[i % len(strategies)],
                required,
                overflow_after=rng.uniform(30, 90) if overflow_to else None,
                overflow_to=overflow_to,
                max_wait=rng.uniform(60, 300) if i % 2 else None,
                tier_priority=TIERS,
            )
        )
    router = Router(specs)
    names = [s.name for s in specs]
    for agent_id in range(1, agents + 1):
        agent_skills = {s: rng.randint(1, 10) for s in rng.sample(skill_names, rng.randint(4, 8))}
        member_of = frozenset(rng.sample(names, rng.randint(0, 2)))
        agent = Agent(agent_id, agent_skills, member_of, AgentState.READY, idle_since=-rng.uniform(0, 600))
        router.add_agent(agent, 0.0)
    return router


@dataclass
class Run:
    decisions: int = 0
    router_ns: int = 0
    decision_ns: int = 0
    wall_s: float = 0.0
    latency: dict[str, list[int]] = field(default_factory=lambda: {"offer": [], "ready": [], "tick": []})
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))


class _Pool(Generic[T]):
    """A set with O(1) random choice and removal (for the driver's bookkeeping)."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self.index: dict[T, int] = {}

    def add(self, item: T) -> None:
        self.index[item] = len(self.items)
        self.items.append(item)

    def discard(self, item: T) -> None:
        i = self.index.pop(item, None)
        if i is None:
            return
        last = self.items.pop()
        if i < len(self.items):
            self.items[i] = last
            self.index[last] = i

    def choice(self, rng: random.Random) -> T:
        return self.items[rng.randrange(len(self.items))]

    def __len__(self) -> int:
        return len(self.items)


def drive(router: Router, *, decisions: int, load: float, seed: int) -> Run:
    rng = random.Random(seed * 7919 + 1)
    run = Run()
    agents = [a.id for a in router.agents()]
    busy: _Pool[int] = _Pool()
    on_break: _Pool[int] = _Pool()
    waiting: _Pool[str] = _Pool()
    queues = [q.name for q in router.queues()]
    weights = [rng.uniform(0.2, 3.0) for _ in queues]
    mu = 1 / CALL_SECONDS
    arrival_rate = load * len(agents) * mu
    now = 0.0
    next_tick = 1.0
    seq = 0
    clock = time.perf_counter_ns
    lat_offer, lat_ready, lat_tick = run.latency["offer"], run.latency["ready"], run.latency["tick"]
    counts = run.counts

    def assigned(result: Assignment | None) -> None:
        if result is not None:
            busy.add(result.agent_id)
            waiting.discard(result.call_id)

    wall0 = time.perf_counter()
    while run.decisions < decisions:
        ready_count = len(agents) - len(busy) - len(on_break)
        rates = (
            arrival_rate,
            mu * len(busy),
            len(waiting) / PATIENCE_SECONDS,
            BREAK_RATE * ready_count,
            len(on_break) / BREAK_SECONDS,
        )
        total = sum(rates)
        now += rng.expovariate(total)
        while next_tick <= now:
            t0 = clock()
            outcomes = router.tick(next_tick)
            dt = clock() - t0
            run.router_ns += dt
            lat_tick.append(dt)
            for o in outcomes:
                if isinstance(o, TimedOut):
                    waiting.discard(o.call.call_id)
                    counts["timed out"] += 1
                elif isinstance(o, Overflowed):
                    counts["overflowed"] += 1
                else:
                    assigned(o)
                    counts["overflow routed"] += 1
            next_tick += 1.0
        pick = rng.random() * total
        if pick < rates[0]:  # a call arrives
            seq += 1
            call_id = f"c{seq}"
            queue = rng.choices(queues, weights)[0]
            r = rng.random()
            tier = "vip" if r < 0.05 else "gold" if r < 0.2 else None
            t0 = clock()
            result = router.offer(call_id, queue, now, tier=tier)
            dt = clock() - t0
            lat_offer.append(dt)
            if result is None:
                waiting.add(call_id)
                counts["queued"] += 1
            else:
                busy.add(result.agent_id)
                counts["routed at once"] += 1
        elif (pick := pick - rates[0]) < rates[1]:  # an agent finishes a call
            agent_id = busy.choice(rng)
            busy.discard(agent_id)
            t0 = clock()
            result = router.finish(agent_id, now)
            dt = clock() - t0
            lat_ready.append(dt)
            if result is not None:
                counts["taken from queue"] += 1
            assigned(result)
        elif (pick := pick - rates[1]) < rates[2]:  # a waiting caller hangs up
            call_id = waiting.choice(rng)
            waiting.discard(call_id)
            t0 = clock()
            router.abandon(call_id, now)
            run.router_ns += clock() - t0
            counts["abandoned"] += 1
            continue
        elif pick - rates[2] < rates[3]:  # a ready agent takes a break
            while True:
                agent_id = agents[rng.randrange(len(agents))]
                if agent_id not in busy.index and agent_id not in on_break.index:
                    break
            on_break.add(agent_id)
            t0 = clock()
            router.set_state(agent_id, "not_ready", now)
            run.router_ns += clock() - t0
            continue
        else:  # back from a break
            agent_id = on_break.choice(rng)
            on_break.discard(agent_id)
            t0 = clock()
            result = router.agent_ready(agent_id, now)
            dt = clock() - t0
            lat_ready.append(dt)
            if result is not None:
                counts["taken from queue"] += 1
            assigned(result)
        run.decisions += 1
        run.decision_ns += dt
        run.router_ns += dt
    run.wall_s = time.perf_counter() - wall0
    return run


def pct(samples: list[int], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] / 1000 if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--skills", type=int, default=20)
    parser.add_argument("--queues", type=int, default=40)
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--load", type=float, default=1.0, help="offered load / agent capacity")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    builds, runs = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        router = build(queues=args.queues, agents=args.agents, skills=args.skills, seed=args.seed)
        builds.append(time.perf_counter() - t0)
        runs.append(drive(router, decisions=args.decisions, load=args.load, seed=args.seed))

    serving = [len(router.serves(a.id)) for a in router.agents()]
    eligible = [s.eligible_agents for s in router.snapshot(0.0).values()]
    print(
        f"{args.agents} agents, {args.skills} skills, {args.queues} queues; queues per agent: "
        f"mean {statistics.mean(serving):.1f}, max {max(serving)}; agents per queue: "
        f"min {min(eligible)}, median {statistics.median(eligible):.0f}, max {max(eligible)}"
    )
    counts = runs[0].counts
    print("per run: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))

    def med(values: list[float]) -> float:
        return statistics.median(values)

    rows = [
        (
            "decisions/s, router time (all router calls)",
            med([r.decisions / (r.router_ns / 1e9) for r in runs]),
            "",
        ),
        ("decisions/s, decision calls only", med([r.decisions / (r.decision_ns / 1e9) for r in runs]), ""),
        ("decisions/s, end to end incl. driver", med([r.decisions / r.wall_s for r in runs]), ""),
    ]
    build_ms = med(builds) * 1000
    print(f"\n{args.decisions:,} decisions per run, {args.repeat} runs (medians); build {build_ms:.0f} ms\n")
    print("| case | value |\n|---|---|")
    for name, value, _ in rows:
        print(f"| {name} | {value:,.0f} |")
    print("\n| call | count per run | p50 µs | p95 µs | p99 µs |\n|---|---|---|---|---|")
    for kind, label in [
        ("offer", "offer"),
        ("ready", "finish / agent_ready"),
        ("tick", "tick (1 per sim. s)"),
    ]:
        n = len(runs[0].latency[kind])
        p50 = med([pct(r.latency[kind], 0.50) for r in runs])
        p95 = med([pct(r.latency[kind], 0.95) for r in runs])
        p99 = med([pct(r.latency[kind], 0.99) for r in runs])
        print(f"| {label} | {n:,} | {p50:.1f} | {p95:.1f} | {p99:.1f} |")
    p95_all = med([pct([x for k in ("offer", "ready") for x in r.latency[k]], 0.95) for r in runs])
    print(f"\np95 of a single decision (offer or agent becoming ready): {p95_all:.1f} µs")


if __name__ == "__main__":
    main()
