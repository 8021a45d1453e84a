"""ACD routing: hand-built cases per rule, and a randomized run checked against a naive model."""

from __future__ import annotations

import random
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import pytest

from kefu.callcenter.acd import (
    Agent,
    AgentState,
    AgentStateError,
    Assignment,
    DuplicateCall,
    InvalidQueueConfig,
    Outcome,
    OverflowCycle,
    Overflowed,
    QueueSpec,
    Router,
    Strategy,
    TimedOut,
    UnknownAgent,
    UnknownQueue,
)

READY = AgentState.READY
TIERS = {"vip": 10, "gold": 5, "normal": 0}


def ready_agent(
    agent_id: int,
    idle_since: float = 0.0,
    *,
    skills: dict[str, int] | None = None,
    queues: frozenset[str] = frozenset(),
    calls_taken: int = 0,
) -> Agent:
    return Agent(agent_id, skills or {}, queues, READY, idle_since, calls_taken)


def router_with(spec: QueueSpec, *agents: Agent) -> Router:
    router = Router([spec])
    for agent in agents:
        router.add_agent(agent, now=0.0)
    return router


def assigned_to(result: Assignment | None) -> int:
    assert isinstance(result, Assignment), result
    return result.agent_id


# -- strategies ----------------------------------------------------------------------------------


def test_longest_idle_picks_the_agent_ready_the_longest() -> None:
    spec = QueueSpec("q", Strategy.LONGEST_IDLE, skills={"water": 1})
    skilled = {"water": 3}
    router = router_with(
        spec,
        ready_agent(1, idle_since=50.0, skills=skilled),
        ready_agent(2, idle_since=10.0, skills=skilled),
        ready_agent(3, idle_since=30.0, skills=skilled),
    )
    assert assigned_to(router.offer("c1", "q", 100.0)) == 2
    assert assigned_to(router.offer("c2", "q", 100.0)) == 3
    # Agent 2 finishes and is ready again since 101: agent 1 (ready since 50) is next.
    assert router.finish(2, 101.0) is None
    assert assigned_to(router.offer("c3", "q", 102.0)) == 1
    assert assigned_to(router.offer("c4", "q", 103.0)) == 2


def test_longest_idle_ties_go_to_the_lower_agent_id() -> None:
    router = router_with(
        QueueSpec("q", skills={"a": 1}), *(ready_agent(i, 5.0, skills={"a": 1}) for i in (7, 3, 5))
    )
    assert [assigned_to(router.offer(f"c{i}", "q", 9.0)) for i in range(3)] == [3, 5, 7]


def test_longest_idle_can_count_from_a_given_instant() -> None:
    # By default idle time counts from becoming ready; the caller may count from the end of the
    # agent's last call instead (here agent 2 finished its call at 20 and then wrapped up until 60).
    router = router_with(QueueSpec("q", skills={"a": 1}), Agent(1, {"a": 1}), Agent(2, {"a": 1}))
    router.agent_ready(1, 50.0)
    router.agent_ready(2, 60.0, idle_since=20.0)
    assert router.agent(2).idle_since == 20.0
    assert assigned_to(router.offer("c1", "q", 70.0)) == 2


def test_call_center_agent_states_map_to_routing_states() -> None:
    assert [AgentState.of(s) for s in ["ringing", "talking", "held", "wrap_up", "logged_out"]] == [
        AgentState.BUSY,
        AgentState.BUSY,
        AgentState.BUSY,
        AgentState.NOT_READY,
        AgentState.OFFLINE,
    ]
    assert [AgentState.of(s.value) for s in AgentState] == list(AgentState)
    with pytest.raises(ValueError):
        AgentState.of("dancing")


def test_round_robin_cycles_fairly_in_agent_id_order() -> None:
    spec = QueueSpec("q", Strategy.ROUND_ROBIN, skills={"a": 1})
    # idle_since would favour agent 30 under longest idle; round robin ignores it.
    router = router_with(
        spec,
        ready_agent(10, idle_since=5.0, skills={"a": 1}),
        ready_agent(20, idle_since=3.0, skills={"a": 1}),
        ready_agent(30, idle_since=1.0, skills={"a": 1}),
    )
    served = []
    for i in range(9):
        agent_id = assigned_to(router.offer(f"c{i}", "q", float(i)))
        served.append(agent_id)
        router.finish(agent_id, float(i))
    assert served == [10, 20, 30] * 3


def test_round_robin_skips_agents_not_ready_and_wraps() -> None:
    spec = QueueSpec("q", Strategy.ROUND_ROBIN, skills={"a": 1})
    router = router_with(spec, *(ready_agent(i, skills={"a": 1}) for i in (1, 2, 3, 4)))
    assert assigned_to(router.offer("c1", "q", 1.0)) == 1
    router.finish(1, 1.0)
    router.set_state(2, "not_ready", 1.0)
    assert assigned_to(router.offer("c2", "q", 2.0)) == 3  # 2 is on a break
    router.finish(3, 2.0)
    assert assigned_to(router.offer("c3", "q", 3.0)) == 4
    assert assigned_to(router.offer("c4", "q", 3.0)) == 1  # wraps past the end
    assert assigned_to(router.offer("c5", "q", 3.0)) == 3  # 4 and 1 busy, 2 not ready


