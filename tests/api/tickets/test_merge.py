"""Merging tickets and splitting them back (案例合并, TKT-11) over HTTP: every log entry and file is
kept, contact links and trackings with their follow-ups move to the survivor and come back exactly,
the merged ticket's flow ends, people hear of it, and the refusals (rights, scope, cycles, states)."""

from __future__ import annotations

from sqlalchemy import func, select

from kefu.audit.models import AuditLog
from kefu.customers.contacts import service as contacts
from kefu.customers.contacts.models import ContactTicket
from kefu.notices.models import Notification
from kefu.org.models import DataScope
from kefu.tickets.merge_models import TicketMerge
from kefu.tickets.models import Ticket, TicketAttachment, TicketLog, TicketTracking, TrackingRecord
from kefu.workflow.runtime.models import ACTIVE_TASK, FlowTask
from tests.api.tickets.conftest import AGENT, API


def _upload(desk, ticket_id: int, who, name: str) -> int:
    r = desk.client.post(
        f"{API}/attachments",
        files={"file": (name, b"data of " + name.encode(), "text/plain")},
        data={"ticket_id": str(ticket_id)},
        headers=who.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _logs(session, ticket_id: int) -> list[int]:
    return list(
        session.scalars(select(TicketLog.id).where(TicketLog.ticket_id == ticket_id).order_by(TicketLog.id))
    )


def _files(session, ticket_id: int) -> set[int]:
    return set(session.scalars(select(TicketAttachment.id).where(TicketAttachment.ticket_id == ticket_id)))


def _contacts(session, ticket_id: int) -> set[int]:
    return set(session.scalars(select(ContactTicket.contact_id).where(ContactTicket.ticket_id == ticket_id)))


def _records(session, ticket_id: int) -> set[int]:
    stmt = (
        select(TrackingRecord.id)
        .join(TicketTracking, TicketTracking.id == TrackingRecord.tracking_id)
        .where(TicketTracking.ticket_id == ticket_id)
    )
    return set(session.scalars(stmt))


def _state(session, ids: list[int]) -> dict[int, tuple]:
    session.expire_all()
    return {
        i: (_logs(session, i), _files(session, i), _contacts(session, i), _records(session, i)) for i in ids
    }


def test_merge_and_split_back_keep_every_log_entry_and_file(desk, session):
    survivor = desk.register(subject="宽带无法上网", description="光猫红灯闪烁")
    dup = desk.register(subject="宽带又断了", description="光猫红灯，无法上网")
    # Files on both; a reply with a file on the duplicate (the file belongs to that log entry).
    _upload(desk, survivor["id"], desk.agent, "s.txt")
    _upload(desk, dup["id"], desk.agent, "d1.txt")
    _upload(desk, dup["id"], desk.agent, "d2.txt")
    handler = desk.h1 if dup["handler_id"] == desk.h1.user.id else desk.h2
    dup = desk.get(dup["id"], handler)
    dup = desk.act(dup, "reply", handler, {"comment": "已联系客户"})
    # Contact records: one on each, and one linked to both (it stays where it is on the duplicate).
    only_dup = contacts.record_contact(
        session, None, customer_id=None, channel="phone", direction="inbound", ticket_ids=[dup["id"]]
    )
    both = contacts.record_contact(
        session,
        None,
        customer_id=None,
        channel="phone",
        direction="inbound",
        ticket_ids=[dup["id"], survivor["id"]],
    )
    # Trackings: the agent follows both (their follow-ups join the survivor's tracking), the leader
    # follows only the duplicate (the tracking itself moves).
    for t in (survivor, dup):
        desk.call("POST", f"/{t['id']}/track", desk.agent)
    desk.call("POST", f"/{dup['id']}/follow-up", desk.agent, {"note": "客户仍无法上网", "result": "continue"})
    desk.call("POST", f"/{dup['id']}/track", desk.leader)
    desk.call("POST", f"/{dup['id']}/follow-up", desk.leader, {"note": "已催装维", "result": "continue"})
    session.flush()
    before = _state(session, [survivor["id"], dup["id"]])
    s_logs, s_files, s_contacts, s_records = before[survivor["id"]]
    d_logs, d_files, d_contacts, d_records = before[dup["id"]]
    assert len(d_files) == 2 and d_contacts == {only_dup.id, both.id} and len(d_records) == 2
    all_files = session.scalar(select(func.count(TicketAttachment.id)))
    all_logs = session.scalar(select(func.count(TicketLog.id)))

    last_note = session.scalar(select(func.max(Notification.id))) or 0
    survivor = desk.get(survivor["id"], desk.leader)
    merged = desk.call(
        "POST",
        f"/{survivor['id']}/merge",
        desk.leader,
        {"ticket_ids": [dup["id"]], "comment": "同一故障", "version": survivor["version"]},
    )
    assert merged["id"] == survivor["id"] and merged["status"] == "open"
    after = _state(session, [survivor["id"], dup["id"]])
    # The log stays: each side keeps every entry and gains one "merged" entry.
    assert (
        after[survivor["id"]][0][: len(s_logs)] == s_logs and len(after[survivor["id"]][0]) == len(s_logs) + 1
    )
    assert after[dup["id"]][0][: len(d_logs)] == d_logs and len(after[dup["id"]][0]) == len(d_logs) + 1
    assert session.scalar(select(func.count(TicketLog.id))) == all_logs + 2
    # Files, contacts and follow-ups move; none is lost or copied.
    assert after[survivor["id"]][1] == s_files | d_files and after[dup["id"]][1] == set()
    assert session.scalar(select(func.count(TicketAttachment.id))) == all_files
    assert after[survivor["id"]][2] == s_contacts | {only_dup.id, both.id}
    assert after[dup["id"]][2] == {both.id}  # already on the survivor: not moved
    assert after[survivor["id"]][3] == s_records | d_records and after[dup["id"]][3] == set()
    # The merged ticket: withdrawn as merged, pointing to the survivor, its open steps cancelled.
    gone = session.get(Ticket, dup["id"])
    assert (gone.status.value, gone.close_reason, gone.merged_into_id) == (
        "cancelled",
        "merged",
        survivor["id"],
    )
    open_steps = session.scalar(
        select(func.count(FlowTask.id)).where(
            FlowTask.instance_id == gone.flow_instance_id, FlowTask.status.in_(ACTIVE_TASK)
        )
    )
    assert open_steps == 0
    assert dup["id"] not in [x["id"] for x in desk.call("GET", "?box=todo", handler)]
    # Its handler heard of it; the audit has both sides.
    told = session.scalars(select(Notification).where(Notification.user_id == handler.user.id)).all()
    assert [n.title for n in told if n.id > last_note] == [f"工单 {dup['serial']} 已被合并到其他工单"]
    actions = set(session.scalars(select(AuditLog.action).where(AuditLog.action.like("ticket.merge%"))))
    assert {"ticket.merge", "ticket.merged"} <= actions
    history = desk.call("GET", f"/{dup['id']}/merges", desk.leader)
    assert [(h["survivor_id"], h["merged_id"], h["split_at"]) for h in history] == [
        (survivor["id"], dup["id"], None)
    ]
    # Files added to the survivor after the merge stay with it on split-back.
    later = _upload(desk, survivor["id"], desk.agent, "later.txt")

    split = desk.call("POST", f"/{dup['id']}/split", desk.leader, {"comment": "并非同一故障"})
    assert split["merged_into_id"] is None and split["status"] == "open" and split["close_reason"] is None
    assert split["handler_id"] in (desk.h1.user.id, desk.h2.user.id)  # a new run of the flow
    assert split["flow_instance_id"] != gone.flow_instance_id
    back = _state(session, [survivor["id"], dup["id"]])
    assert back[dup["id"]][1:] == (d_files, d_contacts, d_records)
    assert back[survivor["id"]][1:] == (s_files | {later}, s_contacts, s_records)
    # Every log entry is still where it was, plus "merged" and "split" on each side.
    for ticket_id, logs, extra in (
        (dup["id"], d_logs, 2),
        (survivor["id"], s_logs, 3),
    ):  # + later's "attached"
        assert back[ticket_id][0][: len(logs)] == logs and len(back[ticket_id][0]) == len(logs) + extra
    assert [e["action"] for e in desk.get(dup["id"], desk.leader)["log"]][-2:] == ["merged", "split"]
    assert [e["action"] for e in desk.get(survivor["id"], desk.leader)["log"]][-3:] == [
        "merged",
        "attached",
        "split",
    ]
    assert session.scalar(select(TicketMerge.split_at).where(TicketMerge.merged_id == dup["id"])) is not None


def test_merge_refusals(desk, session):
    a = desk.register(subject="机顶盒黑屏")
    b = desk.register(subject="机顶盒黑屏了")
    c = desk.register(subject="机顶盒无信号")
    # Without the manage right: 403; the survivor out of sight: 404.
    desk.call("POST", f"/{a['id']}/merge", desk.agent, {"ticket_ids": [b["id"]]}, expect=403)
    stranger = desk.factory.token_login(
        desk.factory.user(["tickets.ticket.manage"], scope=DataScope.OWN, department=desk.other)
    )
    desk.call("POST", f"/{a['id']}/merge", stranger, {"ticket_ids": [b["id"]]}, expect=404)
    # A ticket the leader cannot see (registered in another department) is unknown to them.
    outsider = desk.factory.token_login(desk.factory.user(AGENT, scope=DataScope.OWN, department=desk.other))
    far = desk.register(outsider, subject="机顶盒黑屏")
    r = desk.call("POST", f"/{a['id']}/merge", desk.leader, {"ticket_ids": [far["id"]]}, expect=422)
    assert [d["loc"] for d in r["detail"]] == [["body", "ticket_ids"]]
    r = desk.call("POST", f"/{a['id']}/merge", desk.leader, {"serials": [far["serial"]]}, expect=422)
    assert [d["loc"] for d in r["detail"]] == [["body", "serials"]]
    # Itself, nothing, a stale version.
    desk.call("POST", f"/{a['id']}/merge", desk.leader, {"ticket_ids": [a["id"]]}, expect=422)
    desk.call("POST", f"/{a['id']}/merge", desk.leader, {"ticket_ids": []}, expect=422)
    desk.call("POST", f"/{a['id']}/merge", desk.leader, {"ticket_ids": [b["id"]], "version": 1}, expect=409)
    # By serial number; then merging into the merged ticket, or the survivor back into it, is refused.
    desk.call("POST", f"/{a['id']}/merge", desk.leader, {"serials": [b["serial"]]})
    desk.call("POST", f"/{b['id']}/merge", desk.leader, {"ticket_ids": [c["id"]]}, expect=409)
    desk.call("POST", f"/{b['id']}/merge", desk.leader, {"ticket_ids": [a["id"]]}, expect=409)
    r = desk.call("POST", f"/{c['id']}/merge", desk.leader, {"ticket_ids": [b["id"]]}, expect=422)
    assert "already merged" in r["detail"][0]["msg"] or "已" in r["detail"][0]["msg"]
    # A ticket others are merged into is not folded into a third (no chains).
    desk.call("POST", f"/{c['id']}/merge", desk.leader, {"ticket_ids": [a["id"]]}, expect=422)
    # Nothing half-written: the refused calls left no merge rows.
    assert session.scalar(select(func.count(TicketMerge.id))) == 1
    # Split-back: only a merged ticket; the right is needed.
    desk.call("POST", f"/{a['id']}/split", desk.leader, {}, expect=409)
    desk.call("POST", f"/{b['id']}/split", desk.agent, {}, expect=403)
    desk.call("POST", f"/{b['id']}/split", desk.leader, {})
    desk.call("POST", f"/{b['id']}/split", desk.leader, {}, expect=409)


def test_a_closed_ticket_takes_no_merge(desk):
    a = desk.register(subject="话费查询")
    b = desk.register(subject="话费查询")
    a = desk.act(desk.get(a["id"], desk.leader), "cancel", desk.leader, {"comment": "客户撤销"})
    desk.call("POST", f"/{a['id']}/merge", desk.leader, {"ticket_ids": [b["id"]]}, expect=409)
    r = desk.call("POST", f"/{b['id']}/merge", desk.leader, {"ticket_ids": [a["id"]]}, expect=422)
    assert [d["loc"] for d in r["detail"]] == [["body", "ticket_ids"]]
