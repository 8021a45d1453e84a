"""A ticket end to end over HTTP (TKT-4, TKT-5, TKT-7, TKT-8, TKT-9): registration from a case
template → auto dispatch to the handling department → transfer → hand-back → reply → complete →
review fail → re-complete → review pass → close, checking the processing log, the messages each
participant received, and the audit trail; then the lifecycle's refusals."""

from __future__ import annotations

import re

from sqlalchemy import select

from kefu.audit.models import AuditLog
from kefu.notices.models import Notification
from kefu.tickets.models import Ticket


def _inbox(session, login) -> list[str]:
    rows = session.scalars(
        select(Notification).where(Notification.user_id == login.user.id).order_by(Notification.id)
    )
    return [n.title for n in rows]


def test_ticket_walks_the_closed_loop(desk, session):
    # Registration from a case template: what the agent leaves empty comes from the template.
    t = desk.register(
        case_template_id=desk.case_template.id, subject="", fields={"contact_phone": "010-12345678"}
    )
    assert re.fullmatch(r"TS-\d{8}-000001", t["serial"])
    assert t["subject"] == "宽带无法上网" and t["priority"] == "urgent" and t["nature"] == "fault"
    assert t["fields"] == {"contact_phone": "010-12345678", "area": "east", "amount": None}
    # Auto dispatch to the handling department: the least loaded handler (ties: lowest id) has it.
    assert t["status"] == "open" and t["stage"] == "处理" and t["handler_id"] == desk.h1.user.id
    assert t["department_id"] == desk.back.id
    assert [x["id"] for x in desk.call("GET", "?box=todo", desk.h1)] == [t["id"]]
    assert desk.call("GET", "?box=created", desk.agent)[0]["id"] == t["id"]
    assert desk.call("GET", "/counts", desk.h1)["todo"] == 1
    codes = {a["code"] for a in desk.get(t["id"], desk.h1)["actions"]}
    assert {"accept", "complete", "reply", "transfer", "hand_back"} <= codes

    t = desk.act(t, "accept", desk.h1)
    # Transfer to another department; the field service's handler has it now.
    t = desk.act(t, "transfer", desk.h1, {"department_id": desk.other.id, "comment": "需上门处理"})
    assert t["handler_id"] == desk.o1.user.id and t["department_id"] == desk.other.id
    # Hand-back (退办) goes back to whoever transferred it.
    t = desk.act(t, "hand-back", desk.o1, {"comment": "非本区域"})
    assert t["handler_id"] == desk.h1.user.id
    # Reply: progress recorded, the registering agent hears of it, the ticket stays with the handler.
    t = desk.act(t, "reply", desk.h1, {"comment": "已联系客户，约定明天上门"})
    assert t["handler_id"] == desk.h1.user.id
    t = desk.act(t, "complete", desk.h1, {"state": "complete", "comment": "已更换光猫"})
    # Review by the agent's supervisor (the team leader): fail goes back to the same handler.
    assert t["stage"] == "审核" and t["handler_id"] == desk.leader.user.id
    t = desk.act(t, "complete", desk.leader, {"state": "fail", "comment": "未回复客户"})
    assert t["stage"] == "处理" and t["handler_id"] == desk.h1.user.id
    t = desk.act(t, "complete", desk.h1, {"state": "complete", "comment": "已回复客户"})
    t = desk.act(t, "complete", desk.leader, {"state": "pass"})
    # Close by the registering agent.
    assert t["stage"] == "关闭" and t["handler_id"] == desk.agent.user.id
    t = desk.act(t, "complete", desk.agent, {"state": "close", "comment": "客户确认已恢复"})
    assert t["status"] == "closed" and t["stage"] == "" and t["closed_at"] is not None
    assert t["actions"] == [] or {a["code"] for a in t["actions"]} <= {"reopen"}

    # The processing log tells the whole story in order.
    log = [(e["action"], e["node_name"], e["state"]) for e in t["log"]]
    assert log == [
        ("created", "", None),
        ("accepted", "处理", None),
        ("transferred", "处理", None),
        ("handed_back", "处理", None),
        ("replied", "处理", None),
        ("completed", "处理", "complete"),
        ("completed", "审核", "fail"),
        ("completed", "处理", "complete"),
        ("completed", "审核", "pass"),
        ("completed", "关闭", "close"),
    ]
    assert t["log"][2]["comment"] == "需上门处理"
    # Messages: each participant was told when the ticket came to them, linking to the ticket.
    serial = t["serial"]
    assert _inbox(session, desk.h1).count("新待办：处理") == 3  # dispatch, hand-back, review fail
    assert "新待办：处理" in _inbox(session, desk.o1)
    assert _inbox(session, desk.leader).count("新待办：审核") == 2
    assert "新待办：关闭" in _inbox(session, desk.agent)
    assert f"工单 {serial} 有新回复" in _inbox(session, desk.agent)
    links = set(session.scalars(select(Notification.link).where(Notification.kind == "workflow")))
    assert links == {f"/tickets/{t['id']}"}
    # The audit trail has every action.
    actions = list(
        session.scalars(
            select(AuditLog.action)
            .where(AuditLog.target_type == "ticket", AuditLog.target_id == str(t["id"]))
            .order_by(AuditLog.id)
        )
    )
    assert actions == [
        "ticket.create",
        "ticket.accept",
        "ticket.transfer",
        "ticket.hand_back",
        "ticket.reply",
        "ticket.complete",
        "ticket.complete",
        "ticket.complete",
        "ticket.complete",
        "ticket.complete",
    ]
    # Done box of the handler; the next ticket of the day gets the next serial.
    assert t["id"] in [x["id"] for x in desk.call("GET", "?box=done", desk.h1)]
    assert desk.register()["serial"].endswith("-000002")


