"""Sending SMS and e-mail through real gateways: a local HTTP SMS gateway and an SMTP server; retries,
permanent failures, never twice; bad input leaves nothing behind; the send log's data scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header

from sqlalchemy import func, select

from kefu.core import clock
from kefu.messaging import outbox
from kefu.messaging.models import Message
from tests.api.messaging.conftest import MOBILE, errors_of


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(Message))


def _row(session, message_id: int) -> Message:
    row = session.get(Message, message_id)
    session.refresh(row)
    return row


def test_a_channel_without_a_gateway_refuses_clearly_and_writes_nothing(msg, session):
    r = msg.sms(expect=422)
    assert "channel" in errors_of(r)
    assert _count(session) == 0


def test_bad_input_names_the_field_and_writes_nothing(msg, session):
    msg.configure("sms", implementation="log")
    assert "to" in errors_of(msg.sms(to="12345", expect=422))
    # A landline cannot receive an SMS.
    assert "to" in errors_of(msg.sms(to="010-12345678", expect=422))
    assert "body" in errors_of(msg.sms(body="   ", expect=422))
    assert "body" in errors_of(msg.sms(body="长" * 2001, expect=422))
    # Filing a message under a ticket one cannot see is refused (replies would thread into it).
    assert "ticket_id" in errors_of(msg.sms(ticket_id=999999, expect=422))
    r = msg.call(
        "POST", "/messages", msg.agent, {"channel": "email", "to": "not-an-address", "body": "x"}, expect=422
    )
    assert "channel" in errors_of(r)  # e-mail has no gateway yet
    msg.configure("email", implementation="log")
    r = msg.call(
        "POST", "/messages", msg.agent, {"channel": "email", "to": "not-an-address", "body": "x"}, expect=422
    )
    assert "to" in errors_of(r)
    r = msg.call(
        "POST", "/messages", msg.agent, {"channel": "email", "to": "a@example.com", "body": "x"}, expect=422
    )
    assert "subject" in errors_of(r)
    assert _count(session) == 0
    msg.call("POST", "/messages", msg.nobody, {"channel": "sms", "to": MOBILE, "body": "x"}, expect=403)


def test_the_log_gateway_marks_messages_as_delivered_to_the_log(msg, session):
    msg.configure("sms", implementation="log")
    r = msg.sms(to="+86 138-0013-8000")
    row = _row(session, r["id"])
    assert row.status.value == "sent" and row.gateway == "log" and row.attempts == 1
    assert row.recipient_key == "+8613800138000" and row.sent_at is not None


def test_http_gateway_receives_the_message_and_its_reference_is_kept(msg, session, sms_gateway):
    msg.configure(
        "sms",
        implementation="http",
        http_url=sms_gateway.url,
        auth_value="Bearer s3cret",
        sign="【客服中心】",
    )
    r = msg.sms(customer_id=msg.customer_id)
    assert r["status"] == "queued"  # the answer is given before delivery; the job ran after commit
    row = _row(session, r["id"])
    assert row.status.value == "sent" and row.provider_ref == "G1" and row.gateway == "http"
    assert sms_gateway.received == [
        {
            "to": MOBILE,
            "content": "【客服中心】您好，您的宽带已恢复。",
            "sign": "【客服中心】",
            "reference": str(r["id"]),
        }
    ]
    assert sms_gateway.headers[0]["Authorization"] == "Bearer s3cret"
    # Delivering again changes nothing: never twice.
    assert outbox.deliver(r["id"]).value == "sent"
    assert len(sms_gateway.received) == 1
    # The secret is never shown back.
    gateways = msg.call("GET", "/gateways", msg.admin)
    sms = next(g for g in gateways if g["channel"] == "sms")
    assert sms["auth_value_set"] is True and "auth_value" not in sms


def test_transient_failures_are_retried_then_fail_and_can_be_sent_again(msg, session, sms_gateway):
    msg.configure("sms", implementation="http", http_url=sms_gateway.url, max_attempts=3)
    sms_gateway.answers = [(503, {"error": "busy"}), (500, {"error": "oops"}), (502, {}), (200, {"id": "X9"})]
    t0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    with clock.freeze(t0):
        r = msg.sms()
        row = _row(session, r["id"])
        assert row.status.value == "queued" and row.attempts == 1 and "503" in row.error
        assert row.next_attempt_at == t0 + timedelta(minutes=1)
        assert outbox.deliver_due() == 0  # not due yet
        clock.advance(timedelta(minutes=1))
        assert outbox.deliver_due() == 1
        row = _row(session, r["id"])
        assert row.attempts == 2 and row.next_attempt_at == t0 + timedelta(minutes=6)
        clock.advance(timedelta(minutes=5))
        outbox.deliver_due()
        row = _row(session, r["id"])
        assert row.status.value == "failed" and row.attempts == 3 and "502" in row.error
        assert len(sms_gateway.received) == 3
        # The agent sends it again: a new round, delivered this time.
        again = msg.call("POST", f"/messages/{r['id']}/retry", msg.agent)
        assert again["status"] == "queued"
        row = _row(session, r["id"])
        assert row.status.value == "sent" and row.provider_ref == "X9"
        msg.call("POST", f"/messages/{r['id']}/retry", msg.agent, expect=409)
        reader = msg.factory.token_login(msg.factory.user(["messaging.message.view"]))
        msg.call("POST", f"/messages/{r['id']}/retry", reader, expect=403)  # may read, may not send
        sender = msg.factory.token_login(msg.factory.user(["messaging.message.send"]))
        msg.call("POST", f"/messages/{r['id']}/retry", sender, expect=404)  # may send, may not see it


def test_a_refusal_by_the_gateway_fails_at_once(msg, session, sms_gateway):
    msg.configure("sms", implementation="http", http_url=sms_gateway.url, max_attempts=5)
    sms_gateway.answers = [(400, {"error": "invalid number"})]
    row = _row(session, msg.sms()["id"])
    assert row.status.value == "failed" and row.attempts == 1 and "invalid number" in row.error


def test_an_unreachable_gateway_is_a_transient_failure(msg, session, sms_gateway):
    msg.configure("sms", implementation="http", http_url="http://127.0.0.1:9/send", timeout_seconds=1)
    row = _row(session, msg.sms()["id"])
    assert row.status.value == "queued" and "unreachable" in row.error


def test_email_goes_through_a_real_smtp_server(msg, session, smtp):
    sink, port = smtp
    msg.configure(
        "email",
        implementation="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        from_address="service@kefu.example.com",
        from_name="客服中心",
    )
    r = msg.call(
        "POST",
        "/messages",
        msg.agent,
        {
            "channel": "email",
            "to": "Zhang.San@Example.com",
            "subject": "宽带故障已修复",
            "body": "张先生您好：\n您报修的宽带故障已修复。",
            "customer_id": msg.customer_id,
        },
        expect=201,
    )
    row = _row(session, r["id"])
    assert row.status.value == "sent" and row.gateway == "smtp"
    assert len(sink.messages) == 1
    mail = sink.messages[0]
    assert mail["Message-ID"] == row.provider_ref and row.provider_ref.endswith("@kefu.example.com>")
    assert str(make_header(decode_header(mail["Subject"]))) == "宽带故障已修复"
    assert str(make_header(decode_header(mail["From"]))) == "客服中心 <service@kefu.example.com>"
    assert str(make_header(decode_header(mail["To"]))) == "张三 <Zhang.San@example.com>"
    assert "您报修的宽带故障已修复" in mail.get_payload(decode=True).decode()


def test_an_address_the_mail_server_refuses_fails_without_retry(msg, session, smtp):
    sink, port = smtp
    sink.refuse["nobody@example.com"] = "550 No such user"
    msg.configure(
        "email", implementation="smtp", smtp_host="127.0.0.1", smtp_port=port, from_address="s@example.com"
    )
    r = msg.call(
        "POST",
        "/messages",
        msg.agent,
        {"channel": "email", "to": "nobody@example.com", "subject": "s", "body": "b"},
        expect=201,
    )
    row = _row(session, r["id"])
    assert row.status.value == "failed" and "refused" in row.error and row.attempts == 1


def test_gateway_configuration_is_checked_and_a_test_message_goes_out(msg, session, smtp):
    r = msg.call(
        "PUT", "/gateways/sms", msg.admin, {"implementation": "http", "http_url": "ftp://x"}, expect=422
    )
    assert "http_url" in errors_of(r)
    r = msg.call(
        "PUT", "/gateways/email", msg.admin, {"implementation": "smtp", "smtp_port": "99999"}, expect=422
    )
    assert {"smtp_host", "from_address", "smtp_port"} <= set(errors_of(r))
    r = msg.call("PUT", "/gateways/sms", msg.admin, {"implementation": "smtp"}, expect=422)
    assert "implementation" in errors_of(r)
    msg.call("PUT", "/gateways/sms", msg.agent, {"implementation": "log"}, expect=403)
    sink, port = smtp
    msg.configure(
        "email", implementation="smtp", smtp_host="127.0.0.1", smtp_port=port, from_address="s@example.com"
    )
    sent = msg.call("POST", "/gateways/email/test", msg.admin, {"to": "admin@example.com"}, expect=201)
    assert _row(session, sent["id"]).status.value == "sent" and len(sink.messages) == 1


def test_the_send_log_follows_the_data_scope(msg, session):
    msg.configure("sms", implementation="log")
    mine = msg.sms(msg.own_agent)["id"]
    north = msg.sms(msg.north_agent)["id"]
    south = msg.sms(msg.agent)["id"]
    ids = lambda who: {m["id"] for m in msg.call("GET", "/messages", who)["items"]}  # noqa: E731
    assert ids(msg.agent) == {mine, north, south}
    assert ids(msg.north_agent) == {mine, north}
    assert ids(msg.own_agent) == {mine}
    msg.call("GET", f"/messages/{south}", msg.north_agent, expect=404)
    assert msg.call("GET", f"/messages/{north}", msg.north_agent)["id"] == north
    assert msg.call("GET", "/messages", msg.agent, to="138 0013 8000")["total"] == 3
    assert msg.call("GET", "/messages", msg.agent, status="failed")["total"] == 0
    msg.call("GET", "/messages", msg.nobody, expect=403)