def test_fewest_calls_then_longest_idle() -> None:
    spec = QueueSpec("q", Strategy.FEWEST_CALLS, skills={"a": 1})
    router = router_with(
        spec,
        ready_agent(1, idle_since=0.0, calls_taken=5, skills={"a": 1}),
        ready_agent(2, idle_since=20.0, calls_taken=2, skills={"a": 1}),
        ready_agent(3, idle_since=10.0, calls_taken=2, skills={"a": 1}),
    )
    assert assigned_to(router.offer("c1", "q", 30.0)) == 3  # 2 calls, idle longer than agent 2
    router.finish(3, 31.0)  # agent 3 now has 3 calls
    assert assigned_to(router.offer("c2", "q", 32.0)) == 2
    router.finish(2, 33.0)  # agents 2 and 3 both at 3 calls; 3 is ready since 31
    assert assigned_to(router.offer("c3", "q", 34.0)) == 3
    assert router.agent(3).calls_taken == 4


def test_skill_weighted_prefers_the_highest_level_sum_then_longest_idle() -> None:
    spec = QueueSpec("q", Strategy.SKILL_WEIGHTED, skills={"water": 2, "billing": 1})
    router = router_with(
        spec,
        ready_agent(1, idle_since=0.0, skills={"water": 2, "billing": 1}),  # 3, idle longest
        ready_agent(2, idle_since=9.0, skills={"water": 9, "billing": 8, "gas": 10}),  # 17 (gas not counted)
        ready_agent(3, idle_since=5.0, skills={"water": 10, "billing": 7}),  # 17, idle longer than 2
        ready_agent(4, idle_since=0.0, skills={"water": 10}),  # lacks billing: not eligible
    )
    assert [assigned_to(router.offer(f"c{i}", "q", 10.0)) for i in range(3)] == [3, 2, 1]
    assert router.offer("c4", "q", 10.0) is None


def test_skill_weighted_member_without_the_skills_counts_zero() -> None:
    spec = QueueSpec("q", Strategy.SKILL_WEIGHTED, skills={"water": 5})
    router = router_with(
        spec,
        ready_agent(1, idle_since=0.0, queues=frozenset({"q"})),  # member, no skills: weight 0
        ready_agent(2, idle_since=8.0, skills={"water": 5}),
    )
    assert assigned_to(router.offer("c1", "q", 10.0)) == 2
    assert assigned_to(router.offer("c2", "q", 10.0)) == 1


# -- eligibility ---------------------------------------------------------------------------------


def test_skill_minimum_levels_are_respected() -> None:
    spec = QueueSpec("q", skills={"water": 5, "billing": 3})
    router = router_with(
        spec,
        ready_agent(1, idle_since=0.0, skills={"water": 4, "billing": 10}),  # water too low
        ready_agent(2, idle_since=1.0, skills={"water": 10}),  # no billing
        ready_agent(3, idle_since=2.0, skills={"water": 5, "billing": 3}),  # exactly the minimum
    )
    assert router.serves(1) == [] and router.serves(2) == [] and router.serves(3) == ["q"]
    assert assigned_to(router.offer("c1", "q", 5.0)) == 3
    assert router.offer("c2", "q", 5.0) is None


def test_membership_or_skills_make_an_agent_eligible() -> None:
    members_only = QueueSpec("members")
    skilled = QueueSpec("skilled", skills={"gas": 2})
    router = Router([members_only, skilled])
    router.add_agent(ready_agent(1, skills={"gas": 9}), 0.0)  # skilled, not a member
    router.add_agent(ready_agent(2, queues=frozenset({"members", "skilled"})), 0.0)  # member of both
    assert router.serves(1) == ["skilled"]
    assert router.serves(2) == ["members", "skilled"]
    assert assigned_to(router.offer("c1", "members", 1.0)) == 2
    assert router.offer("c2", "members", 1.0) is None  # agent 1 has the skill of another queue only


@pytest.mark.parametrize("state", ["not_ready", "busy", "offline"])
@pytest.mark.parametrize("strategy", list(Strategy))
def test_agents_not_ready_never_get_calls(state: str, strategy: Strategy) -> None:
    router = router_with(QueueSpec("q", strategy, skills={"a": 1}), ready_agent(1, skills={"a": 9}))
    router.set_state(1, state, 1.0)
    assert router.offer("c1", "q", 2.0) is None
    assert router.tick(3.0) == []
    assert [c.call_id for c in router.waiting("q")] == ["c1"]
    assert router.agent(1).state == state
    assert router.snapshot(4.0)["q"].ready_agents == 0


def test_agent_added_in_another_state_is_not_routed_to() -> None:
    router = Router([QueueSpec("q", skills={"a": 1})])
    for i, state in enumerate(["offline", "not_ready", "busy"], start=1):
        router.add_agent(Agent(id=i, skills={"a": 5}, state=AgentState(state)), 0.0)
    assert router.offer("c1", "q", 1.0) is None
    assert assigned_to(router.agent_ready(2, 2.0)) == 2
    assert router.agent(2).state is AgentState.BUSY


# -- waiting order -------------------------------------------------------------------------------


