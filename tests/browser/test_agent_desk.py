"""The agent desk in a real browser (CC-1, CC-3): an agent logs in and says ready, a call from a
known customer rings — the screen pop appears live with the IVR data —, the agent answers, registers
a ticket from the call (linked to it) and hangs up into wrap-up."""

from __future__ import annotations

import re
import uuid

import httpx

from kefu.tickets.demo import TYPE_CODE
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.browser.test_ticket_workbench import _choose


def test_a_call_pops_up_is_answered_and_becomes_a_ticket(page, live_url):
    call_id = "pw-" + uuid.uuid4().hex[:8]
    with httpx.Client(base_url=live_url) as api:
        login = api.post("/api/v1/auth/login", json={"username": "admin", "password": "Demo@2026"})
        h = {"X-CSRF-Token": login.json()["csrf_token"]}
        customer = api.post(
            "/api/v1/customers", headers=h, json={"name": "欧阳娜娜", "phones": [{"number": "13712345678"}]}
        )
        assert customer.status_code == 201, customer.text

        def report(event: str, **fields: object) -> None:
            r = api.post(
                "/api/v1/callcenter/cti/events",
                headers=h,
                json={"event": event, "call_id": call_id, **fields},
            )
            assert r.status_code == 200, r.text

        sign_in(page, live_url, "agent01")
        page.goto(live_url + "/callcenter/desk")
        page.click("#login-button")
        page.wait_for_selector('[data-agent-state="not_ready"]')
        page.click("#ready-button")
        page.wait_for_selector('[data-agent-state="ready"]')

        # The PBX reports the call; the pop appears without a reload.
        report(
            "new_call",
            direction="in",
            to="95105",
            queue="hotline",
            ivr={"宽带账号": "BB-20261122"},
            **{"from": "13712345678"},
        )
        report("ringing", agent="8001")
        page.wait_for_selector("#answer-button", timeout=10_000)
        assert "欧阳娜娜" in page.inner_text("#pop-customer-name")
        assert page.inner_text('[data-ivr="宽带账号"]') == "BB-20261122"
        assert page.title().startswith("☎")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "agent-desk-screen-pop.png"), full_page=True)

        page.click("#answer-button")
        page.wait_for_selector('[data-call-state="talking"]')

        # A ticket from the call: the customer comes from the call, the ticket is linked to it.
        with page.expect_popup() as opened:
            page.click("#new-ticket-from-call")
        form = opened.value
        form.wait_for_selector("#register-form [data-from-contact]")
        types = api.get("/api/v1/tickets/setup/types").json()
        demo_type = next(t for t in types if t["code"] == TYPE_CODE)
        if form.input_value("#f-type_id") != str(demo_type["id"]):  # other tests may add types
            _choose(form, "#f-type_id", demo_type["id"])
            form.wait_for_selector("#register-form [data-from-contact]")  # the call stays linked
        form.fill("#f-subject", "宽带频繁掉线")
        form.fill("#f-fields-service_number", "BB-20261122")
        form.fill("#f-fields-contact_phone", "13712345678")
        form.click("#register-submit")
        form.wait_for_url(re.compile(r".*/tickets/\d+$"))
        ticket_id = form.url.rsplit("/", 1)[1]
        ticket = api.get(f"/api/v1/tickets/{ticket_id}").json()
        assert ticket["customer_id"] == customer.json()["id"] and ticket["customer_name"] == "欧阳娜娜"
        assert [c["call_id"] for c in ticket["contacts"]] == [call_id]
        form.close()

        page.click("#hangup-button")
        page.wait_for_selector('[data-agent-state="wrap_up"]')
        assert "13712345678" in page.inner_text("#recent-calls")