def test_bad_registration_names_every_field_and_writes_nothing(desk, session):
    before = session.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1))
    bad = desk.register(
        expect=422,
        channel="pigeon",
        subject="",
        priority="whenever",
        customer_phone="12",
        fields={"contact_phone": "abc", "area": "north", "amount": "20000", "nope": 1},
    )
    fields = {tuple(d["loc"])[-1] for d in bad["detail"]}
    assert {
        "subject",
        "channel",
        "priority",
        "customer_phone",
        "fields.contact_phone",
        "fields.area",
        "fields.amount",
        "fields.nope",
    } <= fields
    assert session.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1)) == before
    # A required element left out.
    missing = desk.register(expect=422, fields={})
    assert ["body", "fields.contact_phone"] in [d["loc"] for d in missing["detail"]]


def test_stale_version_is_a_409_with_the_current_state(desk):
    t = desk.register()
    fresh = desk.act(t, "accept", desk.h1)
    stale = desk.act(t, "reply", desk.h1, {"comment": "x"}, expect=409)
    assert "处理" in stale["detail"]
    desk.act(fresh, "reply", desk.h1, {"comment": "x"})


def test_refusals_permissions_and_visibility(desk):
    t = desk.register()
    # Not with you: another candidate of the step cannot complete; an outsider cannot see it at all.
    desk.act(t, "complete", desk.h2, {"state": "complete"}, expect=403)
    desk.act(t, "complete", desk.o1, {"state": "complete"}, expect=404)
    # A state the step does not declare names the field.
    bad = desk.act(t, "complete", desk.h1, {"state": "pass"}, expect=422)
    assert bad["detail"][0]["loc"] == ["body", "state"]
    # Handlers cannot suspend; the leader (manage, department scope via the registering agent) can.
    desk.act(t, "suspend", desk.h1, {"comment": "等待配件"}, expect=403)
    no_reason = desk.act(t, "suspend", desk.leader, {"comment": ""}, expect=422)
    assert no_reason["detail"][0]["loc"] == ["body", "comment"]
    t = desk.act(t, "suspend", desk.leader, {"comment": "等待配件"})
    assert t["status"] == "suspended"
    desk.act(t, "complete", desk.h1, {"state": "complete"}, expect=409)
    t = desk.act(t, "resume", desk.leader, {"comment": "配件到货"})
    assert t["status"] == "open" and t["handler_id"] == desk.h1.user.id


def test_urge_tracking_cancel_and_reopen(desk, session):
    t = desk.register()
    t = desk.call("POST", f"/{t['id']}/urge", desk.agent, {"comment": "客户很着急"})
    t = desk.call("POST", f"/{t['id']}/urge", desk.agent, {"comment": "再次催促"})
    assert t["urge_count"] == 2
    assert _inbox(session, desk.h1).count(f"催办：工单 {t['serial']}") == 2
    # Tracking: follow, a follow-up that continues, one that resolves (tracking ends).
    t = desk.call("POST", f"/{t['id']}/track", desk.agent)
    desk.call("POST", f"/{t['id']}/track", desk.agent, expect=409)
    assert [x["id"] for x in desk.call("GET", "?box=tracked", desk.agent)] == [t["id"]]
    desk.call("POST", f"/{t['id']}/follow-up", desk.agent, {"note": "已催处理人", "result": "continue"})
    desk.call("POST", f"/{t['id']}/follow-up", desk.agent, {"note": "客户已满意", "result": "resolved"})
    assert desk.call("GET", "?box=tracked", desk.agent) == []
    # Withdraw and reopen.
    t = desk.get(t["id"], desk.leader)
    t = desk.act(t, "cancel", desk.leader, {"comment": "客户撤销"})
    assert t["status"] == "cancelled"
    desk.act(t, "reopen", desk.leader, {"comment": "x"}, expect=409)  # only closed tickets reopen
    desk.call("POST", f"/{t['id']}/urge", desk.agent, {"comment": "x"}, expect=409)