def test_vip_ahead_of_earlier_normal_calls_and_fifo_within_a_tier() -> None:
    router = router_with(QueueSpec("q", skills={"a": 1}, tier_priority=TIERS), Agent(id=1, skills={"a": 1}))
    router.offer("n1", "q", 1.0, tier="normal")
    router.offer("n2", "q", 2.0)  # no tier: priority 0, like normal
    router.offer("g1", "q", 3.0, tier="gold")
    router.offer("v1", "q", 4.0, tier="vip")
    router.offer("x1", "q", 5.0, tier="unknown-tier")  # unknown tier: priority 0
    router.offer("v2", "q", 6.0, tier="vip")
    assert [c.call_id for c in router.waiting("q")] == ["v1", "v2", "g1", "n1", "n2", "x1"]
    served = []
    for t in range(7, 13):
        result = router.agent_ready(1, float(t))
        assert result is not None
        served.append(result.call_id)
    assert served == ["v1", "v2", "g1", "n1", "n2", "x1"]
    assert router.agent_ready(1, 20.0) is None and router.agent(1).state is READY


def test_agent_ready_takes_the_oldest_highest_priority_call_across_its_queues() -> None:
    router = Router(
        [
            QueueSpec("water", skills={"water": 1}, tier_priority=TIERS),
            QueueSpec("gas", skills={"gas": 1}, tier_priority=TIERS),
            QueueSpec("power", skills={"power": 1}, tier_priority=TIERS),
        ]
    )
    router.add_agent(Agent(id=1, skills={"water": 1, "gas": 1}), 0.0)
    router.offer("power-vip", "power", 0.5, tier="vip")  # the agent cannot serve power
    router.offer("water-old", "water", 1.0)
    router.offer("gas-gold", "gas", 2.0, tier="gold")
    router.offer("water-gold", "water", 3.0, tier="gold")
    router.offer("gas-new", "gas", 4.0)
    taken = []
    for t in (10.0, 11.0, 12.0, 13.0):
        result = router.agent_ready(1, t)
        assert result is not None
        taken.append((result.call_id, result.queue))
        router.set_state(1, "not_ready", t)
    assert taken == [("gas-gold", "gas"), ("water-gold", "water"), ("water-old", "water"), ("gas-new", "gas")]
    assert router.agent_ready(1, 14.0) is None
    assert [c.call_id for c in router.waiting("power")] == ["power-vip"]


def test_assignment_reports_wait_and_counts_the_call() -> None:
    router = router_with(QueueSpec("q", skills={"a": 1}), Agent(id=1, skills={"a": 1}))
    router.offer("c1", "q", 100.0, tier="vip")
    result = router.agent_ready(1, 130.0)
    assert result == Assignment("c1", "q", 1, "vip", 100.0, 130.0)
    assert result is not None and result.wait == 30.0
    agent = router.agent(1)
    assert agent.state is AgentState.BUSY and agent.calls_taken == 1
    assert router.call("c1") is None


# -- overflow, time-outs, abandons ---------------------------------------------------------------


def test_overflow_after_the_wait_moves_the_call_and_routes_it() -> None:
    router = Router(
        [
            QueueSpec("first", skills={"a": 1}, overflow_after=30.0, overflow_to="backup"),
            QueueSpec("backup", skills={"b": 1}),
        ]
    )
    router.add_agent(Agent(id=1, skills={"b": 1}, state=READY, idle_since=0.0), 0.0)
    assert router.offer("c1", "first", 10.0) is None
    assert router.next_deadline() == 40.0
    assert router.tick(39.9) == []
    out = router.tick(45.0)
    assert len(out) == 2
    moved, assignment = out
    assert isinstance(moved, Overflowed)
    assert (moved.call.call_id, moved.call.queue, moved.to_queue, moved.at) == ("c1", "first", "backup", 40.0)
    assert assignment == Assignment("c1", "backup", 1, None, 10.0, 45.0)
    assert router.call("c1") is None and router.next_deadline() is None


def test_overflowed_call_waits_in_the_target_keeping_its_arrival_time() -> None:
    router = Router(
        [
            QueueSpec(
                "first", skills={"a": 1}, overflow_after=30.0, overflow_to="backup", tier_priority=TIERS
            ),
            QueueSpec("backup", skills={"b": 1}, max_wait=100.0, tier_priority={"vip": 1}),
        ]
    )
    router.add_agent(Agent(id=1, skills={"b": 1}), 0.0)
    router.offer("early", "backup", 20.0)
    router.offer("c1", "first", 10.0, tier="gold")
    router.offer("later", "backup", 50.0)
    (moved,) = router.tick(40.0)
    assert isinstance(moved, Overflowed)
    call = router.call("c1")
    assert call is not None
    # Arrival kept; priority and place come from the target (gold is 0 there; entered at 40).
    assert (call.queue, call.arrived_at, call.entered_queue_at, call.priority) == ("backup", 10.0, 40.0, 0)
    assert [c.call_id for c in router.waiting("backup")] == ["early", "c1", "later"]
    assert router.snapshot(60.0)["backup"].longest_wait == 50.0
    # max_wait of backup counts from the first arrival: 10 + 100.
    out = router.tick(115.0)
    assert [(type(o), o.call.call_id, o.at) for o in out if isinstance(o, TimedOut)] == [
        (TimedOut, "c1", 110.0)
    ]
    assert [c.call_id for c in router.waiting("backup")] == ["early", "later"]
    (gone,) = router.tick(120.0)
    assert isinstance(gone, TimedOut) and (gone.call.call_id, gone.at) == ("early", 120.0)
    assert router.call("early") is None


