"""Proactive-service batches (主动服务): a fee notice to a filtered set honours do-not-disturb per business
type and reports what it skipped; a list carries each line's values and is refused whole, naming the
line, when a value is missing; a resumed run never sends twice; cancel; data scope; permissions."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from kefu.customers.models import (
    Customer,
    CustomerEmail,
    CustomerKind,
    CustomerPhone,
    CustomerStatus,
    PhoneKind,
    Subscriber,
    SubscriberKind,
)
from kefu.messaging import batch_run, batches, outbox
from kefu.messaging.models import Batch, Message
from kefu.org.models import DataScope
from tests.api.messaging.conftest import Messaging, errors_of
from tests.support import Login

RUNNER = ["messaging.batch.view", "messaging.batch.run", "customers.customer.view"]
FEE_BODY = "尊敬的{{ customer.name }}：您{{ period }}的费用为{{ amount }}元，请于{{ due_date }}前缴纳。"
LIST_BODY = "您的账户{{ account_no }}本期应缴{{ amount }}元，请于{{ due_date }}前缴纳。"


@dataclass
class Env:
    msg: Messaging
    runner: Login  # runs batches; sees every customer and batch
    fee_template: int
    list_template: int

    def batch(self, who: Login | None = None, *, expect: int = 201, **body: Any) -> Any:
        data = {
            "name": "11月费用通知",
            "kind": "fee_notice",
            "template_id": self.fee_template,
            "variables": {"period": "2026年11月", "amount": "128.50", "due_date": "2026-11-30"},
            "filter": {"tiers": ["gold"]},
            **body,
        }
        return self.msg.call("POST", "/batches", who or self.runner, data, expect=expect)

    def list_batch(self, text: str, who: Login | None = None, *, expect: int = 201, **body: Any) -> Any:
        data = {
            "name": "催缴名单",
            "kind": "payment_reminder",
            "template_id": self.list_template,
            "variables": {"due_date": "2026-12-05"},
            "mode": "list",
            "list": text,
            **body,
        }
        return self.msg.call("POST", "/batches", who or self.runner, data, expect=expect)

    def start(self, batch_id: int, who: Login | None = None, *, expect: int = 200) -> Any:
        return self.msg.call("POST", f"/batches/{batch_id}/start", who or self.runner, expect=expect)

    def get(self, batch_id: int, who: Login | None = None, *, expect: int = 200) -> Any:
        return self.msg.call("GET", f"/batches/{batch_id}", who or self.runner, expect=expect)

    def results(self, batch_id: int, **params: Any) -> list[dict[str, Any]]:
        return self.msg.call("GET", f"/batches/{batch_id}/results", self.runner, limit=500, **params)["items"]


def customer(
    session,
    name: str,
    code: str,
    *,
    mobile: str | None = None,
    landline: str | None = None,
    email: str | None = None,
    tier: str | None = "gold",
    department=None,
    status: CustomerStatus = CustomerStatus.ACTIVE,
    kind: CustomerKind = CustomerKind.INDIVIDUAL,
) -> Customer:
    from kefu.customers import phones

    c = Customer(
        kind=kind,
        name=name,
        code=code,
        tier=tier,
        status=status,
        department_id=department.id if department else None,
    )
    if landline:  # saved as the primary number (and, carelessly, labelled a mobile)
        p = phones.normalise(landline)
        c.phones.append(CustomerPhone(number=p.display, e164=p.e164, is_primary=True, kind=PhoneKind.MOBILE))
    if mobile:
        p = phones.normalise(mobile)
        c.phones.append(CustomerPhone(number=p.display, e164=p.e164, is_primary=not landline))
    if email:
        c.emails.append(CustomerEmail(address=email, is_primary=True))
    session.add(c)
    session.flush()
    return c


def _template(msg: Messaging, code: str, kind: str, body: str, channel: str = "sms", **extra: Any) -> int:
    data = {
        "code": code,
        "name": code,
        "channel": channel,
        "kind": kind,
        "body": body,
        "business_category_id": msg.fees.id,
        **extra,
    }
    return msg.call("POST", "/templates", msg.admin, data, expect=201)["id"]


@pytest.fixture
def env(msg: Messaging) -> Env:
    msg.configure("sms", implementation="log")
    return Env(
        msg=msg,
        runner=msg.factory.token_login(msg.factory.user(RUNNER, department=msg.south)),
        fee_template=_template(msg, "fee_notice", "fee_notice", FEE_BODY),
        list_template=_template(msg, "reminder", "payment_reminder", LIST_BODY),
    )


def _dnd(msg: Messaging, number: str, category, mode: str = "refuse", reason: str = "") -> None:
    body = {"number": number, "business_category_id": category.id if category else None, "mode": mode}
    msg.call("POST", "/dnd", msg.admin, {**body, "reason": reason}, expect=201)


def _messages(session, batch_id: int) -> list[Message]:
    session.expire_all()
    return list(session.scalars(select(Message).where(Message.batch_id == batch_id).order_by(Message.id)))


def test_a_fee_notice_skips_dnd_numbers_of_its_business_and_reports_what_it_skipped(env, session):
    msg = env.msg
    reached = customer(session, "王一", "KHA", mobile="13900000001")
    refused = customer(session, "王二", "KHB", mobile="13900000002")
    other_business = customer(session, "王三", "KHC", mobile="13900000003")
    no_phone = customer(session, "王四", "KHD")
    landline = customer(session, "王五", "KHE", landline="010-12345678")
    warned = customer(session, "王六", "KHF", mobile="13900000006")
    customer(session, "王七", "KHG", mobile="13900000007", tier="silver")  # not selected
    sharing = customer(session, "王八", "KHH", mobile="139 0000 0001")  # the same number as 王一
    _dnd(msg, "13900000002", msg.fees, reason="客户拒收费用短信")
    _dnd(msg, "13900000003", msg.promotions, reason="不接收营销短信")
    _dnd(msg, "13900000006", msg.fees, mode="warn", reason="夜间勿扰")

    draft = env.batch()
    assert draft["status"] == "draft" and draft["business_category_id"] == msg.fees.id  # the template's
    preview = msg.call("GET", f"/batches/{draft['id']}/preview", env.runner)
    assert preview["recipients"] == 7
    first = preview["samples"][0]
    assert first["customer_name"] == "王一" and first["recipient"] == "139 0000 0001"
    assert first["body"] == "尊敬的王一：您2026年11月的费用为128.50元，请于2026-11-30前缴纳。"
    assert (
        preview["samples"][1]["skip_reason"] == "dnd" and "客户拒收费用短信" in preview["samples"][1]["note"]
    )
    assert [s["customer_name"] for s in preview["samples"]] == ["王一", "王二", "王三", "王四", "王五"]
    assert _messages(session, draft["id"]) == []  # a preview writes nothing

    assert env.start(draft["id"])["status"] == "running"  # answered before the background run
    done = env.get(draft["id"])
    progress = done["progress"]
    assert done["status"] == "done" and done["total"] == 7 and done["finished_at"] is not None
    assert progress["percent"] == 100 and progress["planned"] == 7
    assert progress["by_status"] == {"queued": 0, "sent": 2, "failed": 0, "skipped": 5, "cancelled": 0}
    assert progress["by_skip_reason"] == {"dnd": 2, "no_address": 2, "invalid": 0, "duplicate": 1}

    by_customer = {m.customer_id: m for m in _messages(session, draft["id"])}
    assert by_customer[reached.id].status.value == "sent" and by_customer[reached.id].gateway == "log"
    assert by_customer[other_business.id].status.value == "sent"  # DND for promotions only
    assert "王三" in by_customer[other_business.id].body
    assert (by_customer[refused.id].skip_reason.value, by_customer[warned.id].skip_reason.value) == (
        "dnd",
        "dnd",
    )
    assert "夜间勿扰" in by_customer[warned.id].error  # a batch never overrides a warning
    assert by_customer[no_phone.id].skip_reason.value == "no_address"
    assert by_customer[landline.id].skip_reason.value == "no_address"  # a landline cannot take an SMS
    assert by_customer[sharing.id].skip_reason.value == "duplicate"
    assert all(
        m.source.value == "batch" and m.business_category_id == msg.fees.id for m in by_customer.values()
    )

    dnd_rows = env.results(draft["id"], skip_reason="dnd")
    assert {r["customer_code"] for r in dnd_rows} == {"KHB", "KHF"}
    assert any("客户拒收费用短信" in r["note"] for r in dnd_rows)
    assert {r["customer_code"] for r in env.results(draft["id"], status="sent")} == {"KHA", "KHC"}

    export = msg.client.get(
        f"/api/v1/messaging/batches/{draft['id']}/results.csv", headers=env.runner.headers
    )
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert len(rows) == 8 and sum(1 for r in rows if "KHB" in r) == 1
    only_skipped = msg.client.get(
        f"/api/v1/messaging/batches/{draft['id']}/results.csv?status=skipped", headers=env.runner.headers
    )
    assert len(list(csv.reader(io.StringIO(only_skipped.content.decode("utf-8-sig"))))) == 6


def test_the_filter_combines_kinds_statuses_parent_and_subscriber_kind(env, session):
    msg = env.msg
    parent = customer(session, "某集团", "KHP", kind=CustomerKind.ENTERPRISE, mobile="13900000020")
    child = customer(session, "某集团一分公司", "KHP1", kind=CustomerKind.ENTERPRISE, mobile="13900000021")
    child.parent_id = parent.id
    closed = customer(session, "已销户", "KHX", mobile="13900000022", status=CustomerStatus.CLOSED)
    person = customer(session, "赵一", "KHZ", mobile="13900000023")
    broadband = session.scalar(select(SubscriberKind).where(SubscriberKind.code == "broadband"))
    session.add(
        Subscriber(customer_id=person.id, kind_id=broadband.id, service_number="BB1", number_key="BB1")
    )
    session.flush()

    def ids(**conditions: Any) -> int:
        batch = env.batch(filter={"tiers": ["gold"], **conditions})
        return msg.call("GET", f"/batches/{batch['id']}/preview", env.runner)["recipients"]

    assert ids() == 3  # gold and active (the default): parent, child, person
    assert ids(statuses=[]) == 4 and ids(statuses=["closed"]) == 1
    assert ids(kinds=["enterprise"]) == 2
    assert ids(parent_code="KHP") == 1 and ids(parent_id=parent.id) == 1
    assert ids(subscriber_kind_id=broadband.id) == 1
    assert ids(customer_codes=["KHZ", "KHP"]) == 2 and ids(customer_ids=[closed.id]) == 0
    bad = env.batch(
        filter={"tiers": ["platinum"], "parent_code": "NOPE", "department_ids": [999999]}, expect=422
    )
    assert {"filter.tiers", "filter.parent_code", "filter.department_ids"} <= set(errors_of(bad))


def test_a_list_renders_each_lines_values_and_a_missing_value_names_the_line(env, session):
    msg = env.msg
    before = session.scalar(select(func.count()).select_from(Batch))
    missing = env.list_batch("to,amount,account_no\n13900000011,100.00,ZH1\n13900000012,,ZH2\n", expect=422)
    errors = errors_of(missing)
    assert list(errors) == ["list.3.amount"] and "3" in errors["list.3.amount"]
    bad = env.list_batch("to,amount,account_no,colour\n13900000011,1,ZH1,red\n", expect=422)
    assert "list.1.colour" in errors_of(bad)
    bad = env.list_batch("amount,account_no\n1,ZH1\n", expect=422)
    assert "list" in errors_of(bad)
    bad = env.list_batch("to,amount,account_no\n010-12345678,1,ZH1\n13900000011,1,ZH1\n", expect=422)
    assert list(errors_of(bad)) == ["list.2.to"]
    bad = env.list_batch("customer_code,amount,account_no\nKH_NOBODY,1,ZH1\n", expect=422)
    assert list(errors_of(bad)) == ["list.2.customer_code"]
    # The customer's name needs the customer: a line with only an address cannot fill it.
    bad = env.list_batch(
        "to,amount\n13900000011,5\n", template_id=env.fee_template, kind="fee_notice", expect=422
    )
    assert set(errors_of(bad)) == {"list.2.customer_code", "list.2.period"}
    too_long = "customer_code,amount\n" + "KHA,1\n" * (50_001)
    assert "list" in errors_of(env.list_batch(too_long, expect=422))
    assert session.scalar(select(func.count()).select_from(Batch)) == before  # nothing written

    known = customer(session, "钱一", "KHQ", mobile="13900000013")
    text = (
        "\ufeffto,customer_code,amount,account_no,due_date\n"
        "13900000011,,100.00,ZH1,\n"
        "139-0000-0012,,200.50,ZH2,2026-12-31\n"
        "\n"
        ",KHQ,300,ZH3,\n"
    )
    batch = env.list_batch(text)
    assert batch["mode"] == "list" and batch["list_lines"] == 3
    listed = {b["id"]: b for b in msg.call("GET", "/batches", env.runner)["items"]}
    assert listed[batch["id"]]["mode"] == "list" and listed[batch["id"]]["list_lines"] is None
    env.start(batch["id"])
    rows = _messages(session, batch["id"])
    assert [(m.reference, m.recipient_key, m.status.value) for m in rows] == [
        ("2", "+8613900000011", "sent"),
        ("3", "+8613900000012", "sent"),
        ("5", "+8613900000013", "sent"),
    ]
    assert rows[0].body == "您的账户ZH1本期应缴100.00元，请于2026-12-05前缴纳。"
    assert rows[1].body == "您的账户ZH2本期应缴200.50元，请于2026-12-31前缴纳。"  # the line's own date wins
    assert rows[2].body.startswith("您的账户ZH3本期应缴300元") and rows[2].customer_id == known.id
    assert [r["line"] for r in env.results(batch["id"])] == [2, 3, 5]
    # Tab-separated text pasted from a spreadsheet works the same.
    pasted = env.list_batch("to\tamount\taccount_no\n13900000014\t9.9\tZH9\n")
    assert msg.call("GET", f"/batches/{pasted['id']}/preview", env.runner)["samples"][0]["body"].startswith(
        "您的账户ZH9本期应缴9.9元"
    )


def test_a_resumed_run_sends_nothing_twice(env, session, sms_gateway, monkeypatch):
    msg = env.msg
    msg.configure("sms", implementation="http", http_url=sms_gateway.url)
    for n in range(1, 8):
        customer(session, f"孙{n}", f"KHS{n}", mobile=f"1390000010{n}")
    customer(session, "孙8", "KHS8", mobile="13900000101")  # shares 孙1's number
    draft = env.batch()
    batch = session.get(Batch, draft["id"])
    # Started in this unit of work, which never commits: the background job is not run, as if the
    # process stopped right after the start.
    batches.start(session, msg.factory.actor(env.runner.user), batch)
    session.flush()

    real_queue, calls = outbox.queue, []

    def crash_on_the_fifth(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("worker killed")
        return real_queue(*args, **kwargs)

    monkeypatch.setattr(outbox, "queue", crash_on_the_fifth)
    with pytest.raises(RuntimeError):
        batch_run.resolve(batch.id, chunk_size=2)
    monkeypatch.setattr(outbox, "queue", real_queue)
    assert len(sms_gateway.received) == 4  # two chunks committed and delivered; the third rolled back
    assert len(_messages(session, batch.id)) == 4

    assert batch_run.resolve(batch.id, chunk_size=2) == 4  # resumes after the last customer written
    assert batch_run.resolve(batch.id) == 0  # nothing left: a third call is harmless
    numbers = [r["to"] for r in sms_gateway.received]
    assert sorted(numbers) == [f"1390000010{n}" for n in range(1, 8)]  # each number once
    rows = _messages(session, batch.id)
    assert len(rows) == 8 and len({m.recipient_key for m in rows}) == 8
    assert [m.skip_reason.value for m in rows if m.skip_reason] == ["duplicate"]
    session.refresh(batch)
    assert batch.status.value == "done" and batch.total == 8


def test_starting_twice_or_resolving_again_after_the_end_sends_nothing(env, session):
    customer(session, "周一", "KHW1", mobile="13900000201")
    draft = env.batch()
    env.start(draft["id"])
    assert env.get(draft["id"])["status"] == "done"
    env.start(draft["id"], expect=409)
    assert batch_run.resolve(draft["id"]) == 0
    assert len(_messages(session, draft["id"])) == 1


def test_cancel_withdraws_what_is_still_queued(env, session, sms_gateway):
    msg = env.msg
    msg.configure("sms", implementation="http", http_url=sms_gateway.url, max_attempts=5)
    sms_gateway.answers = [
        (503, {"error": "busy"})
    ] * 10  # every first attempt fails: messages wait for a retry
    for n in range(1, 4):
        customer(session, f"吴{n}", f"KHU{n}", mobile=f"1390000030{n}")
    draft = env.batch()
    env.start(draft["id"])
    running = env.get(draft["id"])
    assert running["status"] == "running" and running["progress"]["by_status"]["queued"] == 3
    assert running["progress"]["percent"] == 0
    cancelled = msg.call("POST", f"/batches/{draft['id']}/cancel", env.runner)
    assert cancelled["status"] == "cancelled" and cancelled["progress"]["by_status"]["cancelled"] == 3
    received = len(sms_gateway.received)
    for m in _messages(session, draft["id"]):
        assert outbox.deliver(m.id).value == "cancelled"  # the retry finds nothing to send
    assert len(sms_gateway.received) == received
    msg.call("POST", f"/batches/{draft['id']}/cancel", env.runner, expect=409)
    msg.call("POST", f"/batches/{draft['id']}/start", env.runner, expect=409)

    other = env.batch(name="草稿")
    assert msg.call("POST", f"/batches/{other['id']}/cancel", env.runner)["status"] == "cancelled"


def test_data_scope_limits_the_customers_reached_and_the_batches_seen(env, session):
    msg = env.msg
    north_runner = msg.factory.token_login(
        msg.factory.user(RUNNER, scope=DataScope.DEPARTMENT, department=msg.north)
    )
    south_runner = msg.factory.token_login(
        msg.factory.user(RUNNER, scope=DataScope.DEPARTMENT, department=msg.south)
    )
    mine = customer(session, "北一", "KHN1", mobile="13900000401", department=msg.north)
    customer(session, "南一", "KHS01", mobile="13900000402", department=msg.south)
    customer(session, "无部门", "KHO1", mobile="13900000403")

    draft = env.batch(north_runner, filter={})
    assert msg.call("GET", f"/batches/{draft['id']}/preview", north_runner)["recipients"] == 1
    env.start(draft["id"], north_runner)
    assert [m.customer_id for m in _messages(session, draft["id"])] == [mine.id]
    # A customer outside one's scope cannot be named either, in a filter or on a list.
    assert "filter.customer_codes" in errors_of(
        env.batch(north_runner, filter={"customer_codes": ["KHS01"]}, expect=422)
    )
    bad = env.list_batch("customer_code,amount,account_no\nKHS01,1,ZH1\n", north_runner, expect=422)
    assert list(errors_of(bad)) == ["list.2.customer_code"]

    listed = lambda who: {b["id"] for b in msg.call("GET", "/batches", who)["items"]}  # noqa: E731
    assert draft["id"] in listed(north_runner) and draft["id"] in listed(env.runner)
    assert draft["id"] not in listed(south_runner)
    env.get(draft["id"], south_runner, expect=404)
    msg.call("GET", f"/batches/{draft['id']}/results", south_runner, expect=404)
    msg.call("POST", f"/batches/{draft['id']}/cancel", south_runner, expect=404)
    r = msg.client.get(f"/api/v1/messaging/batches/{draft['id']}/results.csv", headers=south_runner.headers)
    assert r.status_code == 404
    # A runner without the view right sees the batches of their run scope: here, their own.
    own = ["messaging.batch.run", "customers.customer.view"]
    own_runner = msg.factory.token_login(msg.factory.user(own, scope=DataScope.OWN, department=msg.north))
    assert listed(own_runner) == set()
    env.get(draft["id"], own_runner, expect=404)
    theirs = env.batch(own_runner, filter={})
    assert listed(own_runner) == {theirs["id"]} and env.get(theirs["id"], own_runner)["status"] == "draft"


def test_permissions_and_checks_before_anything_is_written(env, session):
    msg = env.msg
    viewer = msg.factory.token_login(msg.factory.user(["messaging.batch.view"]))
    customer(session, "郑一", "KHY1", mobile="13900000501")
    draft = env.batch()
    msg.call("GET", "/batches", msg.nobody, expect=403)
    env.batch(msg.nobody, expect=403)
    env.batch(viewer, expect=403)
    env.start(draft["id"], viewer, expect=403)
    msg.call("POST", f"/batches/{draft['id']}/cancel", viewer, expect=403)
    assert env.get(draft["id"], viewer)["status"] == "draft"

    before = session.scalar(select(func.count()).select_from(Batch))
    r = env.batch(name=" ", kind="general", expect=422)
    assert {"name", "kind"} <= set(errors_of(r))
    r = env.batch(variables={"period": "11月", "amount": "1"}, expect=422)
    assert list(errors_of(r)) == ["variables.due_date"]
    r = env.batch(variables={"colour": "red"}, expect=422)
    assert "variables.colour" in errors_of(r)
    promo = _template(msg, "promo", "promotion", "新套餐上线：{{ content }}")
    assert "template_id" in errors_of(
        env.batch(template_id=promo, expect=422)
    )  # a promotion is no fee notice
    assert "template_id" in errors_of(env.batch(channel="email", expect=422))  # an SMS template
    assert "business_category_id" in errors_of(env.batch(business_category_id=999999, expect=422))
    assert session.scalar(select(func.count()).select_from(Batch)) == before

    msg.configure("sms", implementation="off")
    assert "channel" in errors_of(env.start(draft["id"], expect=422))
    assert env.get(draft["id"])["status"] == "draft"


def test_an_email_batch_goes_to_the_primary_address(env, session):
    msg = env.msg
    msg.configure("email", implementation="log")
    template = _template(
        msg, "fee_mail", "fee_notice", FEE_BODY, channel="email", subject="{{ period }}费用通知"
    )
    person = customer(session, "冯一", "KHM1", email="Feng@Example.com")
    customer(session, "冯二", "KHM2", mobile="13900000601")  # no e-mail
    draft = env.batch(channel="email", template_id=template)
    env.start(draft["id"])
    rows = _messages(session, draft["id"])
    sent = next(m for m in rows if m.customer_id == person.id)
    assert sent.status.value == "sent" and sent.recipient_key == "feng@example.com"
    assert sent.subject == "2026年11月费用通知"
    assert [m.skip_reason.value for m in rows if m.skip_reason] == ["no_address"]


def test_the_sweep_resumes_a_resolution_whose_job_was_lost(env, session):
    from datetime import UTC, datetime, timedelta

    from kefu.core import clock

    customer(session, "陈一", "KHR1", mobile="13900000701")
    customer(session, "陈二", "KHR2", mobile="13900000702")
    draft = env.batch()
    batch = session.get(Batch, draft["id"])
    t0 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    with clock.freeze(t0):
        batches.start(session, env.msg.factory.actor(env.runner.user), batch)  # never committed: no job
        session.flush()
    with clock.freeze(t0 + timedelta(minutes=5)):
        assert batch_run.sweep() == 0  # it may still be on its way
        assert _messages(session, batch.id) == []
    with clock.freeze(t0 + batch_run.STALLED + timedelta(minutes=1)):
        assert batch_run.sweep() == 1
    rows = _messages(session, batch.id)
    assert [m.status.value for m in rows] == ["sent", "sent"]
    session.refresh(batch)
    assert batch.status.value == "done" and batch.total == 2
    assert batch_run.sweep() == 0
