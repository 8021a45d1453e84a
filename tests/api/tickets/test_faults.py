"""Fault reports (TKT-14): dispatch rules, urgent SMS to the seniors on duty, knowledge suggestions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from kefu.core import clock
from kefu.messaging import dnd
from kefu.messaging.models import Message, Source
from kefu.org.calendar.models import RosterEntry, Shift
from kefu.tickets.fault_models import DispatchRule
from tests.api.tickets.conftest import Desk

ADMIN_RULES = ["tickets.config.view", "tickets.config.edit"]


def _fault(desk: Desk, area: str = "east", *, priority: str = "normal", **extra):
    return desk.register(
        subject="宽带无法上网",
        nature="fault",
        priority=priority,
        fields={"contact_phone": "13800138000", "area": area},
        **extra,
    )


def test_dispatch_rules_pick_the_department_in_order(desk: Desk):
    admin = desk.factory.token_login(desk.factory.user(ADMIN_RULES))
    rule = {"name": "东区故障", "sort": 10, "area": "east", "department_id": desk.other.id}
    made = desk.call("POST", "/dispatch-rules", admin, rule, expect=201)
    # A later rule in order never wins over an earlier one that matches.
    desk.call(
        "POST",
        "/dispatch-rules",
        admin,
        {"name": "其余", "sort": 20, "department_id": desk.back.id},
        expect=201,
    )
    east = _fault(desk, "east")
    assert east["department_id"] == desk.other.id
    assert east["handler_id"] == desk.o1.user.id  # the flow's assignment in that department
    assert any(e["action"] == "rule_dispatched" for e in east["log"])
    from tests.support import browser_login

    browser_login(desk.client, desk.leader.user.username)
    page = desk.client.get(f"/tickets/{east['id']}")
    assert "按规则派单" in page.text and ">rule_dispatched<" not in page.text  # the log speaks Chinese
    desk.client.cookies.clear()
    west = _fault(desk, "west")
    assert west["department_id"] == desk.back.id
    assert west["handler_id"] in (desk.h1.user.id, desk.h2.user.id)
    # A department named at registration is kept; other natures are not routed by fault rules.
    named = _fault(desk, "east", department_id=desk.back.id)
    assert named["department_id"] == desk.back.id
    inquiry = desk.register(nature="inquiry", fields={"contact_phone": "13800138000", "area": "east"})
    assert inquiry["department_id"] == desk.back.id
    # A disabled rule is skipped.
    desk.call("PUT", f"/dispatch-rules/{made['id']}", admin, {**rule, "enabled": False})
    assert _fault(desk, "east")["department_id"] == desk.back.id
    bad = desk.call("POST", "/dispatch-rules", admin, {"name": "", "department_id": 999999}, expect=422)
    assert {"name", "department_id"} <= {".".join(map(str, d["loc"][1:])) for d in bad["detail"]}
    assert [r["name"] for r in desk.call("GET", "/dispatch-rules", admin)] == ["东区故障", "其余"]
    desk.call("DELETE", f"/dispatch-rules/{made['id']}", admin, expect=204)
    desk.call("POST", "/dispatch-rules", desk.agent, rule, expect=403)


def test_rule_conditions_area_fault_type_and_tier():
    rule = DispatchRule(name="r", area="east", fault_type=None, customer_tier="vip", department_id=1)
    assert rule.matches({"area": "east", "fault_type": "BB-FAULT", "customer_tier": "vip"})
    assert not rule.matches({"area": "east", "fault_type": "BB-FAULT", "customer_tier": None})
    assert not rule.matches({"area": "west", "fault_type": None, "customer_tier": "vip"})
    typed = DispatchRule(name="t", fault_type="BB-FAULT", department_id=1)
    assert typed.matches({"area": None, "fault_type": "BB-FAULT", "customer_tier": None})
    assert not typed.matches({"area": None, "fault_type": "STB", "customer_tier": None})


def _on_duty(desk: Desk, day: date, *, mobile: str, senior: bool = True):
    perms = ["tickets.fault.senior"] if senior else ["tickets.ticket.handle"]
    user = desk.factory.user(perms, department=desk.back)
    user.mobile = mobile
    shift = desk.session.scalars(select(Shift).where(Shift.code == "DAY")).first()
    if shift is None:
        shift = Shift(code="DAY", name="白班", start="08:00", end="17:00")
        desk.session.add(shift)
        desk.session.flush()
    desk.session.add(RosterEntry(user_id=user.id, day=day, shift_id=shift.id))
    desk.session.flush()
    return user


def test_urgent_fault_sms_reaches_seniors_on_duty_despite_dnd(desk: Desk):
    local = datetime(2026, 3, 10, 10, 0, tzinfo=clock.local_tz())
    day = local.date()
    on_duty = _on_duty(desk, day, mobile="13911110001")
    _on_duty(desk, date(2026, 3, 11), mobile="13911110002")  # rostered tomorrow: not alerted
    _on_duty(desk, day, mobile="13911110003", senior=False)  # on duty, not a senior
    no_phone = _on_duty(desk, day, mobile="")  # a senior without a mobile is skipped
    assert no_phone.mobile == ""
    dnd.add(desk.session, desk.factory.actor(desk.factory.user(admin=True)), number="13911110001")
    with clock.freeze(local):
        normal = _fault(desk, priority="normal")
        urgent = _fault(desk, priority="urgent")
    sent = list(desk.session.scalars(select(Message).where(Message.ticket_id == urgent["id"])))
    assert [m.recipient_key for m in sent] == ["+8613911110001"]
    assert sent[0].source is Source.STAFF
    assert urgent["serial"] in sent[0].body
    assert any(e["action"] == "seniors_alerted" for e in urgent["log"])
    assert not list(desk.session.scalars(select(Message).where(Message.ticket_id == normal["id"])))
    assert on_duty.is_active
    # Outside the shift nobody is on duty: the urgent fault is registered all the same.
    with clock.freeze(datetime(2026, 3, 10, 20, 0, tzinfo=clock.local_tz())):
        late = _fault(desk, priority="urgent")
    assert not list(desk.session.scalars(select(Message).where(Message.ticket_id == late["id"])))


def test_knowledge_suggestions_need_the_right_to_register(desk: Desk):
    assert desk.call("GET", "/faults/suggestions?q=", desk.agent) == []
    found = desk.call("GET", "/faults/suggestions?q=光猫", desk.agent)
    assert isinstance(found, list)
    desk.call("GET", "/faults/suggestions?q=光猫", desk.h1, expect=403)


def test_form_elements_fill_the_searchable_codes(desk: Desk):
    from kefu.tickets.models import FormTemplate, TemplateStatus
    from tests.api.tickets.conftest import ELEMENTS

    codes = [
        {"code": "external_code", "label": "海事卫星编码", "type": "text", "max_length": 40},
        {"code": "terminal_no", "label": "终端号码", "type": "text", "max_length": 40},
    ]
    form = FormTemplate(
        code="inmarsat", name="卫星故障单", status=TemplateStatus.ACTIVE, elements=[*ELEMENTS, *codes]
    )
    desk.session.add(form)
    desk.session.flush()
    desk.ticket_type.form_template_id = form.id
    desk.session.flush()
    fields = {"contact_phone": "13800138000", "external_code": " 870776543210 ", "terminal_no": "T-0042"}
    made = desk.register(subject="卫星电话无法登网", nature="fault", fields=fields)
    read = desk.get(made["id"], desk.leader)
    assert (read["external_code"], read["terminal_no"]) == ("870776543210", "T-0042")
    found = desk.client.get(
        "/api/v1/tickets/search", params={"terminal_no": "T-0042"}, headers=desk.leader.headers
    ).json()
    assert [i["id"] for i in found["items"]] == [made["id"]]