def test_overflow_chain_is_applied_in_one_tick_at_the_due_times() -> None:
    router = Router(
        [
            QueueSpec("a", skills={"x": 1}, overflow_after=10.0, overflow_to="b"),
            QueueSpec("b", skills={"y": 1}, overflow_after=5.0, overflow_to="c"),
            QueueSpec("c", skills={"z": 1}),
        ]
    )
    router.offer("c1", "a", 0.0)
    out = router.tick(100.0)
    assert [(o.call.queue, o.to_queue, o.at) for o in out if isinstance(o, Overflowed)] == [
        ("a", "b", 10.0),
        ("b", "c", 15.0),
    ]
    call = router.call("c1")
    assert call is not None and (call.queue, call.entered_queue_at) == ("c", 15.0)
    # The same in small ticks gives the same story.
    router2 = Router([router.queue(n) for n in ("a", "b", "c")])
    router2.offer("c1", "a", 0.0)
    small: list[Outcome] = []
    for t in range(0, 101, 3):
        small.extend(router2.tick(float(t)))
    assert small == out


def test_max_wait_times_out_and_a_timeout_wins_over_a_simultaneous_overflow() -> None:
    router = Router(
        [
            QueueSpec("q", skills={"a": 1}, max_wait=60.0, overflow_after=60.0, overflow_to="other"),
            QueueSpec("other", skills={"b": 1}),
        ]
    )
    router.offer("c1", "q", 0.0, tier="vip")
    router.offer("c2", "q", 30.0)
    assert router.tick(59.0) == []
    (out,) = router.tick(70.0)
    assert isinstance(out, TimedOut) and out.call.call_id == "c1" and out.at == 60.0
    assert [c.call_id for c in router.waiting("q")] == ["c2"]
    assert [type(o) for o in router.tick(90.0)] == [TimedOut]
    assert router.waiting("q") == [] and router.waiting("other") == []


def test_overflow_into_a_queue_whose_max_wait_has_passed_times_out_at_once() -> None:
    router = Router(
        [
            QueueSpec("a", skills={"x": 1}, overflow_after=100.0, overflow_to="b"),
            QueueSpec("b", skills={"y": 1}, max_wait=60.0),
        ]
    )
    router.offer("c1", "a", 0.0)
    out = router.tick(200.0)
    assert [(type(o), o.at) for o in out] == [(Overflowed, 100.0), (TimedOut, 100.0)]
    # With a ready agent in the target, routing wins over the time-out.
    router.add_agent(ready_agent(1, skills={"y": 1}), 200.0)
    router.offer("c2", "a", 300.0)
    out = router.tick(400.0)
    assert [type(o) for o in out] == [Overflowed, Assignment]


def test_abandon_removes_the_waiting_call() -> None:
    router = Router([QueueSpec("q", skills={"a": 1}, max_wait=60.0)])
    router.add_agent(Agent(id=1, skills={"a": 1}), 0.0)
    router.offer("c1", "q", 0.0)
    router.offer("c2", "q", 1.0)
    gone = router.abandon("c1", 5.0)
    assert gone is not None and gone.call_id == "c1" and gone.wait(5.0) == 5.0
    assert router.abandon("c1", 6.0) is None
    assert router.abandon("never-seen", 6.0) is None
    assert [c.call_id for c in router.waiting("q")] == ["c2"]
    assert router.tick(60.5) == []  # c1's deadline is void
    assert router.next_deadline() == 61.0
    result = router.agent_ready(1, 61.0)
    assert result is not None and result.call_id == "c2"
    assert router.abandon("c2", 62.0) is None  # assigned, not waiting any more
    # The id is free again once the call left the queue.
    assert router.offer("c1", "q", 70.0) is None


# -- configuration and errors --------------------------------------------------------------------


def test_errors_for_unknown_queue_agent_and_duplicate_call() -> None:
    router = router_with(QueueSpec("q", skills={"a": 1}), Agent(id=1, skills={"a": 1}))
    with pytest.raises(UnknownQueue):
        router.offer("c1", "nope", 0.0)
    with pytest.raises(UnknownQueue):
        router.waiting("nope")
    with pytest.raises(UnknownAgent):
        router.set_state(99, "ready", 0.0)
    with pytest.raises(UnknownAgent):
        router.finish(99, 0.0)
    router.offer("c1", "q", 0.0)
    with pytest.raises(DuplicateCall):
        router.offer("c1", "q", 1.0)
    with pytest.raises(AgentStateError):
        router.finish(1, 1.0)  # offline, not busy
    with pytest.raises(ValueError):
        router.set_state(1, "dancing", 1.0)
    with pytest.raises(Exception, match="exists"):
        router.add_agent(Agent(id=1), 1.0)


