"""The customer 360 view (CON-3) as data and as the page an agent opens from a phone number; the
business panels load one by one, and a failing or slow system only degrades its own panel."""

from __future__ import annotations

import re

import pytest

from kefu.customers.adapters import registry
from tests.api.customers import fake_business_system
from tests.api.customers.conftest import AGENT, make_ticket
from tests.support import browser_login


@pytest.fixture
def fake():
    registry.reset_breakers()
    with fake_business_system.running() as system:
        yield system
    registry.reset_breakers()


def _desk_agent(crm):
    """An agent who also handles tickets and may ask the business systems."""
    user = crm.factory.user(
        [*AGENT, "customers.business.view", "tickets.ticket.create"], department=crm.south, username="desk01"
    )
    return user, crm.factory.token_login(user)


def test_360_data_gathers_profile_subscriptions_contacts_and_open_tickets(crm):
    _, agent = _desk_agent(crm)
    c = crm.create(name="张三", tier="vip", phones=[{"number": "13800138000"}])
    crm.call(
        "POST",
        f"/{c['id']}/subscribers",
        crm.officer,
        {
            "kind": "cable_tv",
            "service_number": "10012345",
            "attributes": {"smart_card_no": "8002003512345678"},
        },
        expect=201,
    )
    mine = make_ticket(crm, subject="信号中断", customer_id=c["id"], creator=agent)
    by_phone = make_ticket(crm, subject="来电报障", phone="13800138000", creator=agent)
    make_ticket(crm, subject="别人的工单", customer_id=c["id"])  # not the agent's: counted, not shown
    make_ticket(crm, subject="已关闭", customer_id=c["id"], creator=agent, closed=True)
    crm.call(
        "POST",
        "/contacts",
        agent,
        {"customer_id": c["id"], "channel": "phone", "direction": "inbound", "summary": "咨询套餐"},
        expect=201,
    )
    crm.call("PUT", "/business-systems/billing", crm.config, {"implementation": "demo"})
    view = crm.call("GET", f"/{c['id']}/360", agent)
    assert (
        view["customer"]["tier"] == "vip"
        and view["subscribers"][0]["attributes"][0]["value"] == "8002003512345678"
    )
    assert {t["id"] for t in view["open_tickets"]} == {mine.id, by_phone.id} and view[
        "hidden_open_tickets"
    ] == 1
    assert [r["summary"] for r in view["recent_contacts"]] == ["咨询套餐"]
    assert [p["kind"] for p in view["panels"]] == ["billing"]
    billing = crm.call("GET", f"/{c['id']}/business/billing", agent)
    assert len(billing["bills"]) == 6
    crm.call("GET", f"/{c['id']}/business/meter", agent, expect=404)  # switched off
    crm.call("GET", f"/{c['id']}/business/billing", crm.officer, expect=403)  # no business rights


def test_a_failing_and_a_slow_system_degrade_only_their_panels(crm, fake):
    user, _ = _desk_agent(crm)
    c = crm.create(name="王五", phones=[{"number": "13900139000"}])
    crm.call(
        "PUT",
        "/business-systems/billing",
        crm.config,
        {"implementation": "http", "base_url": fake.url, "timeout_seconds": 0.3, "retries": 0},
    )
    crm.call(
        "PUT",
        "/business-systems/meter",
        crm.config,
        {"implementation": "http", "base_url": fake.url + "/slow", "timeout_seconds": 0.3, "retries": 0},
    )
    crm.call("PUT", "/business-systems/installation", crm.config, {"implementation": "demo"})
    browser_login(crm.client, user.username)
    page = crm.client.get("/customers/360", params={"phone": "139-0013-9000"})
    assert page.status_code == 200 and "王五" in page.text and 'id="caller-banner"' in page.text
    assert re.findall(r'hx-get="/customers/\d+/panels/(\w+)"', page.text) == [
        "billing",
        "meter",
        "installation",
    ]

    fake.reset("fail")
    failed = crm.client.get(f"/customers/{c['id']}/panels/billing")
    assert failed.status_code == 200 and 'data-state="error"' in failed.text
    assert "业务系统" in failed.text  # the message, in the agent's language

    fake.reset("slow", delay=1.0)
    slow = crm.client.get(f"/customers/{c['id']}/panels/meter")
    assert slow.status_code == 200 and 'data-state="error"' in slow.text and "及时" in slow.text

    fine = crm.client.get(f"/customers/{c['id']}/panels/installation")
    assert fine.status_code == 200 and 'data-state="ok"' in fine.text
    fake.reset("ok")
    recovered = crm.client.get(f"/customers/{c['id']}/panels/billing")
    assert 'data-state="ok"' in recovered.text and "¥88.00" in recovered.text


def test_the_caller_lookup_page(crm):
    user, agent = _desk_agent(crm)
    a = crm.create(name="家庭甲", phones=[{"number": "010-66667777"}])
    b = crm.create(name="家庭乙", phones=[{"number": "(010)6666 7777"}])
    make_ticket(crm, subject="陌生来电的工单", phone="020-88889999", creator=agent)
    browser_login(crm.client, user.username)
    several = crm.client.get("/customers/360", params={"phone": "01066667777"})
    assert (
        several.status_code == 200
        and f"/customers/{a['id']}?phone=" in several.text
        and f"/customers/{b['id']}?phone=" in several.text
    )
    unknown = crm.client.get("/customers/360", params={"phone": "020 8888 9999"})
    assert 'id="unknown-caller"' in unknown.text and "陌生来电的工单" in unknown.text
    assert "/customers/new?phone=020" in unknown.text
    new = crm.client.get("/customers/new", params={"phone": "020 8888 9999"})
    assert 'value="020 8888 9999"' in new.text


def test_caller_lookup_over_the_api(crm):
    _, agent = _desk_agent(crm)
    c = crm.create(name="李雷", phones=[{"number": "13512345678"}])
    ticket = make_ticket(crm, subject="陌生号码报障", phone="020-88889999", creator=agent)
    found = crm.call("GET", "/360", agent, phone="+86 135 1234 5678")
    assert [x["id"] for x in found["customers"]] == [c["id"]] and found["open_tickets"] == []
    unknown = crm.call("GET", "/360", agent, phone="(020) 8888-9999")
    assert unknown["customers"] == [] and [t["id"] for t in unknown["open_tickets"]] == [ticket.id]
