"""The agent's side (CC-3, CC-1): login to queues, ready / not ready, call controls through the
simulated PBX, the screen pop, a ticket registered from the call, and the Zammad-compatible endpoint."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from kefu.audit.models import AuditLog
from kefu.callcenter.models import Agent, Call
from kefu.core import clock
from kefu.customers.contacts.models import ContactRecord
from tests.api.callcenter.conftest import CALLER, T0


def test_login_ready_not_ready_and_logout(cc):
    me = cc.call("GET", "/agent", cc.alice)
    assert me["state"] == "offline"
    cc.call("POST", "/agent/ready", cc.alice, expect=409)  # not logged in
    me = cc.call("POST", "/agent/login", cc.alice, {})
    assert (me["state"], me["extension"], me["queue_ids"]) == ("not_ready", "8001", [cc.queue.id])
    me = cc.call("POST", "/agent/ready", cc.alice)
    assert me["state"] == "ready"
    r = cc.client.post("/api/v1/callcenter/agent/not-ready", json={"reason": "nap"}, headers=cc.alice.headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "reason"
    me = cc.call("POST", "/agent/not-ready", cc.alice, {"reason": "meal"})
    assert (me["state"], me["reason"]) == ("not_ready", "meal")
    me = cc.call("POST", "/agent/logout", cc.alice)
    assert me["state"] == "offline" and me["queue_ids"] == []
    actions = cc.session.scalars(
        select(AuditLog.action).where(AuditLog.actor_id == cc.alice.user.id, AuditLog.action.like("agent.%"))
    ).all()
    assert sorted(actions) == ["agent.login", "agent.logout", "agent.not_ready", "agent.ready"]


def test_login_is_refused_naming_the_field(cc):
    r = cc.client.post(
        "/api/v1/callcenter/agent/login", json={"queue_ids": [cc.queue.id]}, headers=cc.carol.headers
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "queue_ids"  # not a member
    cc.call("POST", "/agent/login", cc.alice, {})
    r = cc.client.post("/api/v1/callcenter/agent/login", json={"extension": "8001"}, headers=cc.bob.headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "extension"  # in use by Alice
    assert (
        cc.session.get(Agent, cc.bob.user.id) is None
        or cc.session.get(Agent, cc.bob.user.id).state == "offline"
    )
    r = cc.client.post("/api/v1/callcenter/agent/login", json={}, headers=cc.pbx.headers)
    assert r.status_code == 403  # no agent right


def test_controls_through_the_simulated_pbx(cc):
    with clock.freeze(T0):
        cc.ready(cc.alice)
        cc.ready(cc.bob)
        cc.event("new_call", "sim-1", 0, queue="hotline", **{"from": CALLER})
        cc.event("ringing", "sim-1", 0, agent="8001")
        call_pk = cc.session.scalars(select(Call.id).where(Call.call_id == "sim-1")).one()
        cc.call("POST", f"/calls/{call_pk}/answer", cc.bob, expect=404)  # not his call: unseen
        cc.call("POST", f"/calls/{call_pk}/hold", cc.alice, expect=409)  # not answered yet
    with clock.freeze(T0 + timedelta(seconds=5)):
        call = cc.call("POST", f"/calls/{call_pk}/answer", cc.alice)
        assert call["state"] == "talking" and call["agent_id"] == cc.alice.user.id
    with clock.freeze(T0 + timedelta(seconds=60)):
        assert cc.call("POST", f"/calls/{call_pk}/hold", cc.alice)["state"] == "held"
        cc.call("POST", f"/calls/{call_pk}/hold", cc.alice, expect=409)
    with clock.freeze(T0 + timedelta(seconds=75)):
        assert cc.call("POST", f"/calls/{call_pk}/unhold", cc.alice)["state"] == "talking"
    with clock.freeze(T0 + timedelta(seconds=80)):
        r = cc.client.post(f"/api/v1/callcenter/calls/{call_pk}/transfer", json={}, headers=cc.alice.headers)
        assert r.status_code == 422
        cc.call("POST", f"/calls/{call_pk}/transfer", cc.alice, {"to_agent_id": cc.bob.user.id})
        assert cc.session.get(Agent, cc.bob.user.id).state == "ringing"
        cc.call("POST", f"/calls/{call_pk}/answer", cc.bob)
    with clock.freeze(T0 + timedelta(seconds=200)):
        call = cc.call("POST", f"/calls/{call_pk}/hangup", cc.bob)
    assert call["outcome"] == "answered" and call["hold_seconds"] == 15 and call["transfers"] == 1
    assert call["talk_seconds"] == 200 - 5 - 15
    assert cc.session.get(Agent, cc.bob.user.id).state == "wrap_up"
    cc.call("POST", f"/calls/{call_pk}/hangup", cc.bob, expect=409)


def test_dial_out_and_hang_up(cc):
    with clock.freeze(T0):
        cc.ready(cc.alice)
        cc.call("POST", "/dial", cc.alice, {"number": "not a number"}, expect=422)
        call = cc.call("POST", "/dial", cc.alice, {"number": CALLER}, expect=201)
    assert (
        call["direction"] == "out" and call["to_number"] == CALLER and call["customer_id"] == cc.customer_id
    )
    assert cc.session.get(Agent, cc.alice.user.id).state == "ringing"
    cc.call("POST", "/dial", cc.alice, {"number": CALLER}, expect=409)  # already on a call
    with clock.freeze(T0 + timedelta(seconds=20)):
        done = cc.call("POST", f"/calls/{call['id']}/hangup", cc.alice)
    assert done["outcome"] == "unanswered"
    assert cc.session.get(Agent, cc.alice.user.id).state == "ready"


def test_screen_pop_of_a_known_and_an_unknown_caller(cc):
    with clock.freeze(T0):
        cc.ready(cc.alice)
    cc.event("new_call", "pop-1", 0, queue="hotline", ivr={"account": "A001"}, **{"from": CALLER})
    cc.event("ringing", "pop-1", 1, agent="8001")
    call_pk = cc.session.scalars(select(Call.id).where(Call.call_id == "pop-1")).one()
    pop = cc.call("GET", f"/calls/{call_pk}/pop", cc.alice)
    assert pop["customer"]["id"] == cc.customer_id and pop["customer"]["name"] == "王芳"
    assert pop["ivr"] == {"account": "A001"} and pop["queue"] == "服务热线"
    assert f"customer_id={cc.customer_id}" in pop["new_ticket_url"]
    cc.call("GET", f"/calls/{call_pk}/pop", cc.bob, expect=404)  # not his call
    cc.event("new_call", "pop-2", 10, **{"from": "13911112222"})
    cc.event("ringing", "pop-2", 10, agent="8002")
    other = cc.session.scalars(select(Call.id).where(Call.call_id == "pop-2")).one()
    pop = cc.call("GET", f"/calls/{other}/pop", cc.bob)
    assert pop["customer"] is None and pop["candidates"] == []
    assert "customer_phone=13911112222" in pop["new_ticket_url"]
    assert pop["new_customer_url"] == "/customers/new?phone=13911112222"


def test_a_blacklisted_caller_is_flagged_on_the_pop_and_counted_once_per_call(cc):
    from kefu.messaging import blacklist
    from kefu.messaging.models import BlacklistEntry, BlacklistLevel

    admin = cc.factory.actor(cc.factory.user(admin=True))
    entry = blacklist.add(
        cc.session, admin, number="139 1111 2222", reason="多次辱骂坐席", level=BlacklistLevel.FLAG
    )
    with clock.freeze(T0):
        cc.ready(cc.alice)
    cc.event("new_call", "bl-1", 0, **{"from": "13911112222"})
    cc.event("new_call", "bl-1", 0, **{"from": "13911112222"})  # a duplicate
    cc.event("ringing", "bl-1", 1, agent="8001")
    call_pk = cc.session.scalars(select(Call.id).where(Call.call_id == "bl-1")).one()
    pop = cc.call("GET", f"/calls/{call_pk}/pop", cc.alice)
    assert pop["blacklist"] == {"level": "flag", "reason": "多次辱骂坐席"}
    cc.session.expire_all()
    assert cc.session.get(BlacklistEntry, entry.id).hits == 1
    page = cc.client.get("/callcenter/desk/panel", headers=cc.alice.headers)
    assert 'id="pop-blacklist"' in page.text and "多次辱骂坐席" in page.text
    cc.event("new_call", "ok-1", 5, **{"from": CALLER})
    cc.event("ringing", "ok-1", 6, agent="8002")
    other = cc.session.scalars(select(Call.id).where(Call.call_id == "ok-1")).one()
    assert cc.call("GET", f"/calls/{other}/pop", cc.bob)["blacklist"] is None


def test_events_reach_the_ringing_agent_only(cc):
    from kefu.core import events

    with clock.freeze(T0):
        cc.ready(cc.alice)
    events.hub.published.clear()
    cc.event("new_call", "ev", 0, **{"from": CALLER})
    cc.event("ringing", "ev", 1, agent="8001")
    ringing = [e for e in events.hub.published if e.type == "call.ringing"]
    assert len(ringing) == 1 and ringing[0].audience == (cc.alice.user.id,)
    assert ringing[0].data["customer_id"] == cc.customer_id
    states = [e.data["state"] for e in events.hub.published if e.type == "agent.state"]
    assert states == ["ringing"]


def test_zammad_generic_cti_endpoint(cc):
    cc.alice.user.name = "李娜"
    cc.session.flush()
    with clock.freeze(T0):
        cc.ready(cc.alice)
    url = f"/api/v1/cti/{cc.pbx.token}"
    form = {
        "event": "newCall",
        "from": CALLER,
        "to": "95105",
        "direction": "in",
        "callId": "z-1",
        "user[]": "李娜",
    }
    with clock.freeze(T0 + timedelta(seconds=1)):
        r = cc.client.post(url, data=form)
        assert r.status_code == 200 and r.json() == {}
        assert cc.client.post(url, data=form).status_code == 200  # a duplicate: no change
    assert cc.session.get(Agent, cc.alice.user.id).state == "ringing"
    with clock.freeze(T0 + timedelta(seconds=6)):
        answer = {
            "event": "answer",
            "callId": "z-1",
            "from": CALLER,
            "to": "95105",
            "direction": "in",
            "answeringNumber": "8001",
        }
        assert cc.client.post(url, json=answer).status_code == 200
    with clock.freeze(T0 + timedelta(seconds=66)):
        hangup = {
            "event": "hangup",
            "callId": "z-1",
            "cause": "normalClearing",
            "from": CALLER,
            "to": "95105",
            "direction": "in",
        }
        assert cc.client.post(url, json=hangup).status_code == 200
    call = cc.session.scalars(select(Call).where(Call.call_id == "z-1")).one()
    assert (call.outcome, call.agent_id, call.talk_seconds) == ("answered", cc.alice.user.id, 60)
    assert (
        cc.session.scalar(
            select(func.count()).select_from(ContactRecord).where(ContactRecord.call_id == "z-1")
        )
        == 1
    )
    r = cc.client.post(url, json={"event": "dance", "callId": "z-2"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "event"
    assert cc.client.post("/api/v1/cti/not-a-token", json=hangup).status_code == 401
    assert cc.client.post(f"/api/v1/cti/{cc.alice.token}", json=hangup).status_code == 403


def test_the_event_stream_is_for_agents_only(cc):
    assert cc.client.get("/api/v1/callcenter/stream", headers=cc.pbx.headers).status_code == 403
    assert cc.client.get("/api/v1/callcenter/stream").status_code == 401