def test_overflow_cycles_and_bad_specs_are_rejected() -> None:
    with pytest.raises(OverflowCycle, match="a -> b -> a"):
        Router(
            [
                QueueSpec("a", overflow_after=1.0, overflow_to="b"),
                QueueSpec("b", overflow_after=1.0, overflow_to="a"),
            ]
        )
    with pytest.raises(ValueError, match="b -> c -> d -> b"):
        Router(
            [
                QueueSpec("a", overflow_after=1.0, overflow_to="b"),
                QueueSpec("b", overflow_after=1.0, overflow_to="c"),
                QueueSpec("c", overflow_after=1.0, overflow_to="d"),
                QueueSpec("d", overflow_after=1.0, overflow_to="b"),
            ]
        )
    with pytest.raises(OverflowCycle):
        QueueSpec("a", overflow_after=1.0, overflow_to="a")
    with pytest.raises(InvalidQueueConfig, match="unknown queue"):
        Router([QueueSpec("a", overflow_after=1.0, overflow_to="zz")])
    with pytest.raises(InvalidQueueConfig):
        QueueSpec("a", overflow_to="b")  # no overflow_after
    with pytest.raises(InvalidQueueConfig):
        QueueSpec("a", skills={"x": 11})
    with pytest.raises(InvalidQueueConfig):
        QueueSpec("a", skills={"x": 0})
    with pytest.raises(InvalidQueueConfig):
        QueueSpec("a", strategy="random")  # type: ignore[arg-type]
    with pytest.raises(InvalidQueueConfig):
        QueueSpec("a", max_wait=-1.0)
    with pytest.raises(InvalidQueueConfig):
        QueueSpec("a", overflow_after=-1.0, overflow_to="b")
    with pytest.raises(InvalidQueueConfig):
        QueueSpec("")
    with pytest.raises(InvalidQueueConfig):
        Router([QueueSpec("a"), QueueSpec("a")])
    assert QueueSpec("a", strategy="round_robin").strategy is Strategy.ROUND_ROBIN  # type: ignore[arg-type]

    # A chain is fine; closing it later is not, and the router is left as it was.
    router = Router([QueueSpec("a", overflow_after=1.0, overflow_to="b"), QueueSpec("b")])
    with pytest.raises(OverflowCycle):
        router.update_queue(QueueSpec("b", overflow_after=1.0, overflow_to="a"), 0.0)
    with pytest.raises(OverflowCycle):
        router.add_queue(QueueSpec("c", overflow_after=1.0, overflow_to="c"))
    assert router.queue("b").overflow_to is None
    router.add_queue(QueueSpec("c", overflow_after=1.0, overflow_to="a"))
    with pytest.raises(InvalidQueueConfig, match="exists"):
        router.add_queue(QueueSpec("c"))
    with pytest.raises(InvalidQueueConfig, match="overflow target"):
        router.remove_queue("a")


def test_update_agent_changes_what_it_serves() -> None:
    router = Router([QueueSpec("water", skills={"water": 3}), QueueSpec("gas", skills={"gas": 3})])
    router.add_agent(ready_agent(1, idle_since=5.0, skills={"water": 5}), 0.0)
    router.offer("g1", "gas", 10.0)
    # Gaining the gas skill: the ready agent takes the waiting gas call.
    result = router.update_agent(1, 11.0, skills={"water": 5, "gas": 3})
    assert result is not None and result.call_id == "g1"
    router.finish(1, 12.0)
    # Losing the water skill but joining water as a member: still serves water.
    assert router.update_agent(1, 13.0, skills={"gas": 3}, queues=["water"]) is None
    assert router.serves(1) == ["gas", "water"]
    assert router.agent(1).idle_since == 12.0  # a ready agent keeps its idle time
    router.update_agent(1, 14.0, queues=[])
    assert router.offer("w1", "water", 15.0) is None
    assert assigned_to(router.offer("g2", "gas", 15.0)) == 1


def test_update_queue_lets_newly_eligible_ready_agents_take_waiting_calls() -> None:
    router = Router([QueueSpec("q", skills={"a": 5}, tier_priority={"vip": 1})])
    router.add_agent(ready_agent(1, idle_since=0.0, skills={"a": 3}), 0.0)
    router.add_agent(ready_agent(2, idle_since=1.0, skills={"a": 4}), 0.0)
    router.offer("c1", "q", 10.0)
    router.offer("c2", "q", 11.0, tier="vip")
    router.offer("c3", "q", 12.0)
    out = router.update_queue(QueueSpec("q", Strategy.SKILL_WEIGHTED, skills={"a": 3}), 20.0)
    # New rules have no tiers: FIFO; skill weighted picks agent 2 (level 4) first.
    assert [(a.call_id, a.agent_id) for a in out] == [("c1", 2), ("c2", 1)]
    assert [c.call_id for c in router.waiting("q")] == ["c3"]
    with pytest.raises(Exception, match="waiting"):
        router.remove_queue("q")
    router.abandon("c3", 21.0)
    router.remove_queue("q")
    assert router.serves(1) == [] and router.queues() == []


def test_add_queue_indexes_ready_agents() -> None:
    router = Router()
    router.add_agent(ready_agent(1, idle_since=3.0, skills={"a": 2}), 0.0)
    router.add_agent(ready_agent(2, idle_since=1.0, skills={"a": 2}), 0.0)
    router.add_queue(QueueSpec("q", skills={"a": 2}))
    assert router.snapshot(5.0)["q"].ready_agents == 2
    assert assigned_to(router.offer("c1", "q", 5.0)) == 2
    removed = router.remove_agent(1)
    assert removed.id == 1 and router.snapshot(5.0)["q"].ready_agents == 0
    assert router.offer("c2", "q", 6.0) is None


