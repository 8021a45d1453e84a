"""Business acceptance orders over HTTP (TKT-15): both payment variants step by step, the lock (a
second handler is refused with the holder's name), rejection and resubmission, unlocking, the order
following generic ticket actions, and every state change in the processing log and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from kefu.audit.models import AuditLog
from kefu.org.models import DataScope
from kefu.tickets.acceptance_flows import ensure_acceptance_types
from kefu.tickets.acceptance_hooks import TRANSITIONS
from kefu.tickets.acceptance_models import AcceptanceState
from kefu.tickets.models import TicketLog
from tests.api.tickets.conftest import Desk
from tests.support import Login

ACC = "/api/v1/tickets/acceptance"


@dataclass
class Orders:
    desk: Desk

    def call(self, method: str, path: str, who: Login, body: Any = None, *, expect: int = 200) -> Any:
        r = self.desk.client.request(method, ACC + path, json=body, headers=who.headers)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def create(self, who: Login | None = None, *, expect: int = 201, **body: Any) -> Any:
        data = {
            "payment_mode": "pay_first",
            "kind": "install",
            "customer_name": "王芳",
            "customer_phone": "13900139000",
            "address": "幸福路 8 号 3-201",
            "fee": "120.00",
            **body,
        }
        return self.call("POST", "", who or self.desk.agent, data, expect=expect)

    def act(
        self, order: dict, action: str, who: Login, body: dict | None = None, *, expect: int = 200
    ) -> Any:
        payload = {"version": order["version"], **(body or {})}
        return self.call("POST", f"/{order['ticket_id']}/{action}", who, payload, expect=expect)

    def get(self, order: dict, who: Login, *, expect: int = 200) -> Any:
        return self.call("GET", f"/{order['ticket_id']}", who, expect=expect)


@pytest.fixture
def orders(desk: Desk, factory) -> Orders:
    admin = factory.actor(factory.user(admin=True))
    ensure_acceptance_types(desk.session, actor=admin, department_id=desk.back.id)
    return Orders(desk)


def _transitions(session, ticket_id: int) -> list[tuple[str, str]]:
    rows = session.scalars(
        select(TicketLog).where(TicketLog.ticket_id == ticket_id, TicketLog.action.like("acceptance_%"))
    )
    return [(r.detail["from"], r.detail["to"]) for r in rows if "from" in r.detail]


def _legal(steps: list[tuple[str, str]]) -> None:
    for before, after in steps:
        assert AcceptanceState(after) in TRANSITIONS[AcceptanceState(before)], (before, after)


def test_pay_first_order_from_registration_to_done(orders, desk, session):
    o = orders.create(service_no="", appointment_date=None)
    assert o["serial"].startswith("BAP-") and o["payment_mode"] == "pay_first"
    assert o["subject"] == "报装 · 王芳" and o["kind_label"] == "报装"
    # 受理 → 缴费确认: the registering agent confirms the payment; handlers see nothing to do yet.
    assert o["state"] == "pending" and o["stage"] == "缴费确认" and o["actions"] == ["payment"]
    assert orders.get(o, desk.h1, expect=404)
    orders.act(o, "lock", desk.h1, expect=404)
    bad = orders.act(o, "payment", desk.agent, {"amount": "-1"}, expect=422)
    assert bad["detail"][0]["loc"] == ["body", "amount"]
    o = orders.act(o, "payment", desk.agent, {"amount": "120", "reference": "SJ-001"})
    assert o["paid_amount"] == "120.00" and o["payment_ref"] == "SJ-001" and o["paid_at"]
    assert o["payment_confirmed_by"] == desk.agent.user.name
    # → 业务办理: pending in the back office's pool; both handlers may lock it.
    assert o["state"] == "pending" and o["stage"] == "业务办理" and o["actions"] == []
    assert orders.get(o, desk.h1)["actions"] == ["lock"] == orders.get(o, desk.h2)["actions"]
    # Replying before locking is refused.
    pending = orders.get(o, desk.h1)
    orders.act(pending, "complete", desk.h1, {"reply": "已装"}, expect=409)
    o = orders.act(pending, "lock", desk.h1)
    assert o["state"] == "locked" and o["locked_by"] == desk.h1.user.name and o["locked_at"]
    assert set(o["actions"]) == {"complete", "reject", "unlock"}
    # A second handler is refused, naming who holds the lock — for the order's and the ticket's actions.
    refused = orders.act(o, "lock", desk.h2, expect=409)
    assert desk.h1.user.name in refused["detail"]
    refused = orders.act(o, "complete", desk.h2, {"reply": "x"}, expect=409)
    assert desk.h1.user.name in refused["detail"]
    t = desk.get(o["ticket_id"], desk.leader)
    task_id = next(a["task_id"] for a in t["actions"] if a["code"] == "dispatch")
    refused = desk.act(
        t, "dispatch", desk.leader, {"task_id": task_id, "user_id": desk.h2.user.id}, expect=409
    )
    assert desk.h1.user.name in refused["detail"]
    refused = desk.act(t, "suspend", desk.leader, {"comment": "暂停"}, expect=409)
    assert desk.h1.user.name in refused["detail"]
    # The holder replies with the back-office order number: done, the ticket closed, the lock gone.
    bad = orders.act(o, "complete", desk.h1, {"reply": " "}, expect=422)
    assert bad["detail"][0]["loc"] == ["body", "reply"]
    o = orders.act(o, "complete", desk.h1, {"reply": "已上门安装并开通", "business_ref": "BOSS-778899"})
    assert o["state"] == "done" and o["ticket_status"] == "closed" and o["locked_by_id"] is None
    assert o["reply"] == "已上门安装并开通" and o["business_ref"] == "BOSS-778899"
    assert o["replied_by"] == desk.h1.user.name and o["actions"] == []
    steps = _transitions(session, o["ticket_id"])
    assert steps == [("pending", "locked"), ("locked", "done")]
    _legal(steps)
    audited = session.scalars(
        select(AuditLog.action).where(
            AuditLog.target_type == "ticket", AuditLog.target_id == str(o["ticket_id"])
        )
    ).all()
    assert audited.count("ticket.acceptance_state") == 2
    assert {"ticket.acceptance_create", "ticket.acceptance_payment", "ticket.acceptance_reply"} <= set(
        audited
    )


def test_serve_first_handles_before_the_payment(orders, desk, session):
    o = orders.create(payment_mode="serve_first", kind="relocate", fee="80")
    assert o["serial"].startswith("BAS-") and o["stage"] == "业务办理" and o["state"] == "pending"
    # No payment before the service.
    assert "payment" not in orders.get(o, desk.agent)["actions"]
    orders.act(o, "payment", desk.agent, {"amount": "80"}, expect=409)
    o = orders.act(orders.get(o, desk.h2), "lock", desk.h2)
    o = orders.act(o, "complete", desk.h2, {"reply": "已移机"})
    # → 缴费确认 with the registering agent; the lock ended with the step.
    assert o["state"] == "pending" and o["stage"] == "缴费确认" and o["locked_by_id"] is None
    assert o["ticket_status"] == "open" and o["paid_at"] is None
    o = orders.act(orders.get(o, desk.agent), "payment", desk.agent, {"amount": "80.5", "reference": "POS-1"})
    assert o["state"] == "done" and o["paid_amount"] == "80.50" and o["ticket_status"] == "closed"
    steps = _transitions(session, o["ticket_id"])
    assert steps == [("pending", "locked"), ("locked", "pending"), ("pending", "done")]
    _legal(steps)


def test_rejection_and_resubmission(orders, desk, session):
    o = orders.create(payment_mode="serve_first", kind="install", address="旧地址")
    o = orders.act(orders.get(o, desk.h1), "lock", desk.h1)
    bad = orders.act(o, "reject", desk.h1, {"reason": ""}, expect=422)
    assert bad["detail"][0]["loc"] == ["body", "reason"]
    o = orders.act(o, "reject", desk.h1, {"reason": "地址不在覆盖范围，请核实"})
    assert (
        o["state"] == "rejected"
        and o["stage"] == "修改重报"
        and o["reject_reason"] == "地址不在覆盖范围，请核实"
    )
    assert o["rejected_by"] == desk.h1.user.name and o["locked_by_id"] is None
    # Only the registering agent corrects and resubmits.
    assert orders.get(o, desk.h1)["actions"] == []
    orders.act(o, "resubmit", desk.h1, expect=403)
    agent_view = orders.get(o, desk.agent)
    assert agent_view["actions"] == ["resubmit"]
    bad = orders.act(agent_view, "resubmit", desk.agent, {"kind": "nope"}, expect=422)
    assert bad["detail"][0]["loc"] == ["body", "kind"]
    o = orders.act(agent_view, "resubmit", desk.agent, {"address": "幸福路 8 号", "comment": "已核实地址"})
    assert o["state"] == "pending" and o["stage"] == "业务办理" and o["address"] == "幸福路 8 号"
    assert o["resubmit_count"] == 1
    # Back in the pool: the other handler can take it this time.
    o = orders.act(orders.get(o, desk.h2), "lock", desk.h2)
    assert o["state"] == "locked" and o["locked_by_id"] == desk.h2.user.id
    steps = _transitions(session, o["ticket_id"])
    assert steps == [
        ("pending", "locked"),
        ("locked", "rejected"),
        ("rejected", "pending"),
        ("pending", "locked"),
    ]
    _legal(steps)
    log = session.scalars(select(TicketLog).where(TicketLog.ticket_id == o["ticket_id"])).all()
    rejected = next(r for r in log if r.action == "acceptance_rejected")
    assert rejected.comment == "地址不在覆盖范围，请核实" and rejected.user_id == desk.h1.user.id


def test_unlock_by_the_holder_or_a_supervisor_with_a_reason(orders, desk, session):
    o = orders.create(payment_mode="serve_first")
    o = orders.act(orders.get(o, desk.h1), "lock", desk.h1)
    # The holder gives it back to the pool.
    o = orders.act(o, "unlock", desk.h1)
    assert o["state"] == "pending" and o["locked_by_id"] is None
    assert orders.get(o, desk.h1)["actions"] == ["lock"] and orders.get(o, desk.h2)["actions"] == ["lock"]
    o = orders.act(orders.get(o, desk.h2), "lock", desk.h2)
    # Another handler may not unlock it; the back office's supervisor may, giving a reason.
    orders.act(o, "unlock", desk.h1, expect=403)
    boss = desk.factory.user(
        ["tickets.ticket.view", "tickets.ticket.manage", "tickets.ticket.dispatch"],
        scope=DataScope.DEPARTMENT,
        department=desk.back,
    )
    supervisor = desk.factory.token_login(boss)
    assert orders.get(o, supervisor)["actions"] == ["unlock"]
    bad = orders.act(o, "unlock", supervisor, {"comment": ""}, expect=422)
    assert bad["detail"][0]["loc"] == ["body", "comment"]
    o = orders.act(o, "unlock", supervisor, {"comment": "处理人请假，改派"})
    assert o["state"] == "pending" and o["locked_by_id"] is None
    # Unlocked, the supervisor may dispatch it to a person: pending until they take it.
    t = desk.get(o["ticket_id"], supervisor)
    task_id = next(a["task_id"] for a in t["actions"] if a["code"] == "dispatch")
    desk.act(t, "dispatch", supervisor, {"task_id": task_id, "user_id": desk.h1.user.id})
    o = orders.get(o, desk.h1)
    assert o["state"] == "pending" and o["actions"] == ["lock"]
    o = orders.act(o, "lock", desk.h1)
    assert o["state"] == "locked"
    log = session.scalars(
        select(TicketLog).where(
            TicketLog.ticket_id == o["ticket_id"], TicketLog.action == "acceptance_unlocked"
        )
    ).all()
    assert [(r.user_id, r.comment) for r in log] == [(desk.h1.user.id, ""), (boss.id, "处理人请假，改派")]
    assert log[1].detail == {"user_id": desk.h2.user.id}
    _legal(_transitions(session, o["ticket_id"]))


def test_generic_ticket_actions_drive_the_order(orders, desk, session):
    """Accept (签收) is a lock; completing the steps from the ticket page records payment and reply;
    withdrawing the ticket cancels the order, reopening a done one makes it pending again."""
    o = orders.create(payment_mode="pay_first", fee="50")
    t = desk.get(o["ticket_id"], desk.agent)
    t = desk.act(t, "complete", desk.agent, {"state": "paid", "comment": "现金"})
    o = orders.get(o, desk.h1)
    assert o["paid_amount"] == "50.00" and o["payment_confirmed_by"] == desk.agent.user.name
    t = desk.get(o["ticket_id"], desk.h1)
    t = desk.act(t, "accept", desk.h1)
    o = orders.get(o, desk.h1)
    assert o["state"] == "locked" and o["locked_by_id"] == desk.h1.user.id
    t = desk.act(t, "complete", desk.h1, {"state": "done", "comment": "已开通"})
    o = orders.get(o, desk.agent)
    assert o["state"] == "done" and o["reply"] == "已开通"
    t = desk.get(o["ticket_id"], desk.leader)
    desk.act(t, "reopen", desk.leader, {"comment": "客户反映未开通"})
    o = orders.get(o, desk.leader)
    assert o["state"] == "pending" and o["stage"] == "缴费确认"
    t = desk.get(o["ticket_id"], desk.leader)
    desk.act(t, "cancel", desk.leader, {"comment": "客户撤销"})
    o = orders.get(o, desk.leader)
    assert o["state"] == "cancelled" and o["actions"] == []
    steps = _transitions(session, o["ticket_id"])
    assert steps == [("pending", "locked"), ("locked", "done"), ("done", "pending"), ("pending", "cancelled")]
    _legal(steps)


def test_bad_registration_names_every_field_and_writes_nothing(orders, desk, session):
    from kefu.tickets.acceptance_models import TicketAcceptance
    from kefu.tickets.models import Ticket

    before = (session.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1)),)
    bad = orders.create(
        kind="nope",
        customer_phone="",
        channel="pigeon",
        appointment_date="2001-01-01",
        appointment_window="midnight",
        expect=422,
    )
    assert {e["loc"][-1] for e in bad["detail"]} == {"appointment_window"}  # pydantic checks first
    bad = orders.create(
        kind="nope", customer_phone="", channel="pigeon", appointment_date="2001-01-01", expect=422
    )
    assert {e["loc"][-1] for e in bad["detail"]} == {"kind", "customer_phone", "channel", "appointment_date"}
    bad = orders.create(payment_mode=None, subscriber_id=5, fee="1.234", expect=422)
    assert {e["loc"][-1] for e in bad["detail"]} == {"fee"}
    bad = orders.create(payment_mode=None, subscriber_id=5, expect=422)
    assert {e["loc"][-1] for e in bad["detail"]} == {"payment_mode", "subscriber_id"}
    bad = orders.create(type_id=desk.ticket_type.id, expect=422)
    assert {e["loc"][-1] for e in bad["detail"]} == {"type_id"}
    session.expire_all()
    assert (session.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1)),) == before
    assert session.scalar(select(TicketAcceptance.ticket_id).limit(1)) is None


def test_data_scope_of_the_list_and_the_detail(orders, desk, session):
    mine = orders.create(kind="install", customer_name="赵一", payment_mode="serve_first")
    other_agent = desk.factory.token_login(
        desk.factory.user(
            ["tickets.ticket.create", "tickets.ticket.handle"], scope=DataScope.OWN, department=desk.other
        )
    )
    theirs = orders.create(other_agent, kind="rename", customer_name="钱二", payment_mode="serve_first")
    # Own scope: one's own orders only; hidden ones are 404.
    listed = orders.call("GET", "", desk.agent)
    assert [i["ticket_id"] for i in listed["items"]] == [mine["ticket_id"]] and listed["total"] == 1
    orders.get(theirs, desk.agent, expect=404)
    orders.act(theirs, "lock", desk.h1, expect=200)  # in the back office's pool: part of it
    # A stranger sees nothing at all.
    assert orders.call("GET", "", desk.o1)["items"] == []
    orders.get(mine, desk.o1, expect=404)
    # The front office's leader (department scope) sees the front's orders, not the other's.
    listed = orders.call("GET", "", desk.leader)
    assert [i["ticket_id"] for i in listed["items"]] == [mine["ticket_id"]]
    # The handler sees the order in the pool and the one they locked; counts and filters.
    listed = orders.call("GET", "", desk.h1)
    assert {i["ticket_id"] for i in listed["items"]} == {mine["ticket_id"], theirs["ticket_id"]}
    assert listed["counts"]["pending"] == 1 and listed["counts"]["locked"] == 1
    assert [i["ticket_id"] for i in orders.call("GET", "?state=locked", desk.h1)["items"]] == [
        theirs["ticket_id"]
    ]
    assert [i["ticket_id"] for i in orders.call("GET", "?kind=install", desk.h1)["items"]] == [
        mine["ticket_id"]
    ]
    assert [i["ticket_id"] for i in orders.call("GET", "?customer=赵", desk.h1)["items"]] == [
        mine["ticket_id"]
    ]
    assert orders.call("GET", "?payment_mode=serve_first", desk.h1)["total"] == 2
    assert orders.call("GET", "?payment_mode=pay_first", desk.h1)["total"] == 0
    assert orders.call("GET", f"?department_id={desk.back.id}", desk.h1)["total"] == 2
    assert orders.call("GET", "?date_from=2001-01-01&date_to=2001-01-02", desk.h1)["total"] == 0
    assert orders.call("GET", "?state=bogus", desk.h1, expect=422)


def test_a_ticket_that_is_no_order_and_the_types(orders, desk, factory):
    t = desk.register()
    orders.call("GET", f"/{t['id']}", desk.agent, expect=404)
    types = orders.call("GET", "/types", desk.agent)
    assert {x["payment_mode"] for x in types} == {"pay_first", "serve_first"}
    admin = factory.token_login(factory.user(admin=True))
    again = orders.call("POST", "/types", admin, {"department_id": desk.back.id})
    assert sorted(x["id"] for x in again) == sorted(x["id"] for x in types)
    orders.call("POST", "/types", admin, {"department_id": 999999}, expect=422)
    orders.call("POST", "/types", desk.agent, {}, expect=403)
    configurer = factory.token_login(factory.user(["tickets.config.edit"]))
    assert len(orders.call("POST", "/types", configurer, {})) == 2


def test_list_query_count_does_not_grow_with_orders(orders, desk, engine):
    from sqlalchemy import event

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def run(kind: str) -> int:
        statements.clear()
        assert orders.call("GET", f"?kind={kind}", desk.leader)["total"] >= 1
        return len(statements)

    orders.create(kind="rename")
    for n in range(4):
        orders.create(kind="install", customer_name=f"客户{n}")
    event.listen(engine, "before_cursor_execute", count)
    try:
        run("rename")  # warm-up
        one, four = run("rename"), run("install")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert one == four


def test_acceptance_types_are_not_registered_as_plain_tickets(orders, desk, session):
    from kefu.tickets.acceptance_models import TicketAcceptance
    from kefu.tickets.models import Ticket, TicketType
    from tests.support import browser_login

    pay_first = session.scalars(select(TicketType).where(TicketType.code == "acceptance_pay_first")).one()
    before = session.scalar(select(func.count()).select_from(Ticket))
    bad = desk.register(type_id=pay_first.id, expect=422)
    assert {e["loc"][-1] for e in bad["detail"]} == {"type_id"}
    assert session.scalar(select(func.count()).select_from(Ticket)) == before
    order = orders.create()  # the order form registers it, with its row
    assert session.get(TicketAcceptance, order["ticket_id"]) is not None
    browser_login(desk.client, desk.agent.user.username)
    page = desk.client.get("/tickets/new")
    assert page.status_code == 200
    assert f">{desk.ticket_type.name}</option>" in page.text
    assert f">{pay_first.name}</option>" not in page.text
    desk.client.cookies.clear()
