"""The messaging pages as signed-in people use them: sending from a template with the live preview,
do-not-disturb refusing or asking for a confirmation, the send log within its data scope, templates,
the do-not-disturb list and its import, the blacklist, and the gateways that never show a secret."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from kefu.messaging.models import (
    Batch,
    BlacklistEntry,
    DndEntry,
    Gateway,
    Message,
    MessageStatus,
    MessageTemplate,
    TemplateKind,
)
from tests.api.messaging.conftest import MOBILE
from tests.support import browser_login

HX = {"HX-Request": "true"}
FEE_BODY = "{{ customer.name }}您好，您{{ period }}的话费{{ amount }}元，请于{{ due_date }}前缴纳。"


def _login(msg, who) -> str:
    msg.client.cookies.clear()
    return browser_login(msg.client, who.user.username)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _fee_template(msg) -> dict:
    return msg.call(
        "POST",
        "/templates",
        msg.admin,
        {
            "code": "fee",
            "name": "缴费提醒",
            "channel": "sms",
            "kind": "payment_reminder",
            "business_category_id": msg.fees.id,
            "body": FEE_BODY,
        },
        expect=201,
    )


def _message_id(page_text: str) -> int:
    found = re.search(r'id="send-result" data-message="(\d+)"', page_text)
    assert found, page_text[:3000]
    return int(found.group(1))


def test_sending_from_a_template_with_the_customer_and_the_live_preview(msg, session):
    msg.configure("sms", implementation="log", sign="【客服】")
    t = _fee_template(msg)
    csrf = _login(msg, msg.agent)
    # The 360 page links to the send form for people who may send.
    detail = msg.client.get(f"/customers/{msg.customer_id}")
    assert f'href="/messaging/send?customer_id={msg.customer_id}"' in detail.text
    form = msg.client.get(f"/messaging/send?customer_id={msg.customer_id}")
    assert form.status_code == 200 and 'id="send-form"' in form.text
    assert 'name="to" value="138 0013 8000"' in form.text and 'id="send-customer"' in form.text
    assert f'<option value="{t["id"]}"' in form.text
    # Only channels with a gateway are offered.
    assert '<option value="sms"' in form.text and '<option value="email"' not in form.text
    nav = re.findall(r'data-nav="(/messaging[^"]*)"', form.text)
    assert nav == ["/messaging/send", "/messaging/log"]
    base = {"csrf_token": csrf, "channel": "sms", "customer_id": str(msg.customer_id), "to": MOBILE}
    # Choosing the template shows the inputs of its notice values, and the preview out of band.
    compose = msg.client.post(
        "/messaging/send/compose",
        data={**base, "template_id": str(t["id"]), "changed": "template"},
        headers=HX,
    )
    assert compose.status_code == 200 and "<html" not in compose.text
    fields = re.findall(r'name="variables\.(\w+)"', compose.text)
    assert fields == ["amount", "due_date", "period"]
    assert 'hx-swap-oob="true"' in compose.text and "【客服】张三您好" in compose.text
    # The business type follows the template's.
    assert re.search(rf'<option value="{msg.fees.id}" selected', compose.text)
    preview = msg.client.post(
        "/messaging/send/preview",
        data={**base, "template_id": str(t["id"]), "variables.amount": "99.00", "variables.period": "11月"},
        headers=HX,
    )
    assert "张三您好，您11月的话费99.00元" in preview.text
    assert re.search(r'id="preview-length" data-characters="\d+" data-parts="1"', preview.text)
    sent = msg.client.post(
        "/messaging/send",
        data={
            **base,
            "template_id": str(t["id"]),
            "variables.amount": "56.80",
            "variables.period": "11月",
            "variables.due_date": "11月30日",
            "business_category_id": str(msg.fees.id),
        },
    )
    assert sent.status_code == 200, sent.text
    message_id = _message_id(sent.text)
    assert f'href="/messaging/log/{message_id}"' in sent.text
    row = session.get(Message, message_id)
    session.refresh(row)
    assert row.body == "张三您好，您11月的话费56.80元，请于11月30日前缴纳。"
    assert row.status is MessageStatus.SENT and row.gateway == "log" and row.customer_id == msg.customer_id
    assert row.business_category_id == msg.fees.id and row.template_id == t["id"]
    log = msg.client.get(f"/messaging/log/{message_id}")
    assert log.status_code == 200 and 'data-status="sent"' in log.text and "56.80" in log.text
    assert 'id="retry-form"' not in log.text  # only a failed message is sent again


def test_do_not_disturb_refuses_on_the_recipient_and_nothing_is_written(msg, session):
    msg.configure("sms", implementation="log")
    msg.call(
        "POST",
        "/dnd",
        msg.admin,
        {"number": MOBILE, "business_category_id": msg.promotions.id, "reason": "不接收营销短信"},
        expect=201,
    )
    csrf = _login(msg, msg.agent)
    r = msg.client.post(
        "/messaging/send",
        data={
            "csrf_token": csrf,
            "channel": "sms",
            "to": MOBILE,
            "body": "宽带提速优惠",
            "business_category_id": str(msg.promo_child.id),
        },
    )
    assert r.status_code == 422
    assert re.search(r'data-error-for="to">[^<]*不接收营销短信', r.text)
    assert "宽带提速优惠</textarea>" in r.text and 'name="confirm_dnd"' not in r.text
    assert _count(session, Message) == 0


def test_a_do_not_disturb_warning_is_confirmed_and_kept_with_the_message(msg, session):
    msg.configure("sms", implementation="log")
    msg.call(
        "POST",
        "/dnd",
        msg.admin,
        {"number": MOBILE, "business_category_id": msg.promotions.id, "mode": "warn", "reason": "夜间勿扰"},
        expect=201,
    )
    csrf = _login(msg, msg.agent)
    data = {
        "csrf_token": csrf,
        "channel": "sms",
        "to": MOBILE,
        "body": "提速套餐已开通",
        "business_category_id": str(msg.promotions.id),
    }
    warned = msg.client.post("/messaging/send", data=data)
    assert warned.status_code == 422 and 'id="dnd-warning"' in warned.text
    assert re.search(r'data-error-for="confirm_dnd">[^<]*夜间勿扰', warned.text)
    assert 'name="confirm_dnd" value="1"' in warned.text and "提速套餐已开通</textarea>" in warned.text
    assert _count(session, Message) == 0
    confirmed = msg.client.post("/messaging/send", data={**data, "confirm_dnd": "1"})
    assert confirmed.status_code == 200, confirmed.text
    row = session.get(Message, _message_id(confirmed.text))
    assert row.dnd_note == "夜间勿扰" and row.body == "提速套餐已开通"


def test_bad_input_shows_the_form_again_with_its_values_and_writes_nothing(msg, session):
    csrf = _login(msg, msg.agent)
    # No gateway is on: the page says so and offers no form.
    page = msg.client.get("/messaging/send")
    assert 'id="no-gateway"' in page.text and 'id="send-form"' not in page.text
    msg.configure("sms", implementation="log")
    data = {"csrf_token": csrf, "channel": "sms", "to": "12345", "body": "您好"}
    r = msg.client.post("/messaging/send", data=data)
    assert r.status_code == 422 and 'data-error-for="to"' in r.text
    assert 'value="12345"' in r.text and "您好</textarea>" in r.text
    r = msg.client.post("/messaging/send", data={**data, "to": MOBILE, "body": " "})
    assert r.status_code == 422 and 'data-error-for="body"' in r.text
    r = msg.client.post("/messaging/send", data={**data, "to": MOBILE, "channel": "email"})
    assert r.status_code == 422 and 'data-error-for="channel"' in r.text
    r = msg.client.post("/messaging/send", data={**data, "to": MOBILE, "channel": "fax"})
    assert r.status_code == 422 and 'data-error-for="channel"' in r.text
    # A template's missing value is named beside its input.
    t = _fee_template(msg)
    r = msg.client.post(
        "/messaging/send",
        data={**data, "to": MOBILE, "template_id": str(t["id"]), "variables.amount": "12"},
    )
    assert r.status_code == 422 and 'data-error-for="variables.' in r.text and 'value="12"' in r.text
    assert _count(session, Message) == 0
    # E-mail needs a subject; switching the channel brings the customer's address.
    msg.configure("email", implementation="log")
    switched = msg.client.post(
        "/messaging/send/compose",
        data={"csrf_token": csrf, "channel": "email", "to": "", "changed": "channel"},
        headers=HX,
    )
    assert 'name="subject"' in switched.text and 'name="body"' in switched.text
    mail = {"csrf_token": csrf, "channel": "email", "to": "zhang@example.com", "body": "您好"}
    r = msg.client.post("/messaging/send", data=mail)
    assert r.status_code == 422 and 'data-error-for="subject"' in r.text
    r = msg.client.post("/messaging/send", data={**mail, "subject": "宽带已修复"})
    assert r.status_code == 200 and session.get(Message, _message_id(r.text)).subject == "宽带已修复"


def test_the_send_log_follows_the_data_scope_and_sends_a_failed_message_again(msg, session):
    msg.configure("sms", implementation="log")
    mine = msg.sms(msg.own_agent)["id"]
    north = msg.sms(msg.north_agent)["id"]
    south = msg.sms(msg.agent, body="南区的消息")["id"]
    _login(msg, msg.north_agent)
    page = msg.client.get("/messaging/log")
    assert page.status_code == 200
    shown = {int(i) for i in re.findall(r'<tr data-message="(\d+)"', page.text)}
    assert shown == {mine, north}
    assert msg.client.get(f"/messaging/log/{south}").status_code == 404
    _login(msg, msg.own_agent)
    page = msg.client.get("/messaging/log")
    assert {int(i) for i in re.findall(r'<tr data-message="(\d+)"', page.text)} == {mine}
    _login(msg, msg.agent)
    page = msg.client.get("/messaging/log?status=sent&to=138-0013-8000")
    assert len(re.findall(r'<tr data-message="', page.text)) == 3 and 'data-total="3"' in page.text
    fragment = msg.client.get("/messaging/log?status=failed", headers={**HX, "HX-Target": "log-results"})
    assert 'id="no-messages"' in fragment.text and "<html" not in fragment.text
    bad = msg.client.get("/messaging/log?since=yesterday")
    assert bad.status_code == 422 and 'data-error-for="since"' in bad.text
    # A failed message can be sent again from its page.
    row = session.get(Message, south)
    row.status, row.error = MessageStatus.FAILED, "SMS gateway answered 503"
    session.flush()
    csrf = _login(msg, msg.agent)
    detail = msg.client.get(f"/messaging/log/{south}")
    assert 'id="retry-form"' in detail.text and "SMS gateway answered 503" in detail.text
    again = msg.client.post(
        f"/messaging/log/{south}/retry", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert again.status_code == 303
    session.refresh(row)
    assert row.status is MessageStatus.SENT
    stale = msg.client.post(f"/messaging/log/{south}/retry", data={"csrf_token": csrf})
    assert stale.status_code == 409 and 'data-error-for="_"' in stale.text
    # Reading the log is not sending: a reader without the right to send cannot send again.
    reader = msg.factory.token_login(msg.factory.user(["messaging.message.view"]))
    r = msg.client.post(f"/messaging/log/{south}/retry", headers=reader.headers)
    assert r.status_code == 403


def test_a_template_with_an_unknown_variable_is_shown_again_with_the_error(msg, session):
    csrf = _login(msg, msg.admin)
    new = msg.client.get("/messaging/templates/new")
    assert new.status_code == 200 and 'id="variable-chips"' in new.text
    assert 'data-insert="{{ customer.name }}"' in new.text and 'data-insert="{{ amount }}"' in new.text
    data = {
        "csrf_token": csrf,
        "code": "notice",
        "name": "停机通知",
        "channel": "sms",
        "kind": "service_notice",
        "body": "{{ custmer.name }}您好，{{ area }}将于{{ start_time }}停机维护。",
        "enabled": "1",
    }
    r = msg.client.post("/messaging/templates/new", data=data)
    assert r.status_code == 422
    assert re.search(r'data-error-for="body">[^<]*custmer', r.text)
    assert 'value="停机通知"' in r.text and "{{ custmer.name }}您好" in r.text
    assert _count(session, MessageTemplate) == 0
    preview = msg.client.post("/messaging/templates/preview", data=data, headers=HX)
    assert 'id="preview-error"' in preview.text and "custmer" in preview.text
    data["body"] = "{{ customer.name }}您好，{{ area }}将于{{ start_time }}停机维护。"
    preview = msg.client.post("/messaging/templates/preview", data=data, headers=HX)
    assert "张三您好，朝阳区将于" in preview.text and 'data-parts="1"' in preview.text
    created = msg.client.post("/messaging/templates/new", data=data, follow_redirects=False)
    assert created.status_code == 303
    template = session.scalars(select(MessageTemplate)).one()
    assert template.kind is TemplateKind.SERVICE_NOTICE and template.enabled
    listing = msg.client.get("/messaging/templates")
    assert f'data-template="{template.id}"' in listing.text
    # Editing: an unticked box disables it.
    edit = msg.client.get(f"/messaging/templates/{template.id}")
    assert 'value="notice"' in edit.text and 'id="preview-body"' in edit.text
    saved = msg.client.post(
        f"/messaging/templates/{template.id}",
        data={k: v for k, v in data.items() if k != "enabled"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    session.refresh(template)
    assert template.enabled is False
    # A template a batch used is kept: the refusal is shown.
    session.add(
        Batch(
            name="十一月停机",
            kind=TemplateKind.SERVICE_NOTICE,
            channel=template.channel,
            template_id=template.id,
        )
    )
    session.flush()
    refused = msg.client.post(f"/messaging/templates/{template.id}/delete", data={"csrf_token": csrf})
    assert refused.status_code == 409 and 'data-error-for="_"' in refused.text
    assert _count(session, MessageTemplate) == 1


def test_dnd_import_names_the_bad_line_and_adds_nothing(msg, session):
    csrf = _login(msg, msg.admin)
    page = msg.client.get("/messaging/dnd")
    assert page.status_code == 200 and 'id="dnd-import-form"' in page.text
    lines = "13800138000, 客户要求不接收营销短信\n不是号码\n13900139000"
    r = msg.client.post(
        "/messaging/dnd/import",
        data={
            "csrf_token": csrf,
            "lines": lines,
            "business_category_id": str(msg.promotions.id),
            "mode": "refuse",
        },
    )
    assert r.status_code == 422
    assert re.findall(r'<li data-line="(\d+)">', r.text) == ["2"]
    assert "不是号码" in r.text  # the text is kept for correcting
    assert _count(session, DndEntry) == 0
    ok = msg.client.post(
        "/messaging/dnd/import",
        data={"csrf_token": csrf, "lines": "13800138000, 客户要求\n13900139000", "mode": "warn"},
    )
    assert ok.status_code == 200 and 'data-added="2" data-already="0"' in ok.text
    assert _count(session, DndEntry) == 2
    # One more by hand, with a validity window; a window ending before it starts is refused.
    bad = msg.client.post(
        "/messaging/dnd/add",
        data={
            "csrf_token": csrf,
            "number": "13700137000",
            "valid_from": "2026-12-01T00:00",
            "valid_until": "2026-11-01T00:00",
        },
    )
    assert bad.status_code == 422 and 'data-error-for="valid_until"' in bad.text
    added = msg.client.post(
        "/messaging/dnd/add",
        data={
            "csrf_token": csrf,
            "number": "137-0013-7000",
            "business_category_id": str(msg.fees.id),
            "reason": "投诉",
        },
    )
    assert added.status_code == 200 and 'data-number="+8613700137000"' in added.text
    entry = session.scalars(select(DndEntry).where(DndEntry.number_key == "+8613700137000")).one()
    assert entry.business_category_id == msg.fees.id
    removed = msg.client.post(
        f"/messaging/dnd/{entry.id}/remove", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert removed.status_code == 303 and _count(session, DndEntry) == 2


def test_blacklist_add_edit_and_remove(msg, session):
    csrf = _login(msg, msg.admin)
    missing = msg.client.post(
        "/messaging/blacklist/add", data={"csrf_token": csrf, "number": MOBILE, "reason": ""}
    )
    assert missing.status_code == 422 and 'data-error-for="reason"' in missing.text
    assert f'value="{MOBILE}"' in missing.text and _count(session, BlacklistEntry) == 0
    added = msg.client.post(
        "/messaging/blacklist/add",
        data={"csrf_token": csrf, "number": MOBILE, "reason": "辱骂坐席", "level": "block"},
    )
    assert added.status_code == 200 and 'data-level="block"' in added.text
    entry = session.scalars(select(BlacklistEntry)).one()
    entry.hits = 3
    session.flush()
    edit = msg.client.get(f"/messaging/blacklist?edit={entry.id}")
    assert f'action="/messaging/blacklist/{entry.id}/edit"' in edit.text and 'value="辱骂坐席"' in edit.text
    assert 'data-hits="3"' in edit.text
    bad = msg.client.post(
        f"/messaging/blacklist/{entry.id}/edit", data={"csrf_token": csrf, "level": "flag", "reason": " "}
    )
    assert bad.status_code == 422 and 'data-error-for="reason"' in bad.text
    changed = msg.client.post(
        f"/messaging/blacklist/{entry.id}/edit",
        data={"csrf_token": csrf, "level": "flag", "reason": "多次骚扰", "valid_until": "2030-01-01T00:00"},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    session.refresh(entry)
    assert entry.level.value == "flag" and entry.reason == "多次骚扰" and entry.valid_until is not None
    removed = msg.client.post(
        f"/messaging/blacklist/{entry.id}/remove", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert removed.status_code == 303 and _count(session, BlacklistEntry) == 0


def test_the_gateways_page_never_shows_a_secret_and_keeps_it(msg, session):
    csrf = _login(msg, msg.admin)
    saved = msg.client.post(
        "/messaging/gateways/sms",
        data={
            "csrf_token": csrf,
            "implementation": "http",
            "http_url": "http://127.0.0.1:9/send",
            "auth_value": "Bearer s3cret-value",
            "sign": "【客服中心】",
            "max_attempts": "2",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    page = msg.client.get(saved.headers["location"])
    assert 'id="saved-sms"' in page.text and "s3cret-value" not in page.text
    assert re.search(r'name="auth_value" value=""\s+placeholder="[^"]+"', page.text)
    assert 'value="【客服中心】"' in page.text
    # Bad input: the form again with the message; the typed secret is not echoed, nothing saved.
    bad = msg.client.post(
        "/messaging/gateways/sms",
        data={
            "csrf_token": csrf,
            "implementation": "http",
            "http_url": "ftp://x",
            "auth_value": "other-secret",
        },
    )
    assert bad.status_code == 422 and 'data-error-for="http_url"' in bad.text
    assert "other-secret" not in bad.text and 'value="ftp://x"' in bad.text
    # An empty secret keeps the stored one.
    again = msg.client.post(
        "/messaging/gateways/sms",
        data={"csrf_token": csrf, "implementation": "log", "auth_value": "", "sign": "【客服】"},
        follow_redirects=False,
    )
    assert again.status_code == 303
    gateway = session.scalars(select(Gateway).where(Gateway.channel == "sms")).one()
    session.refresh(gateway)
    assert gateway.auth_value == "Bearer s3cret-value" and gateway.sign == "【客服】"
    # The e-mail card: SMTP and the inbound mailbox; a test message per channel.
    r = msg.client.post(
        "/messaging/gateways/email",
        data={"csrf_token": csrf, "implementation": "smtp", "imap_enabled": "1"},
    )
    assert r.status_code == 422
    for field in ("smtp_host", "from_address", "imap_host", "imap_username", "inbound_ticket_type_id"):
        assert f'data-error-for="{field}"' in r.text, field
    refused = msg.client.post(
        "/messaging/gateways/email/test", data={"csrf_token": csrf, "to": "a@example.com"}
    )
    assert refused.status_code == 422 and 'data-error-for="channel"' in refused.text
    tested = msg.client.post("/messaging/gateways/sms/test", data={"csrf_token": csrf, "to": MOBILE})
    assert tested.status_code == 200 and 'id="tested-sms"' in tested.text
    test_id = int(re.search(r'id="tested-sms" data-message="(\d+)"', tested.text).group(1))
    row = session.get(Message, test_id)
    session.refresh(row)
    assert row.status is MessageStatus.SENT and row.gateway == "log" and row.reference == "test"


PAGES = [
    ("GET", "/messaging/send"),
    ("POST", "/messaging/send"),
    ("POST", "/messaging/send/compose"),
    ("POST", "/messaging/send/preview"),
    ("GET", "/messaging/log"),
    ("GET", "/messaging/log/1"),
    ("POST", "/messaging/log/1/retry"),
    ("GET", "/messaging/templates"),
    ("GET", "/messaging/templates/new"),
    ("POST", "/messaging/templates/new"),
    ("POST", "/messaging/templates/preview"),
    ("GET", "/messaging/templates/1"),
    ("POST", "/messaging/templates/1"),
    ("POST", "/messaging/templates/1/delete"),
    ("GET", "/messaging/dnd"),
    ("POST", "/messaging/dnd/add"),
    ("POST", "/messaging/dnd/import"),
    ("POST", "/messaging/dnd/1/remove"),
    ("GET", "/messaging/blacklist"),
    ("POST", "/messaging/blacklist/add"),
    ("POST", "/messaging/blacklist/1/edit"),
    ("POST", "/messaging/blacklist/1/remove"),
    ("GET", "/messaging/gateways"),
    ("POST", "/messaging/gateways/sms"),
    ("POST", "/messaging/gateways/sms/test"),
]


def test_every_page_is_listed_here():
    from fastapi.routing import APIRoute

    from kefu.messaging.pages import ROUTERS

    routes = {
        (method, re.sub(r"\{[^}]+\}", "1", route.path.replace("{channel}", "sms")))
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods - {"HEAD"}
    }
    assert routes == set(PAGES)


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_every_page_refuses_a_user_without_rights(msg, method, path):
    r = msg.client.request(method, path, headers=msg.nobody.headers, data={} if method == "POST" else None)
    assert r.status_code == 403, r.text
    anonymous = msg.client.request(method, path, follow_redirects=False)
    if method == "GET":
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    else:
        assert anonymous.status_code == 401


def test_admin_pages_refuse_the_agent_and_the_menu_follows_the_rights(msg):
    _login(msg, msg.admin)
    page = msg.client.get("/messaging/templates")
    nav = re.findall(r'data-nav="(/messaging[^"]*)"', page.text)
    assert nav == [
        "/messaging/log",
        "/messaging/templates",
        "/messaging/dnd",
        "/messaging/blacklist",
        "/messaging/gateways",
    ]
    for path in ("/messaging/templates", "/messaging/dnd", "/messaging/blacklist", "/messaging/gateways"):
        assert msg.client.get(path, headers=msg.agent.headers).status_code == 403, path
    # The 360 page offers "Send SMS" only to people who may send.
    viewer = msg.factory.token_login(msg.factory.user(["customers.customer.view"]))
    detail = msg.client.get(f"/customers/{msg.customer_id}", headers=viewer.headers)
    assert detail.status_code == 200 and 'id="customer-head"' in detail.text
    assert "/messaging/send?customer_id=" not in detail.text