def test_stale_index_entries_are_compacted_and_routing_stays_right() -> None:
    # Agents serving a queue that never gets calls go ready and busy many times through another
    # queue; each round leaves stale entries in the quiet queue's ready heap, and abandoned calls
    # leave stale deadlines. Both stay bounded (checked on the internals: nothing else shows it).
    router = Router([QueueSpec("busy", skills={"a": 1}), QueueSpec("quiet", skills={"a": 1}, max_wait=1e6)])
    for agent_id in (1, 2, 3):
        router.add_agent(ready_agent(agent_id, idle_since=float(agent_id), skills={"a": 1}), 0.0)
    t = 10.0
    for i in range(2000):
        t += 1.0
        result = router.offer(f"c{i}", "busy", t)
        assert result is not None
        router.finish(result.agent_id, t)
    internals = router._queues["quiet"]
    assert internals.ready_count == 3
    assert len(internals.ready) <= 4 * internals.ready_count + 32
    for agent_id in (1, 2, 3):
        router.set_state(agent_id, "not_ready", t)
    for i in range(2000):
        assert router.offer(f"q{i}", "quiet", t + i) is None
        router.abandon(f"q{i}", t + i)
    assert len(router._deadlines) <= 4 * len(router._calls) + 64
    assert router.offer("last", "quiet", 9000.0) is None
    assert router.next_deadline() == 9000.0 + 1e6
    taken = router.agent_ready(1, 9001.0)
    assert taken is not None and taken.call_id == "last"
    router.set_state(2, "ready", 9002.0)
    router.finish(1, 9003.0)
    assert assigned_to(router.offer("x", "quiet", 9004.0)) == 2
    assert assigned_to(router.offer("y", "busy", 9004.0)) == 1
    assert router.offer("z", "busy", 9004.0) is None


def test_snapshot_reports_per_queue_state() -> None:
    router = Router([QueueSpec("q", skills={"a": 1}), QueueSpec("r", skills={"b": 1})])
    router.add_agent(ready_agent(1, skills={"b": 1}), 0.0)
    router.add_agent(Agent(id=2, skills={"a": 1, "b": 1}), 0.0)
    router.offer("c1", "q", 10.0)
    router.offer("c2", "q", 15.0)
    snap = router.snapshot(40.0)
    assert (snap["q"].waiting, snap["q"].longest_wait, snap["q"].ready_agents, snap["q"].eligible_agents) == (
        2,
        30.0,
        0,
        1,
    )
    assert (snap["r"].waiting, snap["r"].longest_wait, snap["r"].ready_agents, snap["r"].eligible_agents) == (
        0,
        0.0,
        1,
        2,
    )


# -- randomized run against a naive model --------------------------------------------------------


@dataclass
class ModelCall:
    call_id: str
    queue: str
    tier: str | None
    arrived_at: float
    entered_at: float
    order: int


class Model:
    """A slow, obvious re-statement of the routing rules: scans every agent and call each time."""

    def __init__(self, router: Router, specs: list[QueueSpec]) -> None:
        self.router = router
        self.specs = {s.name: s for s in specs}
        self.cursor: dict[str, int] = {}
        self.waiting: dict[str, ModelCall] = {}
        self.order = 0

    def serves(self, spec: QueueSpec, agent: Agent) -> bool:
        if spec.name in agent.queues:
            return True
        return bool(spec.skills) and all(agent.skills.get(s, 0) >= lvl for s, lvl in spec.skills.items())

    def ready_for(self, queue: str, exclude: AbstractSet[int] = frozenset()) -> list[Agent]:
        spec = self.specs[queue]
        return [
            a
            for a in self.router.agents()
            if a.state is READY and a.id not in exclude and self.serves(spec, a)
        ]

    def pick(self, queue: str, exclude: AbstractSet[int] = frozenset()) -> int | None:
        spec = self.specs[queue]
        agents = self.ready_for(queue, exclude)
        if not agents:
            return None
        if spec.strategy is Strategy.ROUND_ROBIN:
            ids = sorted(a.id for a in agents)
            after = [i for i in ids if i > self.cursor.get(queue, -1)]
            return (after or ids)[0]
        if spec.strategy is Strategy.LONGEST_IDLE:
            return min(agents, key=lambda a: (a.idle_since, a.id)).id
        if spec.strategy is Strategy.FEWEST_CALLS:
            return min(agents, key=lambda a: (a.calls_taken, a.idle_since, a.id)).id
        weight = {a.id: sum(a.skills.get(s, 0) for s in spec.skills) for a in agents}
        return min(agents, key=lambda a: (-weight[a.id], a.idle_since, a.id)).id

    def rank(self, call: ModelCall) -> tuple[int, float, int]:
        return (-self.specs[call.queue].priority(call.tier), call.entered_at, call.order)

    def best_call_for(self, agent_id: int) -> ModelCall | None:
        agent = self.router.agent(agent_id)
        mine = [c for c in self.waiting.values() if self.serves(self.specs[c.queue], agent)]
        return min(mine, key=self.rank, default=None)

    def enqueue(self, call_id: str, queue: str, tier: str | None, arrived: float, entered: float) -> None:
        self.order += 1
        self.waiting[call_id] = ModelCall(call_id, queue, tier, arrived, entered, self.order)

    def deadlines(self) -> list[tuple[float, int, ModelCall]]:
        found = []
        for call in self.waiting.values():
            spec = self.specs[call.queue]
            if spec.max_wait is not None:
                found.append((max(call.arrived_at + spec.max_wait, call.entered_at), 0, call))
            if spec.overflow_after is not None:
                found.append((call.entered_at + spec.overflow_after, 1, call))
        return found

    def due(self, now: float) -> tuple[float, int, ModelCall] | None:
        found = [f for f in self.deadlines() if f[0] <= now]
        return min(found, key=lambda f: (f[0], f[1], f[2].order), default=None)


