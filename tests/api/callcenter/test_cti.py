"""CTI events (CC-1): real event sequences — answered, abandoned in queue, transferred — replayed in
order, duplicated and reordered, checked on the call, the contact record and the agents' states."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

from sqlalchemy import func, select

from kefu.callcenter import agents
from kefu.callcenter.models import Agent, AgentStateSpan, Call, CallEvent
from kefu.core import clock
from kefu.customers.contacts.models import ContactRecord
from tests.api.callcenter.conftest import CALLER, T0

ANSWERED = [
    (
        "new_call",
        0,
        {"direction": "in", "from": CALLER, "to": "95105", "ivr": {"menu": "1-2", "account": "A001"}},
    ),
    ("queued", 20, {"queue": "hotline"}),
    ("ringing", 35, {"agent": "8001"}),
    ("answer", 41, {"agent": "8001"}),
    ("hold", 100, {"agent": "8001"}),
    ("unhold", 130, {"agent": "8001"}),
    ("hangup", 341, {"cause": "normalClearing"}),
]


def replay(cc, call_id, sequence):
    return [cc.event(kind, call_id, at, **fields) for kind, at, fields in sequence]


def spans(cc, login):
    rows = cc.session.scalars(
        select(AgentStateSpan).where(AgentStateSpan.user_id == login.user.id).order_by(AgentStateSpan.id)
    )
    return [(r.state, int((r.started_at - T0).total_seconds())) for r in rows]


def facts(call):
    return {
        "state": call["state"],
        "outcome": call["outcome"],
        "agent_id": call["agent_id"],
        "answered_at": call["answered_at"],
        "ended_at": call["ended_at"],
        "wait_seconds": call["wait_seconds"],
        "talk_seconds": call["talk_seconds"],
        "hold_seconds": call["hold_seconds"],
        "customer_id": call["customer_id"],
        "ivr": call["ivr"],
        "transfers": call["transfers"],
    }


def test_an_answered_call_builds_the_call_the_contact_and_the_agent_states(cc):
    with clock.freeze(T0):
        cc.ready(cc.alice)
    results = replay(cc, "c-1", ANSWERED)
    call = results[-1]["call"]
    assert call["state"] == "ended" and call["outcome"] == "answered"
    assert call["customer_id"] == cc.customer_id  # the caller's number names the customer
    assert call["queue_id"] == cc.queue.id and call["agent_id"] == cc.alice.user.id
    assert call["wait_seconds"] == 21  # queued at 20 s, answered at 41 s
    assert call["hold_seconds"] == 30 and call["talk_seconds"] == 341 - 41 - 30
    assert call["ivr"] == {"menu": "1-2", "account": "A001"}
    record = cc.session.get(ContactRecord, call["contact_id"])
    assert record.customer_id == cc.customer_id and record.agent_id == cc.alice.user.id
    assert record.channel == "phone" and record.direction == "inbound" and record.duration_seconds == 341
    assert record.department_id == cc.north.id
    assert spans(cc, cc.alice) == [
        ("not_ready", 0),
        ("ready", 0),
        ("ringing", 35),
        ("talking", 41),
        ("wrap_up", 341),
    ]
    agent = cc.session.get(Agent, cc.alice.user.id)
    assert agent.wrap_up_until == T0 + timedelta(seconds=341 + 20)  # the queue's wrap-up time
    # The wrap-up ends by itself: reading the state after it makes the agent ready from that moment.
    with clock.freeze(T0 + timedelta(seconds=400)):
        state = cc.call("GET", "/agent", cc.alice)
    assert state["state"] == "ready" and state["since"].startswith(
        (T0 + timedelta(seconds=361)).isoformat()[:19]
    )


def test_a_caller_who_gives_up_in_the_queue_is_an_abandoned_call(cc):
    with clock.freeze(T0):
        cc.ready(cc.alice)
    replay(
        cc,
        "c-2",
        [
            ("new_call", 0, {"direction": "in", "from": "02087654321", "to": "95105"}),
            ("queued", 15, {"queue": "hotline"}),
            ("ringing", 30, {"agent": "8001"}),
            ("hangup", 52, {"cause": "cancel"}),
        ],
    )
    call = cc.session.scalars(select(Call).where(Call.call_id == "c-2")).one()
    assert call.outcome == "abandoned" and call.wait_seconds == 37 and call.talk_seconds is None
    assert call.customer_id is None and call.agent_id is None
    record = cc.session.get(ContactRecord, call.contact_id)
    assert record.agent_id is None and record.summary == "abandoned" and record.remote_key == "+862087654321"
    # The agent it rang at is ready again, without a wrap-up.
    assert spans(cc, cc.alice)[-2:] == [("ringing", 30), ("ready", 52)]


def test_calls_that_never_reach_an_agent_and_unanswered_outbound_calls(cc):
    replay(cc, "ivr-only", [("new_call", 0, {"from": CALLER}), ("hangup", 60, {})])
    replay(
        cc,
        "no-agent",
        [
            ("new_call", 0, {"from": CALLER}),
            ("queued", 5, {"queue": "hotline"}),
            ("hangup", 300, {"cause": "noAnswer"}),
        ],
    )
    replay(
        cc,
        "out",
        [
            ("new_call", 0, {"direction": "out", "from": "8001", "to": CALLER}),
            ("hangup", 30, {"cause": "busy"}),
        ],
    )
    outcomes = dict(cc.session.execute(select(Call.call_id, Call.outcome)).all())
    assert outcomes == {"ivr-only": "ivr", "no-agent": "missed", "out": "unanswered"}
    out = cc.session.scalars(select(Call).where(Call.call_id == "out")).one()
    assert out.customer_id == cc.customer_id  # outbound: the called number is the customer's


def test_a_transferred_call_ends_with_the_receiving_agent(cc):
    with clock.freeze(T0):
        cc.ready(cc.alice)
        cc.ready(cc.bob)
    replay(
        cc,
        "c-3",
        [
            ("new_call", 0, {"from": CALLER, "queue": "hotline"}),
            ("ringing", 10, {"agent": "8001"}),
            ("answer", 14, {"agent": "8001"}),
            ("transfer", 120, {"agent": "8001", "to_agent": "8002"}),
            ("answer", 126, {"agent": "8002"}),
            ("hangup", 400, {"cause": "normalClearing"}),
        ],
    )
    call = cc.session.scalars(select(Call).where(Call.call_id == "c-3")).one()
    assert call.agent_id == cc.bob.user.id and call.transfers == 1 and call.outcome == "answered"
    assert call.wait_seconds == 14 and call.talk_seconds == 386  # from the first answer
    assert spans(cc, cc.alice)[-3:] == [("ringing", 10), ("talking", 14), ("wrap_up", 120)]
    assert spans(cc, cc.bob)[-3:] == [("ringing", 120), ("talking", 126), ("wrap_up", 400)]
    record = cc.session.get(ContactRecord, call.contact_id)
    assert record.agent_id == cc.bob.user.id and record.duration_seconds == 400


def test_duplicated_events_change_nothing(cc):
    with clock.freeze(T0):
        cc.ready(cc.alice)
    first = replay(cc, "c-4", ANSWERED)
    again = replay(cc, "c-4", ANSWERED)
    assert not any(r["duplicate"] for r in first) and all(r["duplicate"] for r in again)
    assert facts(again[-1]["call"]) == facts(first[-1]["call"])
    assert cc.session.scalar(select(func.count()).select_from(CallEvent)) == len(ANSWERED)
    assert cc.session.scalar(select(func.count()).where(ContactRecord.call_id == "c-4")) == 1
    # With the PBX's own event ids, a replay is recognised even with a different body.
    cc.event("recording", "c-4", 342, event_id="rec-1", recording_url="https://pbx.example/r/1.wav")
    again = cc.event("recording", "c-4", 343, event_id="rec-1", recording_url="https://pbx.example/r/2.wav")
    assert again["duplicate"] and again["call"]["has_recording"]
    stored = cc.session.scalars(select(Call).where(Call.call_id == "c-4")).one()
    assert stored.recording_url == "https://pbx.example/r/1.wav"


def test_reordered_events_give_the_same_call(cc):
    with clock.freeze(T0):
        cc.ready(cc.alice)
    in_order = replay(cc, "ordered", ANSWERED)[-1]["call"]
    rng = random.Random(7)
    orders = [list(reversed(ANSWERED))] + [rng.sample(ANSWERED, len(ANSWERED)) for _ in range(4)]
    for n, order in enumerate(orders):
        shuffled = replay(cc, f"shuffled-{n}", order)[-1]["call"]
        assert facts(shuffled) == facts(in_order), order
    # The agent was on another call meanwhile: late events of those calls did not drag her back.
    agent = cc.session.get(Agent, cc.alice.user.id)
    assert agent.state in ("wrap_up", "ready")


def test_a_late_event_does_not_move_an_agent_who_has_moved_on(cc):
    with clock.freeze(T0):
        cc.ready(cc.alice)
    replay(
        cc,
        "now",
        [
            ("new_call", 100, {"from": CALLER}),
            ("ringing", 100, {"agent": "8001"}),
            ("answer", 105, {"agent": "8001"}),
        ],
    )
    cc.event("ringing", "earlier", 50, agent="8001", **{"from": "13900139000"})
    agent = cc.session.get(Agent, cc.alice.user.id)
    call = cc.session.scalars(select(Call).where(Call.call_id == "now")).one()
    assert agent.state == "talking" and agent.call_id == call.id


def test_an_agent_who_lets_a_call_ring_out_is_made_not_ready(cc):
    with clock.freeze(T0):
        cc.ready(cc.alice)
        cc.ready(cc.bob)
    replay(
        cc,
        "rona",
        [
            ("new_call", 0, {"from": CALLER, "queue": "hotline"}),
            ("ringing", 5, {"agent": "8001"}),
            ("no_answer", 20, {"agent": "8001"}),
            ("ringing", 20, {"agent": "8002"}),
            ("answer", 23, {"agent": "8002"}),
        ],
    )
    alice = cc.session.get(Agent, cc.alice.user.id)
    assert (alice.state, alice.reason) == ("not_ready", "no_answer")
    assert cc.session.get(Agent, cc.bob.user.id).state == "talking"


def test_group_ring_releases_the_others_when_one_answers(cc):
    with clock.freeze(T0):
        cc.ready(cc.alice)
        cc.ready(cc.bob)
    cc.event("new_call", "group", 0, agents=["8001", "8002"], **{"from": CALLER})
    assert {cc.session.get(Agent, u.user.id).state for u in (cc.alice, cc.bob)} == {"ringing"}
    cc.event("answer", "group", 8, agent="8002")
    assert cc.session.get(Agent, cc.alice.user.id).state == "ready"
    assert cc.session.get(Agent, cc.bob.user.id).state == "talking"


def test_bad_events_are_refused_naming_the_field_and_leave_nothing(cc):
    before = cc.session.scalar(select(func.count()).select_from(Call))
    r = cc.client.post(
        "/api/v1/callcenter/cti/events", json={"event": "explode", "call_id": ""}, headers=cc.pbx.headers
    )
    assert r.status_code == 422
    assert {tuple(d["loc"][-1:]) for d in r.json()["detail"]} >= {("event",), ("call_id",)}
    r = cc.client.post(
        "/api/v1/callcenter/cti/events",
        json={"event": "new_call", "call_id": "x", "ivr": {f"k{i}": i for i in range(41)}},
        headers=cc.pbx.headers,
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "ivr"
    assert cc.session.scalar(select(func.count()).select_from(Call)) == before


def test_only_the_pbx_integration_reports_events(cc):
    body = {"event": "new_call", "call_id": "nope", "from": CALLER}
    r = cc.client.post("/api/v1/callcenter/cti/events", json=body, headers=cc.alice.headers)
    assert r.status_code == 403
    r = cc.client.post("/api/v1/callcenter/cti/events", json=body)
    assert r.status_code == 401


def test_call_records_follow_the_data_scope(cc):
    with clock.freeze(T0):
        cc.ready(cc.alice)
    replay(cc, "scoped", ANSWERED)
    north = cc.call("GET", "/calls", cc.north_lead)
    assert [c["call_id"] for c in north] == ["scoped"]
    assert cc.call("GET", "/calls", cc.south_lead) == []
    call_pk = north[0]["id"]
    cc.call("GET", f"/calls/{call_pk}", cc.south_lead, expect=404)
    cc.call("GET", f"/calls/{call_pk}", cc.alice)  # she took it
    cc.call("GET", f"/calls/{call_pk}", cc.carol, expect=404)
    cc.call("GET", "/calls", cc.alice, expect=403)  # taking calls is not seeing the call records
    assert [c["call_id"] for c in cc.call("GET", "/calls", cc.north_lead, number="+8613800138000")] == [
        "scoped"
    ]
    assert cc.call("GET", "/calls", cc.north_lead, outcome="abandoned") == []


def test_unknown_queues_are_created_so_that_no_call_is_left_out(cc):
    cc.event("new_call", "q", 0, queue="billing", **{"from": CALLER})
    from kefu.callcenter.models import CallQueue

    queue = cc.session.scalars(select(CallQueue).where(CallQueue.code == "billing")).one()
    assert queue.name == "billing"
    assert cc.session.scalars(select(Call).where(Call.call_id == "q")).one().queue_id == queue.id


def test_every_event_order_of_a_short_call_gives_the_same_facts(cc):
    """All 24 orders of a four-event call."""
    sequence = ANSWERED[:2] + ANSWERED[3:4] + ANSWERED[-1:]
    expected = None
    for n, order in enumerate(itertools.permutations(sequence)):
        got = facts(replay(cc, f"perm-{n}", order)[-1]["call"])
        got.pop("agent_id")
        expected = expected or got
        assert got == expected, order
    assert expected["outcome"] == "answered" and expected["wait_seconds"] == 21


def test_finish_wrap_ups_makes_agents_ready(cc, session):
    with clock.freeze(T0):
        cc.ready(cc.alice)
    replay(cc, "w", ANSWERED)
    assert agents.finish_wrap_ups(session, T0 + timedelta(seconds=100)) == 0
    assert agents.finish_wrap_ups(session, T0 + timedelta(seconds=362)) == 1
    assert session.get(Agent, cc.alice.user.id).state == "ready"


def test_missed_and_abandoned_calls_belong_to_the_queue_or_the_ringing_department(cc):
    with clock.freeze(T0):
        cc.ready(cc.alice)
    replay(
        cc,
        "gave-up",
        [
            ("new_call", 0, {"direction": "in", "from": CALLER, "to": "95105"}),
            ("queued", 5, {"queue": "hotline"}),
            ("hangup", 20, {"cause": "cancel"}),
        ],
    )
    # No queue department: the department of the agent it rang at (Carol, in the south).
    replay(
        cc,
        "rang-out",
        [
            ("new_call", 100, {"direction": "in", "from": CALLER, "to": "95105"}),
            ("ringing", 101, {"agent": "8003"}),
            ("hangup", 130, {"cause": "noAnswer"}),
        ],
    )
    north = cc.call("GET", "/calls", cc.north_lead, outcome="abandoned")
    assert [c["call_id"] for c in north] == ["gave-up"]
    south = cc.call("GET", "/calls", cc.south_lead)
    assert [c["call_id"] for c in south] == ["rang-out"]
    record = cc.session.get(
        ContactRecord, cc.session.scalars(select(Call).where(Call.call_id == "gave-up")).one().contact_id
    )
    assert record.department_id == cc.north.id
