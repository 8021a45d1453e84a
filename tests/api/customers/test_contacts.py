"""Contact records (CON-2): every channel, linked to customer, agent and tickets; the timeline a page
at a time; idempotent call ids; unknown callers linked by their number; scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from kefu.core import clock
from kefu.customers.contacts import service as contacts
from kefu.customers.contacts.models import ContactRecord
from tests.api.customers.conftest import errors_of, make_ticket

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def test_record_on_every_channel_and_read_the_timeline(crm):
    c = crm.create()
    ticket = make_ticket(crm, customer_id=c["id"], creator=crm.agent)
    channels = ["phone", "sms", "email", "web", "fax", "letter", "visit", "self_service", "wechat"]
    for i, channel in enumerate(channels):
        crm.call(
            "POST",
            "/contacts",
            crm.agent,
            {
                "customer_id": c["id"],
                "channel": channel,
                "direction": "outbound" if i % 2 else "inbound",
                "started_at": (T0 + timedelta(minutes=i)).isoformat(),
                "ended_at": (T0 + timedelta(minutes=i, seconds=95)).isoformat(),
                "summary": f"第 {i} 次",
                "ticket_ids": [ticket.id] if channel == "phone" else [],
            },
            expect=201,
        )
    first = crm.call("GET", f"/{c['id']}/contacts", crm.agent, limit=4)
    assert [r["channel"] for r in first] == ["wechat", "self_service", "visit", "letter"]
    assert first[0]["duration_seconds"] == 95 and first[0]["agent_id"] == crm.agent.user.id
    rest = crm.call("GET", f"/{c['id']}/contacts", crm.agent, before_id=first[-1]["id"], limit=10)
    assert [r["channel"] for r in rest] == ["fax", "web", "email", "sms", "phone"]
    assert rest[-1]["tickets"] == [
        {"id": ticket.id, "serial": ticket.serial, "subject": ticket.subject, "status": "open"}
    ]
    only_phone = crm.call("GET", f"/{c['id']}/contacts", crm.agent, channel="phone")
    assert len(only_phone) == 1


def test_bad_contacts_are_refused_naming_the_field(crm, session):
    c = crm.create()
    before = session.scalar(select(func.count()).select_from(ContactRecord))
    r = crm.call(
        "POST",
        "/contacts",
        crm.agent,
        {
            "customer_id": c["id"],
            "channel": "pigeon",
            "direction": "sideways",
            "started_at": T0.isoformat(),
            "ended_at": (T0 - timedelta(minutes=1)).isoformat(),
        },
        expect=422,
    )
    assert set(errors_of(r)) == {"channel", "direction", "ended_at"}
    r = crm.call(
        "POST",
        "/contacts",
        crm.agent,
        {"customer_id": c["id"], "channel": "phone", "direction": "inbound", "ticket_ids": [999999]},
        expect=422,
    )
    assert set(errors_of(r)) == {"ticket_ids"}
    hidden = crm.create(name="南区", department_id=crm.south.id)
    r = crm.call(
        "POST",
        "/contacts",
        crm.branch,
        {"customer_id": hidden["id"], "channel": "phone", "direction": "inbound"},
        expect=403,
    )
    assert session.scalar(select(func.count()).select_from(ContactRecord)) == before


def test_call_ids_make_recording_idempotent_and_unknown_callers_are_linked(crm, session):
    c = crm.create(phones=[{"number": "13800138000"}])
    body = {
        "channel": "phone",
        "direction": "inbound",
        "remote_address": "+86 138 0013 8000",
        "call_id": "call-42",
    }
    first = crm.call("POST", "/contacts", crm.agent, body, expect=201)
    again = crm.call("POST", "/contacts", crm.agent, {**body, "summary": "retry"}, expect=201)
    assert again["id"] == first["id"] and first["customer_id"] == c["id"]  # linked by the calling number
    stranger = crm.call(
        "POST",
        "/contacts",
        crm.agent,
        {"channel": "phone", "direction": "inbound", "remote_address": "02087654321"},
        expect=201,
    )
    assert stranger["customer_id"] is None
    assert [r["id"] for r in crm.call("GET", "/contacts", crm.agent, remote="020-8765-4321")] == [
        stranger["id"]
    ]


def test_the_service_function_other_areas_call(crm, session):
    c = crm.create()
    ticket = make_ticket(crm, customer_id=c["id"], creator=crm.agent)
    with clock.freeze(T0):
        record = contacts.record_contact(
            session,
            None,
            customer_id=c["id"],
            channel="self_service",
            direction="inbound",
            summary="IVR 查询话费",
            ticket_ids=[ticket.id],
        )
    assert (
        record.agent_id is None
        and record.started_at == T0
        and [t.ticket_id for t in record.tickets] == [ticket.id]
    )
    linked = crm.call("POST", f"/contacts/{record.id}/tickets", crm.agent, {"ticket_ids": [ticket.id]})
    assert [t["id"] for t in linked["tickets"]] == [ticket.id]


def test_contact_scope(crm):
    """A record is visible within one's contact scope (the agent's department), or on a customer one
    can see; otherwise it does not exist (404)."""
    from kefu.org.models import DataScope

    north_customer = crm.create(crm.branch, name="北区客户")
    record = crm.call(
        "POST",
        "/contacts",
        crm.agent,
        {"customer_id": north_customer["id"], "channel": "phone", "direction": "inbound"},
        expect=201,
    )
    assert record["department_id"] == crm.south.id  # the handling agent's department

    def reader(department, *extra):
        perms = ["customers.contact.view", *extra]
        return crm.factory.token_login(
            crm.factory.user(perms, department=department, scope=DataScope.DEPARTMENT)
        )

    south_reader = reader(crm.south)
    north_reader = reader(crm.north, "customers.customer.view")
    west_reader = reader(crm.factory.department("西区"))
    crm.call("GET", f"/contacts/{record['id']}", south_reader)
    crm.call("GET", f"/contacts/{record['id']}", north_reader)
    crm.call("GET", f"/contacts/{record['id']}", west_reader, expect=404)
    crm.call("GET", f"/contacts/{record['id']}", crm.branch, expect=403)  # no contact rights at all
    assert [r["id"] for r in crm.call("GET", "/contacts", south_reader)] == [record["id"]]
    assert crm.call("GET", "/contacts", west_reader) == []
    crm.call("POST", f"/contacts/{record['id']}/tickets", west_reader, {"ticket_ids": [1]}, expect=403)


def test_times_without_a_zone_are_local_and_ids_are_masked_for_readers(crm):
    c = crm.create(id_type="resident_id", id_number="11010519491231002X")
    r = crm.call(
        "POST",
        "/contacts",
        crm.agent,
        {
            "customer_id": c["id"],
            "channel": "phone",
            "direction": "inbound",
            "started_at": "2026-11-20T09:00:00",
        },
        expect=201,
    )
    assert r["started_at"].startswith("2026-11-20T01:00:00")  # 09:00 in Shanghai
    assert (
        crm.call("GET", "/contacts", crm.agent, since="2026-11-20T08:59:00", until="2026-11-20T09:01:00")[0][
            "id"
        ]
        == r["id"]
    )
    assert crm.call("GET", f"/{c['id']}", crm.agent)["id_number"] == "1101**********002X"
    assert crm.call("GET", f"/{c['id']}", crm.officer)["id_number"] == "11010519491231002X"