def test_randomized_operations_keep_the_invariants_and_match_the_naive_model() -> None:
    rng = random.Random(20260401)
    skills = ["water", "gas", "power", "billing"]
    specs = [
        QueueSpec("a-idle", Strategy.LONGEST_IDLE, {"water": 3}, 20.0, "b-rr", 200.0, TIERS),
        QueueSpec("b-rr", Strategy.ROUND_ROBIN, {"gas": 2}, 30.0, "f-members", None, TIERS),
        QueueSpec(
            "c-fewest", Strategy.FEWEST_CALLS, {"power": 4, "billing": 2}, None, None, 90.0, {"vip": 3}
        ),
        QueueSpec("d-weighted", Strategy.SKILL_WEIGHTED, {"water": 2, "billing": 5}, 15.0, "c-fewest", 150.0),
        QueueSpec("e-weighted", Strategy.SKILL_WEIGHTED, {"billing": 1}, None, None, None, TIERS),
        QueueSpec("f-members", Strategy.LONGEST_IDLE, {}, None, None, 120.0, TIERS),
    ]
    router = Router(specs)
    model = Model(router, specs)
    for agent_id in range(1, 19):
        agent_skills = {s: rng.randint(1, 10) for s in rng.sample(skills, rng.randint(0, 3))}
        member_of = frozenset(rng.sample([s.name for s in specs], rng.randint(0, 2)))
        state = rng.choice(list(AgentState))
        if state is AgentState.BUSY:
            state = READY
        result = router.add_agent(
            Agent(agent_id, agent_skills, member_of, state, idle_since=0.0, calls_taken=rng.randint(0, 3)),
            0.0,
        )
        assert result is None  # no calls yet

    holding: dict[int, str] = {}  # agent -> call it is handling (from the router's assignments)
    status: dict[str, str] = {}  # call -> waiting / assigned / abandoned / timeout
    now = 0.0
    counts = dict.fromkeys(
        [
            *["offer", "ready", "finish", "abandon", "tick", "duplicate", "overflow", "overflow routed"],
            *["update agent", "update queue", "update queue routed"],
        ],
        0,
    )

    def took(result: Assignment | None, expected_agent: int | None, expected_call: str | None) -> None:
        if result is None:
            assert expected_agent is None and expected_call is None
            return
        assert (result.agent_id, result.call_id) == (expected_agent, expected_call)
        assert result.agent_id not in holding, "agent got a second call"
        assert status.get(result.call_id) in (None, "waiting")
        holding[result.agent_id] = result.call_id
        status[result.call_id] = "assigned"
        model.waiting.pop(result.call_id, None)
        if model.specs[result.queue].strategy is Strategy.ROUND_ROBIN:
            model.cursor[result.queue] = result.agent_id
        assert router.agent(result.agent_id).state is AgentState.BUSY

    def took_best(agent_id: int, best: ModelCall | None, result: Assignment | None) -> None:
        took(result, agent_id if best else None, best.call_id if best else None)

    variants = [
        specs[4],
        QueueSpec(
            "e-weighted", Strategy.ROUND_ROBIN, {"billing": 4, "gas": 1}, None, None, 60.0, {"gold": 7}
        ),
    ]

    for step in range(4000):
        now += rng.choice([0.0, 0.5, 1.0, 2.0, 5.0])
        op = rng.random()
        if op < 0.08 or step % 50 == 0:
            counts["tick"] += 1
            expected: list[tuple[str, ...]] = []
            taken: set[int] = set()  # agents the tick hands a call to (still ready in the router now)
            while (due := model.due(now)) is not None:
                at, kind, mc = due
                del model.waiting[mc.call_id]
                if kind == 0:
                    expected.append(("timeout", mc.call_id, mc.queue, str(at)))
                    continue
                target = model.specs[mc.queue].overflow_to
                assert target is not None
                expected.append(("overflow", mc.call_id, mc.queue, target, str(at)))
                picked = model.pick(target, exclude=taken)
                if picked is None:
                    model.enqueue(mc.call_id, target, mc.tier, mc.arrived_at, at)
                else:
                    expected.append(("assigned", mc.call_id, target, str(picked)))
                    taken.add(picked)
                    if model.specs[target].strategy is Strategy.ROUND_ROBIN:
                        model.cursor[target] = picked
            got: list[tuple[str, ...]] = []
            for o in router.tick(now):
                if isinstance(o, TimedOut):
                    got.append(("timeout", o.call.call_id, o.call.queue, str(o.at)))
                    assert status[o.call.call_id] == "waiting"
                    status[o.call.call_id] = "timeout"
                elif isinstance(o, Overflowed):
                    got.append(("overflow", o.call.call_id, o.call.queue, o.to_queue, str(o.at)))
                    assert status[o.call.call_id] == "waiting"
                    counts["overflow"] += 1
                else:
                    counts["overflow routed"] += 1
                    got.append(("assigned", o.call_id, o.queue, str(o.agent_id)))
                    assert o.agent_id not in holding, "agent got a second call"
                    assert status[o.call_id] == "waiting"
                    holding[o.agent_id] = o.call_id
                    status[o.call_id] = "assigned"
            assert got == expected
        elif op < 0.40:
            counts["offer"] += 1
            if model.waiting and rng.random() < 0.03:
                counts["duplicate"] += 1
                with pytest.raises(DuplicateCall):
                    router.offer(rng.choice(sorted(model.waiting)), "a-idle", now)
                continue
            call_id = f"c{step}"
            queue = rng.choice(specs).name
            tier = rng.choice(["vip", "gold", "normal", None])
            picked = model.pick(queue)
            result = router.offer(call_id, queue, now, tier=tier)
            if picked is None:
                assert result is None
                status[call_id] = "waiting"
                model.enqueue(call_id, queue, tier, now, now)
            else:
                took(result, picked, call_id)
        elif op < 0.62:
            counts["finish"] += 1
            if holding:
                agent_id = rng.choice(sorted(holding))
                del holding[agent_id]
                if rng.random() < 0.3:  # wrap-up first, ready later
                    router.set_state(agent_id, "not_ready", now)
                else:
                    # The model decides before the router changes anything (idle_since = now).
                    router_agent = router.agent(agent_id)
                    best = model.best_call_for(agent_id)
                    result = router.finish(agent_id, now)
                    took_best(agent_id, best, result)
                    if result is None:
                        assert router_agent.state is READY and router_agent.idle_since == now
        elif op < 0.80:
            counts["ready"] += 1
            agent_id = rng.randint(1, 18)
            agent = router.agent(agent_id)
            if agent_id in holding:
                continue  # busy with a call: the CTI layer would not send this
            new = rng.choice([READY, READY, AgentState.NOT_READY, AgentState.OFFLINE])
            if new is READY and agent.state is not READY:
                best = model.best_call_for(agent_id)
                took_best(agent_id, best, router.set_state(agent_id, new, now))
            else:
                assert router.set_state(agent_id, new, now) is None
        elif op < 0.95:
            counts["abandon"] += 1
            if model.waiting and rng.random() < 0.8:
                call_id = rng.choice(sorted(model.waiting))
                gone = router.abandon(call_id, now)
                assert status[call_id] == "waiting"
                assert gone is not None and gone.call_id == call_id
                assert gone.queue == model.waiting[call_id].queue
                del model.waiting[call_id]
                status[call_id] = "abandoned"
            else:
                not_waiting = sorted(c for c, st in status.items() if st != "waiting")
                assert router.abandon(rng.choice(["nope", *not_waiting]), now) is None
        elif op < 0.98:
            counts["update agent"] += 1
            agent_id = rng.randint(1, 18)
            if agent_id in holding:
                continue
            new_skills = {s: rng.randint(1, 10) for s in rng.sample(skills, rng.randint(0, 3))}
            agent = router.agent(agent_id)
            best = None
            if agent.state is READY:
                agent_view = Agent(agent_id, new_skills, agent.queues)
                mine = [c for c in model.waiting.values() if model.serves(model.specs[c.queue], agent_view)]
                best = min(mine, key=model.rank, default=None)
            took_best(agent_id, best, router.update_agent(agent_id, now, skills=new_skills))
        else:
            counts["update queue"] += 1
            variants.reverse()
            new_spec = variants[0]
            model.specs[new_spec.name] = new_spec
            # Waiting calls re-enter in their order of entry; then ready agents take them.
            for mc in sorted(
                (c for c in model.waiting.values() if c.queue == new_spec.name),
                key=lambda c: (c.entered_at, c.order),
            ):
                model.order += 1
                mc.order = model.order
            expected_pairs = []
            taken = set()
            while True:
                mine = sorted((c for c in model.waiting.values() if c.queue == new_spec.name), key=model.rank)
                picked = model.pick(new_spec.name, exclude=taken)
                if not mine or picked is None:
                    break
                expected_pairs.append((mine[0].call_id, picked))
                taken.add(picked)
                del model.waiting[mine[0].call_id]
                if new_spec.strategy is Strategy.ROUND_ROBIN:
                    model.cursor[new_spec.name] = picked
            assignments = router.update_queue(new_spec, now)
            assert [(a.call_id, a.agent_id) for a in assignments] == expected_pairs
            for a in assignments:
                assert a.agent_id not in holding and status[a.call_id] == "waiting"
                holding[a.agent_id] = a.call_id
                status[a.call_id] = "assigned"
                counts["update queue routed"] += 1

        # Invariants after every step.
        next_due = min(((d[0], d[1], d[2].order) for d in model.deadlines()), default=None)
        assert router.next_deadline() == (next_due[0] if next_due else None)
        for name, stats in router.snapshot(now).items():
            assert not (stats.waiting and stats.ready_agents), name
            assert stats.ready_agents == len(model.ready_for(name))
            assert [c.call_id for c in router.waiting(name)] == [
                c.call_id
                for c in sorted((c for c in model.waiting.values() if c.queue == name), key=model.rank)
            ]
        for call_id in model.waiting:
            assert status[call_id] == "waiting" and router.call(call_id) is not None
        assert set(holding.values()).isdisjoint(model.waiting)
        for agent_id, call_id in holding.items():
            assert router.agent(agent_id).state is AgentState.BUSY
            assert status[call_id] == "assigned" and router.call(call_id) is None

    # Every call ended in exactly one state (status holds one per call; transitions were checked
    # to leave "waiting" only), the waiting ones are exactly those the router still holds, and the
    # run exercised every kind of step and every ending.
    assert sorted(c for c, st in status.items() if st == "waiting") == sorted(model.waiting)
    assert set(status.values()) == {"waiting", "assigned", "abandoned", "timeout"}
    assert min(counts.values()) >= 5, counts
