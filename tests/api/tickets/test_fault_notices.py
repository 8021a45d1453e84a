"""Fault and cutover notices (NTC-3): CRUD, active by area and window, the customer text, the screen
pop, and fault reports in an affected area linked to the notice (TKT-14)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from kefu.audit.models import AuditLog
from kefu.callcenter import pop
from kefu.callcenter.models import Call
from kefu.core import clock
from kefu.tickets.fault_models import FaultNotice
from tests.api.tickets.conftest import Desk

MANAGER = ["tickets.notice.manage"]


def _notice(desk: Desk, who, **extra):
    now = clock.now()
    body = {
        "kind": "fault",
        "title": "东区光缆中断",
        "content": "东区主干光缆被挖断，抢修中；宽带及 IPTV 中断。",
        "public_text": "您所在区域网络正在抢修，预计今晚 20 点前恢复。",
        "areas": ["east"],
        "services": ["宽带", "IPTV"],
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=5)).isoformat(),
        "status": "published",
        **extra,
    }
    return desk.call("POST", "/fault-notices", who, body, expect=201)


def test_notice_crud_and_active_by_area_and_window(desk: Desk):
    manager = desk.factory.token_login(desk.factory.user(MANAGER))
    before = desk.session.scalar(select(func.count(AuditLog.id)))
    live = _notice(desk, manager)
    draft = _notice(desk, manager, title="草稿", status="draft")
    later = clock.now() + timedelta(days=2)
    _notice(
        desk,
        manager,
        title="割接",
        kind="cutover",
        starts_at=later.isoformat(),
        ends_at=(later + timedelta(hours=2)).isoformat(),
    )
    assert desk.session.scalar(select(func.count(AuditLog.id))) == before + 3
    active = desk.call("GET", "/fault-notices/active?area=east", desk.agent)
    assert [n["id"] for n in active] == [live["id"]]
    assert desk.call("GET", "/fault-notices/active?area=west", desk.agent) == []
    public = desk.call("GET", "/fault-notices/public?area=east", desk.agent)
    assert public == [
        {
            "id": live["id"],
            "kind": "fault",
            "text": "您所在区域网络正在抢修，预计今晚 20 点前恢复。",
            "ends_at": public[0]["ends_at"],
        }
    ]
    assert "content" not in public[0]  # staff-only details never reach the customer text
    # Publishing the draft makes it active; withdrawing the live one ends it.
    desk.call("PATCH", f"/fault-notices/{draft['id']}", manager, {"status": "published"})
    desk.call("PATCH", f"/fault-notices/{live['id']}", manager, {"status": "withdrawn"})
    assert [n["id"] for n in desk.call("GET", "/fault-notices/active?area=east", desk.agent)] == [draft["id"]]
    # Bad input names the field and writes nothing.
    count = desk.session.scalar(select(func.count(FaultNotice.id)))
    bad = desk.call(
        "POST", "/fault-notices", manager, {"title": "", "areas": [], "status": "published"}, expect=422
    )
    fields = {".".join(map(str, d["loc"][1:])) for d in bad["detail"]}
    assert {"title", "areas", "starts_at", "ends_at"} <= fields
    now = clock.now()
    wrong = desk.call(
        "POST",
        "/fault-notices",
        manager,
        {
            "title": "x",
            "areas": ["east"],
            "starts_at": now.isoformat(),
            "ends_at": (now - timedelta(hours=1)).isoformat(),
        },
        expect=422,
    )
    assert "ends_at" in {".".join(map(str, d["loc"][1:])) for d in wrong["detail"]}
    assert desk.session.scalar(select(func.count(FaultNotice.id))) == count
    # Only managers write; agents read the active ones but not the list.
    desk.call("POST", "/fault-notices", desk.agent, {"title": "x"}, expect=403)
    desk.call("GET", "/fault-notices", desk.agent, expect=403)
    assert len(desk.call("GET", "/fault-notices", manager)) == 3
    desk.call("DELETE", f"/fault-notices/{live['id']}", manager, expect=204)
    desk.call("GET", f"/fault-notices/{live['id']}", manager, expect=404)


def test_fault_report_in_an_area_with_an_active_notice_links_and_shows_it(desk: Desk):
    manager = desk.factory.token_login(desk.factory.user(MANAGER))
    notice = _notice(desk, manager)
    east = desk.register(
        subject="宽带断网", nature="fault", fields={"contact_phone": "13800138000", "area": "east"}
    )
    west = desk.register(
        subject="宽带断网", nature="fault", fields={"contact_phone": "13800138001", "area": "west"}
    )
    facts = desk.call("GET", f"/{east['id']}/facts", desk.agent)
    assert facts["area"] == "east"
    assert [n["id"] for n in facts["notices"]] == [notice["id"]]
    assert any(e["action"] == "notice_linked" for e in east["log"])
    assert desk.call("GET", f"/{west['id']}/facts", desk.agent)["notices"] == []
    assert desk.call("GET", f"/fault-notices/{notice['id']}", manager)["ticket_ids"] == [east["id"]]
    # The ticket page shows it (the detail loads the facts fragment).
    page = desk.client.get(f"/tickets/{east['id']}/facts", headers=desk.agent.headers)
    assert page.status_code == 200 and "东区光缆中断" in page.text
    # Not linked once the notice is over.
    with clock.freeze(clock.now() + timedelta(hours=6)):
        after = desk.register(
            subject="宽带断网", nature="fault", fields={"contact_phone": "13800138000", "area": "east"}
        )
    assert desk.call("GET", f"/{after['id']}/facts", desk.agent)["notices"] == []


def test_screen_pop_shows_the_notices_of_the_callers_area(desk: Desk):
    manager = desk.factory.token_login(desk.factory.user(MANAGER))
    notice = _notice(desk, manager)
    desk.register(customer_phone="13800138000", fields={"contact_phone": "13800138000", "area": "east"})
    actor = desk.factory.actor(desk.agent.user)
    known = Call(
        call_id="c-1",
        direction="in",
        from_number="13800138000",
        to_number="10086",
        started_at=clock.now(),
        last_event_at=clock.now(),
    )
    stranger = Call(
        call_id="c-2",
        direction="in",
        from_number="13900000000",
        to_number="10086",
        started_at=clock.now(),
        last_event_at=clock.now(),
    )
    by_ivr = Call(
        call_id="c-3",
        direction="in",
        from_number="13900000001",
        to_number="10086",
        started_at=clock.now(),
        last_event_at=clock.now(),
        ivr={"area": "east"},
    )
    desk.session.add_all([known, stranger, by_ivr])
    desk.session.flush()
    assert [n["id"] for n in pop.read(desk.session, actor, known).fault_notices] == [notice["id"]]
    assert pop.read(desk.session, actor, stranger).fault_notices == []
    assert [n["title"] for n in pop.read(desk.session, actor, by_ivr).fault_notices] == ["东区光缆中断"]
