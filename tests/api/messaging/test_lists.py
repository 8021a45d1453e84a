"""Do-not-disturb (numbers × business types, refuse or warn, validity), the callers' blacklist, and
templates with their variables checked when saved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from kefu.core import clock
from kefu.messaging import blacklist
from kefu.messaging.models import DndEntry, Message
from tests.api.messaging.conftest import MOBILE, errors_of


def test_dnd_refuses_its_business_and_allows_others(msg, session):
    msg.configure("sms", implementation="log")
    msg.call(
        "POST",
        "/dnd",
        msg.admin,
        {"number": "+86 138 0013 8000", "business_category_id": msg.promotions.id, "reason": "不要推广短信"},
        expect=201,
    )
    # Refused for the listed business and its sub-types, typed any way.
    r = msg.sms(business_category_id=msg.promotions.id, expect=422)
    assert errors_of(r) == {"to": errors_of(r)["to"]} and "不要推广短信" in errors_of(r)["to"]
    assert "to" in errors_of(msg.sms(to="138-0013-8000", business_category_id=msg.promo_child.id, expect=422))
    # Allowed for another business, and for a message without one.
    assert msg.sms(business_category_id=msg.fees.id)["status"] == "queued"
    assert msg.sms()["status"] == "queued"
    check = msg.call("GET", "/dnd/check", msg.agent, number=MOBILE, business_category_id=msg.promo_child.id)
    assert check["verdict"] == "refuse" and check["reason"] == "不要推广短信"
    assert msg.call("GET", "/dnd/check", msg.agent, number=MOBILE, business_category_id=msg.fees.id)[
        "verdict"
    ] == ("allowed")
    # An entry for every business stops the rest too.
    msg.call("POST", "/dnd", msg.admin, {"number": MOBILE, "reason": "全部免打扰"}, expect=201)
    assert "to" in errors_of(msg.sms(business_category_id=msg.fees.id, expect=422))
    assert session.scalar(select(func.count()).select_from(Message)) == 2


def test_a_warning_must_be_confirmed_and_is_kept_with_the_message(msg, session):
    msg.configure("sms", implementation="log")
    msg.call(
        "POST",
        "/dnd",
        msg.admin,
        {"number": MOBILE, "business_category_id": msg.fees.id, "mode": "warn", "reason": "夜间勿扰"},
        expect=201,
    )
    r = msg.sms(business_category_id=msg.fees.id, expect=422)
    assert "夜间勿扰" in errors_of(r)["confirm_dnd"]
    sent = msg.sms(business_category_id=msg.fees.id, confirm_dnd=True)
    assert sent["dnd_note"] == "夜间勿扰"


def test_dnd_validity_window(msg, session):
    msg.configure("sms", implementation="log")
    t0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    with clock.freeze(t0):
        msg.call(
            "POST",
            "/dnd",
            msg.admin,
            {
                "number": MOBILE,
                "business_category_id": msg.fees.id,
                "valid_from": (t0 + timedelta(days=1)).isoformat(),
                "valid_until": (t0 + timedelta(days=8)).isoformat(),
            },
            expect=201,
        )
        assert msg.sms(business_category_id=msg.fees.id)["status"] == "queued"  # not yet
        clock.advance(timedelta(days=2))
        msg.sms(business_category_id=msg.fees.id, expect=422)
        clock.advance(timedelta(days=7))
        assert msg.sms(business_category_id=msg.fees.id)["status"] == "queued"  # over
    r = msg.call(
        "POST",
        "/dnd",
        msg.admin,
        {
            "number": MOBILE,
            "valid_from": t0.isoformat(),
            "valid_until": (t0 - timedelta(hours=1)).isoformat(),
        },
        expect=422,
    )
    assert "valid_until" in errors_of(r)


def test_dnd_entries_are_checked_listed_imported_and_removed(msg, session):
    assert "number" in errors_of(msg.call("POST", "/dnd", msg.admin, {"number": "123"}, expect=422))
    r = msg.call("POST", "/dnd", msg.admin, {"number": MOBILE, "business_category_id": 999999}, expect=422)
    assert "business_category_id" in errors_of(r)
    first = msg.call(
        "POST", "/dnd", msg.admin, {"number": MOBILE, "business_category_id": msg.fees.id}, expect=201
    )
    r = msg.call(
        "POST",
        "/dnd",
        msg.admin,
        {"number": "138 0013 8000", "business_category_id": msg.fees.id},
        expect=422,
    )
    assert "number" in errors_of(r)
    # Import: all or nothing, a bad line named.
    r = msg.call(
        "POST", "/dnd/import", msg.admin, {"lines": "13900139000\nabc\n13700137000, 客户投诉"}, expect=422
    )
    assert set(errors_of(r)) == {"lines.2"}
    assert session.scalar(select(func.count()).select_from(DndEntry)) == 1
    r = msg.call(
        "POST",
        "/dnd/import",
        msg.admin,
        {
            "lines": "13900139000\n13800138000\n13700137000，客户投诉\n139-0013-9000",
            "business_category_id": msg.fees.id,
        },
    )
    assert r == {"added": 2, "already_listed": 1}
    page = msg.call("GET", "/dnd", msg.admin)
    assert page["total"] == 3
    reasons = {i["number_key"]: i["reason"] for i in page["items"]}
    assert reasons["+8613700137000"] == "客户投诉"
    assert msg.call("GET", "/dnd", msg.admin, number="137 0013 7000")["total"] == 1
    msg.call("DELETE", f"/dnd/{first['id']}", msg.admin, expect=204)
    msg.call("DELETE", f"/dnd/{first['id']}", msg.admin, expect=404)
    msg.call("GET", "/dnd", msg.agent, expect=403)
    msg.call("POST", "/dnd", msg.agent, {"number": MOBILE}, expect=403)


def test_blacklist_entries_and_recognised_calls(msg, session):
    r = msg.call("POST", "/blacklist", msg.admin, {"number": MOBILE, "reason": " "}, expect=422)
    assert "reason" in errors_of(r)
    entry = msg.call(
        "POST", "/blacklist", msg.admin, {"number": MOBILE, "reason": "多次辱骂坐席"}, expect=201
    )
    assert entry["level"] == "flag"
    msg.call("POST", "/blacklist", msg.admin, {"number": "+8613800138000", "reason": "again"}, expect=422)
    changed = msg.call(
        "PUT", f"/blacklist/{entry['id']}", msg.admin, {"level": "block", "reason": "骚扰电话"}
    )
    assert changed["level"] == "block"
    assert blacklist.recognise(session, "008613800138000").id == entry["id"]
    assert blacklist.lookup(session, "13900139000") is None
    session.expire_all()
    assert msg.call("GET", "/blacklist", msg.admin)["items"][0]["hits"] == 1
    # An expired entry is not recognised and makes way for a new one.
    msg.call(
        "PUT",
        f"/blacklist/{entry['id']}",
        msg.admin,
        {
            "level": "block",
            "reason": "骚扰电话",
            "valid_until": (clock.now() - timedelta(hours=1)).isoformat(),
        },
    )
    assert blacklist.lookup(session, MOBILE) is None
    again = msg.call("POST", "/blacklist", msg.admin, {"number": MOBILE, "reason": "又来了"}, expect=201)
    msg.call("DELETE", f"/blacklist/{again['id']}", msg.admin, expect=204)
    msg.call("GET", "/blacklist", msg.agent, expect=403)


def test_templates_check_their_variables_and_render_for_the_customer(msg, session):
    msg.configure("sms", implementation="log", sign="【客服】")
    body = {"code": "fee", "name": "缴费提醒", "channel": "sms", "kind": "payment_reminder", "body": ""}
    r = msg.call(
        "POST", "/templates", msg.admin, {**body, "code": "1x", "body": "{{ custmer.name }}您好"}, expect=422
    )
    assert set(errors_of(r)) == {"code", "body"} and "custmer" in errors_of(r)["body"]
    r = msg.call("POST", "/templates", msg.admin, {**body, "body": "{{ customer.name 您好"}, expect=422)
    assert "body" in errors_of(r)
    r = msg.call("POST", "/templates", msg.admin, {**body, "channel": "email", "body": "x"}, expect=422)
    assert "subject" in errors_of(r)
    t = msg.call(
        "POST",
        "/templates",
        msg.admin,
        {
            **body,
            "business_category_id": msg.fees.id,
            "body": "{{ customer.name }}您好，您{{ period }}的话费{{ amount }}元，请于{{ due_date }}前缴纳。",
        },
        expect=201,
    )
    assert t["variables"] == ["amount", "customer", "due_date", "period"]
    msg.call("POST", "/templates", msg.admin, {**body, "body": "x"}, expect=422)  # code taken
    preview = msg.call(
        "POST",
        "/templates/preview",
        msg.admin,
        {"kind": "payment_reminder", "body": t["body"], "variables": {"amount": "99"}},
    )
    assert preview["body"].startswith("张三您好") and "99元" in preview["body"] and preview["parts"] == 1
    # Sending from the template with the customer and values; a missing value is named.
    r = msg.sms(
        template_id=t["id"], customer_id=msg.customer_id, variables={"amount": "56.80"}, body="", expect=422
    )
    assert set(errors_of(r)) == {"variables.period"}
    sent = msg.sms(
        template_id=t["id"],
        customer_id=msg.customer_id,
        body="",
        variables={"amount": "56.80", "period": "11月", "due_date": "11月30日"},
    )
    assert sent["body"] == "张三您好，您11月的话费56.80元，请于11月30日前缴纳。"
    assert sent["business_category_id"] == msg.fees.id and sent["template_id"] == t["id"]
    # DND is checked against the template's business type.
    msg.call("POST", "/dnd", msg.admin, {"number": MOBILE, "business_category_id": msg.fees.id}, expect=201)
    msg.sms(
        template_id=t["id"], body="", variables={"amount": "1", "period": "1", "due_date": "1"}, expect=422
    )
    # Editing and deleting; a disabled template cannot be sent from.
    msg.call("PUT", f"/templates/{t['id']}", msg.admin, {**body, "body": "{{ amount }}元", "enabled": False})
    r = msg.sms(template_id=t["id"], body="", to="13900139000", expect=422)
    assert "template_id" in errors_of(r)
    msg.call("DELETE", f"/templates/{t['id']}", msg.admin, expect=204)
    msg.call("POST", "/templates", msg.agent, body, expect=403)


def test_sms_length_counts_chinese_parts():
    from kefu.messaging.render import sms_length

    assert sms_length("a" * 160).parts == 1 and sms_length("a" * 161).parts == 2
    assert sms_length("中" * 70).parts == 1 and sms_length("中" * 71).parts == 2
    assert sms_length("中" * 134).parts == 2 and sms_length("中" * 135).parts == 3
