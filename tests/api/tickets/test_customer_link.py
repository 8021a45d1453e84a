"""Registration for a known customer (TKT-4): what the agent leaves empty comes from the profile."""

from __future__ import annotations

from kefu.customers.models import Customer, CustomerEmail, CustomerKind, CustomerPhone

TICKET_RIGHTS = ["tickets.ticket.view", "tickets.ticket.create"]


def _customer(desk) -> Customer:
    customer = Customer(kind=CustomerKind.INDIVIDUAL, name="孙丽", department_id=desk.front.id)
    customer.phones = [
        CustomerPhone(number="010 1234 5678", e164="+861012345678", is_primary=False),
        CustomerPhone(number="139 1234 5678", e164="+8613912345678", is_primary=True),
    ]
    customer.emails = [CustomerEmail(address="sunli@example.com", is_primary=True)]
    desk.session.add(customer)
    desk.session.flush()
    return customer


def test_a_known_customer_fills_what_was_left_empty(desk):
    customer = _customer(desk)
    agent = desk.factory.token_login(
        desk.factory.user([*TICKET_RIGHTS, "customers.customer.view"], department=desk.front)
    )
    t = desk.register(agent, customer_id=customer.id, customer_name="", customer_phone="")
    assert (t["customer_id"], t["customer_name"]) == (customer.id, "孙丽")
    assert t["customer_phone"] == "13912345678"  # the primary number, in the tickets' own format
    assert t["customer_email"] == "sunli@example.com"
    # What the agent typed wins over the profile.
    t = desk.register(
        agent, customer_id=customer.id, customer_name="孙丽（代）", customer_phone="01012345678"
    )
    assert (t["customer_name"], t["customer_phone"]) == ("孙丽（代）", "010-12345678")


def test_a_customer_one_may_not_see_is_refused_and_nothing_is_written(desk):
    from sqlalchemy import func, select

    from kefu.tickets.models import Ticket

    customer = _customer(desk)
    before = desk.session.scalar(select(func.count(Ticket.id)))
    blind = desk.factory.token_login(desk.factory.user(TICKET_RIGHTS, department=desk.front))
    for who, customer_id in ((blind, customer.id), (desk.agent, 999_999)):
        r = desk.register(who, customer_id=customer_id, expect=422)
        assert [d["loc"] for d in r["detail"]] == [["body", "customer_id"]]
    assert desk.session.scalar(select(func.count(Ticket.id))) == before


def test_the_detail_lists_the_linked_contact_records(desk, client):
    from kefu.customers.contacts.service import record_contact

    customer = _customer(desk)
    t = desk.register(customer_id=None)
    record_contact(
        desk.session,
        desk.factory.actor(desk.agent.user),
        customer_id=customer.id,
        channel="phone",
        direction="inbound",
        remote_address="13912345678",
        summary="来电报障：宽带无法上网",
        ticket_ids=[t["id"]],
        call_id="call-0001",
    )
    desk.session.flush()
    detail = desk.call("GET", f"/{t['id']}", desk.agent)
    assert [(c["channel"], c["direction"], c["summary"], c["call_id"]) for c in detail["contacts"]] == [
        ("phone", "inbound", "来电报障：宽带无法上网", "call-0001")
    ]
    assert detail["contacts"][0]["agent_name"] == desk.agent.user.name
    page = client.get(f"/tickets/{t['id']}", headers=desk.agent.headers)
    assert page.status_code == 200 and "来电报障：宽带无法上网" in page.text


def test_a_ticket_from_a_contact_is_linked_to_it_and_takes_its_customer(desk):
    from kefu.customers.contacts import service as contacts

    customer = _customer(desk)
    agent = desk.factory.token_login(
        desk.factory.user([*TICKET_RIGHTS, "customers.customer.view"], department=desk.front)
    )
    # The call center records the call being handled by this agent (no contact rights needed).
    record = contacts.record_contact(
        desk.session,
        None,
        customer_id=customer.id,
        channel="phone",
        direction="inbound",
        agent_id=agent.user.id,
        call_id="call-77",
    )
    t = desk.register(agent, contact_id=record.id, customer_name="", customer_phone="")
    assert (t["customer_id"], t["customer_name"], t["customer_phone"]) == (customer.id, "孙丽", "13912345678")
    assert [c["call_id"] for c in t["contacts"]] == ["call-77"]
    desk.session.refresh(record)
    assert [link.ticket_id for link in record.tickets] == [t["id"]]
    # Someone else's call, or one that does not exist: 422 naming the field, and no ticket.
    stranger = desk.factory.token_login(desk.factory.user(TICKET_RIGHTS, department=desk.front))
    for who, contact_id in ((stranger, record.id), (agent, 999_999)):
        r = desk.register(who, contact_id=contact_id, expect=422)
        assert [d["loc"] for d in r["detail"]] == [["body", "contact_id"]]
