"""The business acceptance pages as a signed-in person uses them (TKT-15): the list with a tab and a
count per state and its filters, the registration form re-shown with every message beside its field,
and the order panel on the ticket page with exactly the actions allowed now — lock, a second handler
refused with the holder's name, reply — each form answering like the API."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from kefu.tickets.acceptance_flows import ensure_acceptance_types
from kefu.tickets.acceptance_models import TicketAcceptance
from kefu.tickets.models import Ticket
from tests.api.tickets.test_acceptance import Orders
from tests.support import browser_login

HX = {"HX-Request": "true"}


@pytest.fixture
def acc(desk, factory) -> Orders:
    admin = factory.actor(factory.user(admin=True))
    ensure_acceptance_types(desk.session, actor=admin, department_id=desk.back.id)
    return Orders(desk)


def _login(desk, who) -> str:
    desk.client.cookies.clear()
    return browser_login(desk.client, who.user.username)


def _count(html: str, state: str) -> int:
    found = re.search(rf'data-count="{state}">(\d+)<', html)
    assert found, f"no count for {state}"
    return int(found.group(1))


def _panel_actions(html: str) -> list[str]:
    return re.findall(r'data-acceptance-action="(\w+)"', html)


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-order="(\d+)"', html)


def test_the_list_has_a_tab_per_state_with_counts_and_filters(acc, desk):
    first = acc.create(payment_mode="serve_first", kind="install", customer_name="孙一")
    second = acc.create(payment_mode="serve_first", kind="rename", customer_name="李二")
    acc.act(acc.get(second, desk.h1), "lock", desk.h1)
    _login(desk, desk.agent)
    home = desk.client.get("/")
    assert 'href="/tickets/acceptance"' in home.text and "业务受理" in home.text
    page = desk.client.get("/tickets/acceptance")
    assert page.status_code == 200
    assert _count(page.text, "pending") == 1 and _count(page.text, "locked") == 1
    assert _count(page.text, "done") == 0
    assert _rows(page.text) == [str(second["ticket_id"]), str(first["ticket_id"])]
    assert "报装" in page.text and "更名" in page.text and "先服务后缴费" in page.text
    locked = desk.client.get("/tickets/acceptance?state=locked")
    assert _rows(locked.text) == [str(second["ticket_id"])] and desk.h1.user.name in locked.text
    by_kind = desk.client.get("/tickets/acceptance?kind=install")
    assert _rows(by_kind.text) == [str(first["ticket_id"])]
    assert _count(by_kind.text, "pending") == 1 and _count(by_kind.text, "locked") == 0
    assert _rows(desk.client.get("/tickets/acceptance?customer=李二").text) == [str(second["ticket_id"])]
    # A person outside sees none of them.
    _login(desk, desk.o1)
    assert _rows(desk.client.get("/tickets/acceptance").text) == []


def test_registration_form_shows_every_message_and_writes_nothing(acc, desk, session):
    csrf = _login(desk, desk.agent)
    form = desk.client.get("/tickets/acceptance/new?customer_name=周五&customer_phone=13700137000")
    assert form.status_code == 200 and 'value="周五"' in form.text and "先缴费后服务" in form.text
    count = session.scalar(select(func.count()).select_from(Ticket))
    data = {
        "csrf_token": csrf,
        "payment_mode": "pay_first",
        "kind": "",
        "channel": "phone",
        "priority": "normal",
        "customer_name": "周五",
        "customer_phone": "abc",
        "fee": "12.345",
        "appointment_date": "2001-01-01",
        "address": "人民路 1 号",
    }
    bad = desk.client.post("/tickets/acceptance/new", data=data)
    assert bad.status_code == 422
    shown = set(re.findall(r'data-error-for="(\w+)"', bad.text))
    assert shown == {"kind", "customer_phone", "fee", "appointment_date"}
    assert 'value="人民路 1 号"' in bad.text  # what was typed stays
    assert session.scalar(select(func.count()).select_from(Ticket)) == count
    assert session.scalar(select(func.count()).select_from(TicketAcceptance)) == 0
    data.update(kind="install", customer_phone="13700137000", fee="120.5", appointment_date="")
    ok = desk.client.post("/tickets/acceptance/new", data=data, follow_redirects=False)
    assert ok.status_code == 303, ok.text
    ticket_id = int(ok.headers["location"].rsplit("/", 1)[1])
    row = session.get(TicketAcceptance, ticket_id)
    assert row is not None and row.kind == "install" and str(row.fee) == "120.50"


def test_the_panel_locks_refuses_a_second_handler_and_replies(acc, desk):
    order = acc.create(payment_mode="serve_first", kind="activate")
    tid = order["ticket_id"]
    ticket = acc.desk.register()  # a ticket that is no order: its panel is empty
    csrf = _login(desk, desk.h1)
    page = desk.client.get(f"/tickets/{tid}")
    assert f'hx-get="/tickets/{tid}/acceptance"' in page.text
    assert desk.client.get(f"/tickets/{ticket['id']}/acceptance", headers=HX).text == ""
    panel = desk.client.get(f"/tickets/{tid}/acceptance", headers=HX)
    assert 'id="ticket-acceptance"' in panel.text and "<html" not in panel.text
    assert _panel_actions(panel.text) == ["lock"] and 'data-state="pending"' in panel.text
    version = re.search(r'name="version" value="(\d+)"', panel.text).group(1)
    locked = desk.client.post(
        f"/tickets/{tid}/acceptance/lock", data={"csrf_token": csrf, "version": version}, headers=HX
    )
    assert locked.status_code == 200 and locked.headers["HX-Retarget"] == "#ticket-detail"
    assert 'id="ticket-detail"' in locked.text
    panel = desk.client.get(f"/tickets/{tid}/acceptance", headers=HX)
    assert 'data-state="locked"' in panel.text and desk.h1.user.name in panel.text
    assert _panel_actions(panel.text) == ["complete", "reject", "unlock"]
    # The second handler: no actions, and a lock attempt answers with the panel naming the holder.
    csrf2 = _login(desk, desk.h2)
    panel2 = desk.client.get(f"/tickets/{tid}/acceptance", headers=HX)
    assert _panel_actions(panel2.text) == []
    version = re.search(r'data-version="(\d+)"', desk.client.get(f"/tickets/{tid}").text).group(1)
    refused = desk.client.post(
        f"/tickets/{tid}/acceptance/lock", data={"csrf_token": csrf2, "version": version}, headers=HX
    )
    assert refused.status_code == 409 and 'id="acceptance-error"' in refused.text
    assert desk.h1.user.name in refused.text
    # Back to the holder: an empty reply is shown beside its field, then the order is done.
    csrf = _login(desk, desk.h1)
    empty = desk.client.post(
        f"/tickets/{tid}/acceptance/complete",
        data={"csrf_token": csrf, "version": version, "reply": ""},
        headers=HX,
    )
    assert empty.status_code == 422 and 'data-error-for="reply"' in empty.text
    done = desk.client.post(
        f"/tickets/{tid}/acceptance/complete",
        data={"csrf_token": csrf, "version": version, "reply": "已开通", "business_ref": "BOSS-1"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/tickets/{tid}"
    panel = desk.client.get(f"/tickets/{tid}/acceptance", headers=HX)
    assert 'data-state="pending"' in panel.text and "BOSS-1" in panel.text and "缴费确认" in panel.text
    log = desk.client.get(f"/tickets/{tid}").text
    assert "受理单已锁定" in log and "受理单待处理" in log
