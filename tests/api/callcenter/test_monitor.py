"""Monitoring (CC-6) and the wallboard (CC-7): queues and agents as CTI events left them at a known
moment — calls waiting and for how long, agents by state with reason and current call, today's
calls and service level, calls per half hour — within the supervisor's scope; pages and the
supervisors' event stream."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from kefu.callcenter import monitor_api
from kefu.callcenter.models import CallQueue, QueueMember
from kefu.core import clock, events
from kefu.org.models import DataScope
from tests.api.callcenter.conftest import CALLER, T0
from tests.api.callcenter.test_cti import ANSWERED, replay
from tests.support import browser_login

NOW = T0 + timedelta(seconds=1200)  # 09:20 in Shanghai


def at(seconds):
    return (T0 + timedelta(seconds=seconds)).isoformat()


@pytest.fixture
def floor(cc):
    """At 09:20: alice talks since 09:16:50, bob is at his meal, two callers wait in the hotline
    (since 09:18:20 and 09:19:10); carol, in the south, wrapped up and is ready, one caller waits
    there. Earlier: one answered and one abandoned call in the hotline."""
    south = CallQueue(code="south", name="南区热线", department_id=cc.south.id, wrap_up_seconds=20)
    cc.session.add(south)
    cc.session.flush()
    cc.session.add(QueueMember(queue_id=south.id, user_id=cc.carol.user.id))
    cc.session.flush()
    with clock.freeze(T0):
        cc.ready(cc.alice)
        cc.ready(cc.bob)
        cc.call("POST", "/agent/login", cc.carol, {"queue_ids": [south.id]})
        cc.call("POST", "/agent/ready", cc.carol)
    replay(cc, "done", ANSWERED)  # wait 21 s, talk 270 s, hold 30 s, wrap-up 20 s
    replay(
        cc,
        "gave-up",
        [
            ("new_call", 400, {"from": "02087654321", "queue": "hotline"}),
            ("hangup", 420, {"cause": "cancel"}),
        ],
    )
    replay(
        cc,
        "talking",
        [
            ("new_call", 1000, {"from": CALLER, "queue": "hotline"}),
            ("ringing", 1005, {"agent": "8001"}),
            ("answer", 1010, {"agent": "8001"}),
        ],
    )
    with clock.freeze(T0 + timedelta(seconds=1050)):
        cc.call("POST", "/agent/not-ready", cc.bob, {"reason": "meal"})
    replay(cc, "wait-1", [("new_call", 1100, {"from": "13900001111", "queue": "hotline"})])
    replay(cc, "wait-2", [("new_call", 1150, {"from": "13900002222", "queue": "hotline"})])
    replay(
        cc,
        "south-done",
        [
            ("new_call", 900, {"from": CALLER, "queue": "south"}),
            ("ringing", 905, {"agent": "8003"}),
            ("answer", 910, {"agent": "8003"}),
            ("hangup", 1150, {"cause": "normalClearing"}),  # carol wraps up until 1170
        ],
    )
    replay(cc, "south-wait", [("new_call", 1180, {"from": "13900003333", "queue": "south"})])
    cc.south_queue = south
    cc.boss = cc.factory.token_login(cc.factory.user(["callcenter.monitor.view"], scope=DataScope.ALL))
    return cc


def look(cc, who, path="/monitor", expect=200, **params):
    with clock.freeze(NOW):
        return cc.call("GET", path, who, expect=expect, **params)


def test_a_department_lead_sees_the_queues_and_agents_of_the_department(floor):
    got = look(floor, floor.north_lead)
    assert [q["code"] for q in got["queues"]] == ["hotline"]
    hotline = got["queues"][0]
    assert hotline["waiting"] == 2 and hotline["longest_wait_seconds"] == 100
    assert hotline["oldest_waiting_since"].startswith(at(1100)[:19])
    assert hotline["agents"] == {"ready": 0, "not_ready": 1, "ringing": 0, "talking": 1, "wrap_up": 0}
    today = hotline["today"]
    assert (today["offered"], today["answered"], today["abandoned"], today["inbound"]) == (2, 1, 1, 5)
    assert today["service_level"] == 0.0  # 21 s against the queue's 20 s
    assert today["avg_handle"] == 320.0 and today["avg_wait"] == 20.5  # (21 + 20) / 2
    assert got["waiting"] == 2 and got["longest_wait_seconds"] == 100
    assert got["agent_states"] == {"ready": 0, "not_ready": 1, "ringing": 0, "talking": 1, "wrap_up": 0}
    agents = {a["user_id"]: a for a in got["agents"]}
    assert set(agents) == {floor.alice.user.id, floor.bob.user.id}
    alice, bob = agents[floor.alice.user.id], agents[floor.bob.user.id]
    assert alice["state"] == "talking" and alice["since"].startswith(at(1010)[:19])
    assert alice["call"]["number"] == CALLER and alice["call"]["queue_name"] == "服务热线"
    assert alice["call"]["state"] == "talking" and alice["call"]["since"].startswith(at(1010)[:19])
    assert alice["calls_today"] == 2 and alice["extension"] == "8001"
    assert alice["department_name"] == "北区客服" and alice["queue_names"] == ["服务热线"]
    assert bob["state"] == "not_ready" and bob["reason"] == "meal" and bob["reason_label"] == "就餐"
    assert bob["since"].startswith(at(1050)[:19]) and bob["call"] is None and bob["calls_today"] == 0


def test_the_south_lead_sees_the_south_and_its_finished_wrap_up(floor):
    got = look(floor, floor.south_lead)
    assert [q["code"] for q in got["queues"]] == ["south"]
    assert got["queues"][0]["waiting"] == 1 and got["queues"][0]["longest_wait_seconds"] == 20
    [carol] = got["agents"]
    # Her wrap-up ended at 09:19:30: the monitor shows her ready since then.
    assert carol["user_id"] == floor.carol.user.id and carol["state"] == "ready"
    assert carol["since"].startswith(at(1170)[:19]) and carol["calls_today"] == 1


def test_all_or_one_queue_or_one_department(floor):
    everything = look(floor, floor.boss)
    assert {q["code"] for q in everything["queues"]} == {"hotline", "south"}
    assert everything["waiting"] == 3 and len(everything["agents"]) == 3
    one = look(floor, floor.boss, queue_id=floor.south_queue.id)
    assert [q["code"] for q in one["queues"]] == ["south"]
    assert [a["user_id"] for a in one["agents"]] == [floor.carol.user.id]
    north = look(floor, floor.boss, department_id=floor.north.id)
    assert [q["code"] for q in north["queues"]] == ["hotline"]
    assert {a["user_id"] for a in north["agents"]} == {floor.alice.user.id, floor.bob.user.id}
    # A queue outside one's scope is no filter value.
    r = floor.client.get(
        "/api/v1/callcenter/monitor",
        params={"queue_id": floor.south_queue.id},
        headers=floor.north_lead.headers,
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "queue_id"


def test_the_wallboard(floor):
    board = look(floor, floor.north_lead, "/wallboard")
    assert board["agent_states"] == {"ready": 0, "not_ready": 1, "ringing": 0, "talking": 1, "wrap_up": 0}
    assert board["waiting"] == 2 and board["longest_wait_seconds"] == 100
    today = board["today"]
    assert (today["offered"], today["answered"], today["abandoned"]) == (2, 1, 1)
    assert today["avg_talk"] == 270.0 and today["avg_handle"] == 320.0 and today["avg_wait"] == 20.5
    assert today["abandon_rate"] == 0.5 and today["service_level"] == 0.0
    assert board["service_level_target"] == 0.8  # the one queue the lead sees
    slots = board["slots"]
    assert len(slots) == 48 and slots[0]["label"] == "00:00" and slots[18]["label"] == "09:00"
    nine = slots[18]["figures"]
    assert (nine["inbound"], nine["offered"], nine["answered"], nine["abandoned"]) == (5, 2, 1, 1)
    assert all(s["figures"]["inbound"] == 0 for i, s in enumerate(slots) if i != 18)
    everything = look(floor, floor.boss, "/wallboard")
    assert everything["waiting"] == 3 and everything["today"]["answered"] == 2
    assert everything["agent_states"]["ready"] == 1
    assert everything["service_level_target"] is None  # two queues: no single target
    south = look(floor, floor.boss, "/wallboard", queue_id=floor.south_queue.id)
    assert south["waiting"] == 1 and south["today"]["answered"] == 1 and south["service_level_target"] == 0.8
    assert south["agent_states"]["ready"] == 1 and south["agent_states"]["talking"] == 0


def test_monitoring_needs_the_monitor_permission(floor):
    for path in ("/monitor", "/wallboard", "/monitor/stream"):
        floor.call("GET", path, floor.alice, expect=403)
        assert floor.client.get("/api/v1/callcenter" + path).status_code == 401
    calls_only = floor.factory.token_login(floor.factory.user(["callcenter.calls.view"]))
    floor.call("GET", "/monitor", calls_only, expect=403)


def test_the_monitor_and_wallboard_pages(floor):
    client = floor.client
    browser_login(client, floor.north_lead.user.username)
    with clock.freeze(NOW):
        page = client.get("/callcenter/monitor")
    assert page.status_code == 200 and 'hx-get="/callcenter/monitor/panel"' in page.text
    row = page.text.split('data-queue="hotline"')[1].split("</tr>")[0]
    assert "data-waiting>2<" in row and f'data-since="{at(1100)}' in row
    assert f'data-agent="{floor.bob.user.id}" data-state="not_ready"' in page.text
    assert 'data-reason="meal"' in page.text and "就餐" in page.text
    assert 'data-queue="south"' not in page.text
    with clock.freeze(NOW):
        panel = client.get(f"/callcenter/monitor/panel?department_id={floor.north.id}")
    assert panel.status_code == 200 and 'id="monitor-panel"' in panel.text and "<html" not in panel.text
    refused = client.get(f"/callcenter/monitor?queue_id={floor.south_queue.id}")
    assert refused.status_code == 422 and 'data-error-for="queue_id"' in refused.text
    board = client.get("/callcenter/wallboard")
    assert (
        board.status_code == 200 and 'id="chart-slots"' in board.text and 'data-bs-theme="dark"' in board.text
    )
    nav = client.get("/").text
    assert 'href="/callcenter/monitor"' in nav and 'href="/callcenter/wallboard"' in nav
    assert 'href="/callcenter/stats"' in nav
    client.cookies.clear()
    browser_login(client, floor.alice.user.username)
    for path in ("/callcenter/monitor", "/callcenter/monitor/panel", "/callcenter/wallboard"):
        assert client.get(path).status_code == 403
    assert 'href="/callcenter/monitor"' not in client.get("/").text


def test_the_stream_passes_on_call_and_agent_changes_only():
    async def source():
        for kind in ("call.updated", "notification", "agent.state", "call.ringing"):
            yield events.Event(type=kind, data={"secret": "not passed on"})

    async def collect():
        return [m async for m in monitor_api.changes(source())]

    assert asyncio.run(collect()) == [
        {"event": "changed", "data": "call.updated"},
        {"event": "changed", "data": "agent.state"},
    ]


def test_the_monitor_reads_a_fixed_number_of_queries(floor, engine):
    from sqlalchemy import event

    from tests.api.callcenter.conftest import AGENT

    def queries(path):
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            got = look(floor, floor.boss, path)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements), got

    look(floor, floor.boss)  # warm the process caches (the reasons' dictionary)
    few, got = queries("/monitor")
    assert len(got["agents"]) == 3
    for n in range(4):  # more agents, each on a call of their own
        user = floor.factory.user(AGENT, department=floor.north)
        user.phone_ext = f"86{n}"
        floor.session.add(QueueMember(queue_id=floor.queue.id, user_id=user.id))
        floor.session.flush()
        with clock.freeze(T0):
            floor.ready(floor.factory.token_login(user))
        replay(
            floor,
            f"extra-{n}",
            [
                ("new_call", 1000 + n, {"from": CALLER, "queue": "hotline"}),
                ("ringing", 1001 + n, {"agent": f"86{n}"}),
                ("answer", 1002 + n, {"agent": f"86{n}"}),
            ],
        )
    many, got = queries("/monitor")
    assert len(got["agents"]) == 7 and many == few
    board_few, _ = queries("/wallboard")
    assert board_few <= few
