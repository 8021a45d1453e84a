"""Routing by kefu's ACD on the database (CC-2): each strategy against real rows, VIP callers ahead,
overflow and maximum wait by frozen clock, a ready agent taking the best waiting call, no agent
given two calls, the PBX's routing request, and queues the PBX routes left alone."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from kefu.callcenter import agents, control, routing
from kefu.callcenter.models import (
    Agent,
    AgentSkill,
    AgentState,
    Call,
    CallEvent,
    CallQueue,
    QueueMember,
    QueueSkill,
    Skill,
)
from kefu.core import clock
from kefu.customers.models import Customer
from kefu.db import make_engine
from kefu.migrate import upgrade
from tests.api.callcenter.conftest import CALLER, T0
from tests.support import Factory


@contextmanager
def at(seconds: float):
    with clock.freeze(T0 + timedelta(seconds=seconds)):
        yield


def event(cc, kind: str, call_id: str, seconds: float, **fields: Any) -> dict:
    with at(seconds):
        return cc.event(kind, call_id, seconds, **fields)["call"]


def ready(cc, who, seconds: float = 0, queue: CallQueue | None = None) -> None:
    with at(seconds):
        cc.call("POST", "/agent/login", who, {"queue_ids": [(queue or cc.queue).id]})
        cc.call("POST", "/agent/ready", who)


def kefu(queue: CallQueue, session: Session, **changes: Any) -> CallQueue:
    queue.routing = "kefu"
    for name, value in changes.items():
        setattr(queue, name, value)
    session.flush()
    return queue


def state(cc, who) -> tuple[str, int | None]:
    agent = cc.session.scalar(
        select(Agent).where(Agent.user_id == who.user.id).execution_options(populate_existing=True)
    )
    return agent.state, agent.call_id


def call_row(cc, call_id: str) -> Call:
    return cc.session.scalar(
        select(Call).where(Call.call_id == call_id).execution_options(populate_existing=True)
    )


def skill(cc, code: str, **levels: Any) -> Skill:
    row = Skill(code=code, name=code)
    cc.session.add(row)
    cc.session.flush()
    for login, level in levels.values():
        cc.session.add(AgentSkill(user_id=login.user.id, skill_id=row.id, level=level))
    cc.session.flush()
    return row


def second_queue(cc, code: str, members: list, **fields: Any) -> CallQueue:
    queue = CallQueue(code=code, name=code, **fields)
    cc.session.add(queue)
    cc.session.flush()
    cc.session.add_all(QueueMember(queue_id=queue.id, user_id=m.user.id) for m in members)
    cc.session.flush()
    return queue


# --- strategies -------------------------------------------------------------------------------------


def test_longest_idle_offers_the_call_to_the_agent_ready_longest(cc):
    kefu(cc.queue, cc.session)
    ready(cc, cc.bob, 0)
    ready(cc, cc.alice, 10)
    call = event(cc, "queued", "c-1", 20, queue="hotline", **{"from": CALLER})
    assert call["state"] == "ringing" and call["offered_to"] == [cc.bob.user.id]
    assert state(cc, cc.bob) == ("ringing", call["id"])
    assert state(cc, cc.alice) == ("ready", None)
    # The desk answers as usual (the simulated PBX reports it).
    with at(25):
        answered = cc.call("POST", f"/calls/{call['id']}/answer", cc.bob)
    assert answered["state"] == "talking" and answered["agent_id"] == cc.bob.user.id
    kinds = cc.session.scalars(
        select(CallEvent.kind).where(CallEvent.call_pk == call["id"]).order_by(CallEvent.id)
    ).all()
    assert kinds == ["queued", "ringing", "ringing", "answer"]  # kefu's offer, then the PBX's ring


def test_round_robin_takes_the_next_agent_after_the_last_one_served(cc):
    kefu(cc.queue, cc.session, strategy="round_robin")
    ready(cc, cc.alice, 0)
    ready(cc, cc.bob, 0)
    first, second = sorted([cc.alice, cc.bob], key=lambda a: a.user.id)
    rung = []
    for n in range(3):
        call = event(cc, "queued", f"rr-{n}", 10 + 10 * n, queue="hotline")
        rung.append(call["offered_to"][0])
        event(cc, "hangup", f"rr-{n}", 15 + 10 * n, cause="cancel")  # rang only: the agent is ready again
    assert rung == [first.user.id, second.user.id, first.user.id]


def test_fewest_calls_prefers_the_agent_who_answered_fewer_today(cc):
    kefu(cc.queue, cc.session, strategy="fewest_calls")
    ready(cc, cc.alice, 0)  # the longest idle, but with two calls answered today
    ready(cc, cc.bob, 5)
    for n in range(2):
        cc.session.add(
            Call(
                call_id=f"old-{n}",
                agent_id=cc.alice.user.id,
                started_at=T0 - timedelta(minutes=30),
                last_event_at=T0,
                state="ended",
            )
        )
    cc.session.flush()
    call = event(cc, "queued", "fc-1", 20, queue="hotline")
    assert call["offered_to"] == [cc.bob.user.id]


def test_skill_weighted_prefers_the_highest_levels_and_skilled_non_members_serve(cc):
    south = second_queue(cc, "south", [cc.carol])
    billing = skill(cc, "billing", a=(cc.carol, 9), b=(cc.bob, 5))
    kefu(cc.queue, cc.session, strategy="skill_weighted")
    cc.session.add(QueueSkill(queue_id=cc.queue.id, skill_id=billing.id, min_level=3))
    cc.session.flush()
    ready(cc, cc.alice, 0)  # a member without the skill: serves, with weight 0
    ready(cc, cc.bob, 5)
    ready(cc, cc.carol, 10, queue=south)  # not a member: serves by skill
    assert routing.ranked_agents(cc.session, cc.queue) == [cc.carol.user.id, cc.bob.user.id, cc.alice.user.id]
    call = event(cc, "queued", "sw-1", 20, queue="hotline")
    assert call["offered_to"] == [cc.carol.user.id]
    # Too low a level does not serve; a disabled skill requires nothing (members only).
    cc.session.get(QueueSkill, (cc.queue.id, billing.id)).min_level = 10
    cc.session.flush()
    assert cc.carol.user.id not in routing.ranked_agents(cc.session, cc.queue)


# --- waiting, priority, the ready agent ---------------------------------------------------------------


def test_vip_caller_is_served_ahead_and_the_ready_agent_takes_the_best_call(cc):
    kefu(cc.queue, cc.session, tier_priority={"vip": 10, "gold": 5})
    cc.session.get(Customer, cc.customer_id).tier = "vip"
    cc.session.flush()
    event(cc, "queued", "plain", 0, queue="hotline", **{"from": "13900139000"})
    event(cc, "queued", "gold", 3, queue="hotline", **{"from": "13700137000"})
    event(cc, "queued", "vip", 5, queue="hotline", **{"from": CALLER})
    cc.session.flush()
    call_row(cc, "gold").ivr = {"tier": "gold"}  # as a PBX passes it on its routing request
    cc.session.flush()
    waiting = routing.waiting_calls(cc.session, {cc.queue.id: cc.queue})
    assert [(w.call.call_id, w.priority) for w in waiting] == [("vip", 10), ("gold", 5), ("plain", 0)]
    ready(cc, cc.alice, 10)
    assert state(cc, cc.alice) == ("ringing", call_row(cc, "vip").id)
    ready(cc, cc.bob, 11)
    assert state(cc, cc.bob) == ("ringing", call_row(cc, "gold").id)
    assert call_row(cc, "plain").state == "queued"


def test_an_agent_back_from_wrap_up_takes_the_waiting_call(cc):
    kefu(cc.queue, cc.session)
    ready(cc, cc.alice, 0)
    event(cc, "queued", "w-1", 1, queue="hotline")
    event(cc, "answer", "w-1", 3, agent="8001")
    event(cc, "queued", "w-2", 4, queue="hotline")  # alice is busy: it waits
    assert call_row(cc, "w-2").state == "queued"
    event(cc, "hangup", "w-1", 60, cause="normalClearing")  # wrap-up of 20 s
    assert state(cc, cc.alice)[0] == "wrap_up"
    assert agents.finish_wrap_ups(cc.session, T0 + timedelta(seconds=79)) == 0
    with at(81):
        assert agents.finish_wrap_ups(cc.session) == 1
    assert state(cc, cc.alice) == ("ringing", call_row(cc, "w-2").id)


def test_an_agent_is_never_given_two_calls(cc):
    kefu(cc.queue, cc.session)
    ready(cc, cc.alice, 0)
    first = event(cc, "queued", "d-1", 1, queue="hotline")
    second = event(cc, "queued", "d-2", 1, queue="hotline")
    assert first["state"] == "ringing" and second["state"] == "queued"
    assert routing.offer_call(cc.session, call_row(cc, "d-2")) is None
    assert state(cc, cc.alice) == ("ringing", first["id"])
    # The one who let it ring out goes not ready; the call waits again for the next agent.
    event(cc, "no_answer", "d-1", 20, agent="8001")
    assert state(cc, cc.alice)[0] == "not_ready"
    ready(cc, cc.bob, 25)
    assert state(cc, cc.bob) == ("ringing", first["id"])  # both entered at 1 s: the lower id first


# --- deadlines ------------------------------------------------------------------------------------


def test_overflow_then_maximum_wait_by_frozen_clock(cc):
    vip = second_queue(cc, "vipline", [cc.bob], routing="kefu", max_wait_seconds=60)
    kefu(cc.queue, cc.session, overflow_after_seconds=30, overflow_queue_id=vip.id)
    event(cc, "queued", "o-1", 0, queue="hotline")
    with at(29):
        assert routing.tick(cc.session) == []
    with at(45):
        [moved] = routing.tick(cc.session)
        assert routing.tick(cc.session) == []  # once
    assert moved.kind == "overflow" and moved.at == T0 + timedelta(seconds=30)
    call = call_row(cc, "o-1")
    assert call.queue_id == vip.id and call.state == "queued"
    assert call.queued_at == T0  # the wait counts from the first queue
    overflow = cc.session.scalars(
        select(CallEvent)
        .where(CallEvent.call_pk == call.id, CallEvent.kind == "queued")
        .order_by(CallEvent.id)
    ).all()[-1]
    assert overflow.payload["overflow_from"] == "hotline" and overflow.occurred_at == T0 + timedelta(
        seconds=30
    )
    with at(59):
        assert routing.tick(cc.session) == []
    with at(70):
        [timed_out] = routing.tick(cc.session)
        assert routing.tick(cc.session) == []
    assert timed_out.kind == "timeout" and timed_out.at == T0 + timedelta(seconds=60)
    call = call_row(cc, "o-1")  # the simulated PBX played its message and hung up
    assert call.state == "ended" and call.outcome == "missed" and call.end_cause == "queue_timeout"
    assert call.wait_seconds == 70


def test_a_waiting_call_has_a_job_scheduled_at_its_next_deadline(cc):
    from datetime import UTC, datetime

    from kefu.callcenter.jobs import queue_deadline_due, queue_deadlines
    from kefu.core import jobs

    vip = second_queue(cc, "vipline", [cc.bob], routing="kefu", max_wait_seconds=60)
    kefu(cc.queue, cc.session, overflow_after_seconds=30, overflow_queue_id=vip.id)
    jobs.huey.flush()
    before = datetime.now(UTC).replace(tzinfo=None)  # Huey keeps naive UTC instants
    event(cc, "queued", "d-1", 0, queue="hotline")
    after = datetime.now(UTC).replace(tzinfo=None)
    [job] = jobs.huey.scheduled()
    assert job.name == queue_deadline_due.name
    assert before + timedelta(seconds=30) <= job.eta <= after + timedelta(seconds=30)
    with at(30):  # what the job does when it runs: the overflow, at its instant
        assert queue_deadlines() == 1
    assert call_row(cc, "d-1").queue_id == vip.id
    # In the overflow queue the call waits again: the next deadline (the maximum wait, counted from
    # the first queue) is scheduled in turn.
    scheduled = jobs.huey.scheduled()
    assert len(scheduled) == 2 and {t.name for t in scheduled} == {queue_deadline_due.name}
    jobs.huey.flush()


def test_overflow_into_a_queue_with_a_ready_agent_rings_at_once(cc):
    vip = second_queue(cc, "vipline", [cc.bob], routing="kefu")
    kefu(cc.queue, cc.session, overflow_after_seconds=30, overflow_queue_id=vip.id)
    ready(cc, cc.bob, 0, queue=vip)
    event(cc, "queued", "o-2", 1, queue="hotline")
    assert call_row(cc, "o-2").state == "queued"  # bob does not serve the hotline
    with at(40):
        routing.tick(cc.session)
    assert state(cc, cc.bob) == ("ringing", call_row(cc, "o-2").id)


def test_without_an_adapter_the_pbx_learns_the_time_out_on_its_request(cc, monkeypatch):
    monkeypatch.setattr(control, "adapter", lambda: control.NoAdapter())
    kefu(cc.queue, cc.session, max_wait_seconds=30)
    with at(0):
        first = cc.call("POST", "/route", cc.pbx, {"call_id": "t-1", "queue": "hotline", "from": CALLER})
    assert first["wait"] is True and first["position"] == 1 and first["timed_out"] is False
    with at(31):
        again = cc.call("POST", "/route", cc.pbx, {"call_id": "t-1", "queue": "hotline"})
    assert again["timed_out"] is True and again["wait"] is False
    ready(cc, cc.alice, 32)
    assert state(cc, cc.alice) == ("ready", None)  # a timed-out call is offered to nobody
    call = event(cc, "hangup", "t-1", 35, cause="cancel")
    assert call["outcome"] == "abandoned"


# --- the PBX asks ---------------------------------------------------------------------------------


def test_route_endpoint_for_a_pbx_that_delegates(cc, monkeypatch):
    monkeypatch.setattr(control, "adapter", lambda: control.NoAdapter())
    kefu(cc.queue, cc.session)
    ready(cc, cc.alice, 0)
    with at(5):
        got = cc.call("POST", "/route", cc.pbx, {"call_id": "r-1", "queue": "hotline", "from": CALLER})
        assert got["agent_id"] == cc.alice.user.id and got["extension"] == "8001" and got["wait"] is False
        again = cc.call("POST", "/route", cc.pbx, {"call_id": "r-1", "queue": "hotline"})
        assert again["agent_id"] == cc.alice.user.id  # idempotent
        waits = cc.call("POST", "/route", cc.pbx, {"call_id": "r-2", "queue": "hotline", "tier": "vip"})
    assert waits["wait"] is True and waits["agent_id"] is None and waits["position"] == 1
    assert waits["estimated_wait_seconds"] > 0
    call = call_row(cc, "r-1")
    assert call.state == "ringing" and call.customer_id == cc.customer_id
    assert state(cc, cc.alice) == ("ringing", call.id)
    # The PBX reports its ringing and the answer as usual.
    event(cc, "ringing", "r-1", 6, agent="8001")
    assert event(cc, "answer", "r-1", 8, agent="8001")["agent_id"] == cc.alice.user.id
    # Agents may not ask; a queue the PBX routes and an unknown queue are refused.
    cc.call("POST", "/route", cc.alice, {"call_id": "r-3", "queue": "hotline"}, expect=403)
    other = second_queue(cc, "pbxq", [])
    r = cc.client.post(
        "/api/v1/callcenter/route", json={"call_id": "r-4", "queue": other.code}, headers=cc.pbx.headers
    )
    assert r.status_code == 409
    r = cc.client.post(
        "/api/v1/callcenter/route", json={"call_id": "r-5", "queue": "nope"}, headers=cc.pbx.headers
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "queue"


def test_a_queue_the_pbx_routes_is_left_to_the_pbx(cc):
    vip = second_queue(cc, "vipline", [cc.bob])
    cc.queue.overflow_after_seconds, cc.queue.overflow_queue_id = 10, vip.id
    cc.session.flush()
    ready(cc, cc.alice, 0)
    call = event(cc, "queued", "p-1", 1, queue="hotline")
    assert call["state"] == "queued" and call["offered_to"] == []
    assert state(cc, cc.alice) == ("ready", None)
    ready(cc, cc.bob, 2)
    assert state(cc, cc.bob) == ("ready", None)
    with at(100):
        assert routing.tick(cc.session) == []
    assert call_row(cc, "p-1").queue_id == cc.queue.id


# --- concurrency (PostgreSQL: separate connections) ---------------------------------------------------

N = 8


@pytest.fixture
def pg(request: pytest.FixtureRequest) -> Any:
    if request.config.getoption("--db") != "postgres":
        pytest.skip("separate connections with row locks: PostgreSQL only")
    url = request.getfixturevalue("fresh_pg_url")
    migrating = make_engine(url)
    upgrade(migrating)
    migrating.dispose()
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), pool_size=N + 2)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def test_requests_at_once_give_one_agent_one_call(pg, monkeypatch):
    monkeypatch.setattr(control, "adapter", lambda: control.NoAdapter())
    with pg() as s:
        factory = Factory(s)
        users = [factory.user(["callcenter.agent.use"]) for _ in range(2)]
        queue = CallQueue(code="hot", name="hot", routing="kefu")
        s.add(queue)
        s.flush()
        for n, user in enumerate(users):
            s.add(QueueMember(queue_id=queue.id, user_id=user.id))
            ready = Agent(
                user_id=user.id, state=AgentState.READY.value, since=clock.now(), extension=f"70{n}"
            )
            ready.queue_ids = [queue.id]
            s.add(ready)
        s.commit()
    loaded = threading.Barrier(N)
    results: list[Any] = [None] * N

    def worker(i: int) -> None:
        with pg() as s:
            s.scalars(select(Agent)).all()  # every worker has seen both agents ready
            loaded.wait(timeout=60)
            decision = routing.route(s, call_id=f"at-once-{i}", queue_code="hot")
            s.commit()
            results[i] = decision.agent_id

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    given = [r for r in results if r is not None]
    assert sorted(given) == sorted(u.id for u in users)  # each agent once, the others wait
    with pg() as s:
        rows = s.scalars(select(Agent)).all()
        assert all(a.state == "ringing" for a in rows)
        assert len({a.call_id for a in rows}) == 2
