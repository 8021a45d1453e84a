"""Sending an SMS from a template in a real browser (CON-4): an agent opens the send form from a
customer, picks a template, fills in its values and watches the live preview — with the customer's
name and the SMS length — then sends it and finds it in the send log, delivered by the log gateway."""

from __future__ import annotations

import re
import time

import httpx

from tests.browser.conftest import ARTIFACTS, sign_in

PASSWORD = "Kefu@2026-messaging"


def _ok(response: httpx.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _setup(base: str) -> dict:
    """As the administrator: the SMS gateway on `log`, a payment-reminder template, a customer, and
    an agent who may send and read their own send log."""
    with httpx.Client(base_url=base) as api:
        login = _ok(api.post("/api/v1/auth/login", json={"username": "admin", "password": "Demo@2026"}))
        api.headers["X-CSRF-Token"] = login["csrf_token"]
        _ok(api.put("/api/v1/messaging/gateways/sms", json={"implementation": "log", "sign": "【客服】"}))
        template = _ok(
            api.post(
                "/api/v1/messaging/templates",
                json={
                    "code": "bt_fee",
                    "name": "浏览器缴费提醒",
                    "channel": "sms",
                    "kind": "payment_reminder",
                    "body": "{{ customer.name }}您好，您{{ period }}的话费{{ amount }}元，请按时缴纳。",
                },
            )
        )
        customer = _ok(
            api.post(
                "/api/v1/customers",
                json={"name": "欧阳明", "phones": [{"number": "13912340000", "is_primary": True}]},
            )
        )
        group = _ok(
            api.post(
                "/api/v1/org/groups",
                json={
                    "code": "bt_msg",
                    "name": "短信发送",
                    "functions": ["messaging.message", "customers.customer"],
                },
            )
        )
        role = _ok(
            api.post(
                "/api/v1/org/roles",
                json={
                    "group_id": group["id"],
                    "code": "bt_msg_agent",
                    "name": "短信坐席",
                    "permissions": [
                        "messaging.message.send",
                        "messaging.message.view",
                        "customers.customer.view",
                    ],
                    "data_scope": "all",
                },
            )
        )
        _ok(
            api.post(
                "/api/v1/org/users",
                json={
                    "username": "bt_msga",
                    "name": "宋坐席",
                    "role_ids": [role["id"]],
                    "password": PASSWORD + "-first",
                },
            )
        )
    with httpx.Client(base_url=base) as api:  # first sign-in: the temporary password is replaced
        login = _ok(
            api.post("/api/v1/auth/login", json={"username": "bt_msga", "password": PASSWORD + "-first"})
        )
        changed = api.post(
            "/api/v1/me/password",
            json={"current_password": PASSWORD + "-first", "new_password": PASSWORD},
            headers={"X-CSRF-Token": login["csrf_token"]},
        )
        assert changed.status_code == 204, changed.text
    return {"template": template, "customer": customer}


def test_an_agent_sends_from_a_template_with_the_live_preview(page, live_url):
    setup = _setup(live_url)
    customer_id = setup["customer"]["id"]
    ARTIFACTS.mkdir(exist_ok=True)

    sign_in(page, live_url, "bt_msga", PASSWORD)
    page.goto(live_url + f"/customers/{customer_id}")
    page.click("#send-sms")
    page.wait_for_url(re.compile(rf".*/messaging/send\?customer_id={customer_id}$"))
    assert page.input_value("#f-to") == "139 1234 0000"
    assert "欧阳明" in page.inner_text("#send-customer")

    # Picking the template brings its value inputs and the preview with the customer's name.
    page.select_option("#f-template_id", label="浏览器缴费提醒")
    page.wait_for_selector("[name='variables.amount']")
    page.wait_for_selector("#preview-body:has-text('【客服】欧阳明您好')")
    page.fill("[name='variables.period']", "12月")
    page.fill("[name='variables.amount']", "88.00")
    page.wait_for_selector("#preview-body:has-text('您12月的话费88.00元')")
    length = page.locator("#preview-length")
    assert length.get_attribute("data-parts") == "1"
    assert "1 条短信" in length.inner_text()
    page.screenshot(path=str(ARTIFACTS / "messaging-send.png"), full_page=True)

    page.click("#send-button")
    page.wait_for_selector("#send-result")
    assert "139 1234 0000" in page.inner_text("#send-result")
    page.click("#sent-link")
    page.wait_for_url(re.compile(r".*/messaging/log/\d+$"))
    # Delivery runs in the background: the log shows it as sent by the log gateway shortly after.
    deadline = time.monotonic() + 15
    while page.locator("#message-head [data-status='sent']").count() == 0:
        assert time.monotonic() < deadline, page.inner_text("#message-head")
        time.sleep(0.5)
        page.reload()
    assert page.inner_text("#message-gateway").strip() == "log"
    assert "欧阳明您好，您12月的话费88.00元，请按时缴纳。" in page.inner_text("#message-body")
    message_id = page.url.rsplit("/", 1)[1]

    page.goto(live_url + "/messaging/log")
    row = page.locator(f"#log-table tr[data-message='{message_id}']")
    assert row.locator("[data-status='sent']").count() == 1
    assert "139 1234 0000" in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "messaging-log.png"), full_page=True)
