"""Business acceptance orders in a real browser (TKT-15): an agent registers an installation order that
is paid first and confirms the payment; a handler locks it while a second handler, whose page still
offered the lock, is refused with the holder's name; the holder replies and the order is done. Then a
second order is rejected by the handler and corrected and resubmitted by the agent."""

from __future__ import annotations

import re

import httpx

from tests.browser.conftest import ARTIFACTS, sign_in

PASSWORD = "Kefu@2026-acceptance"


def _ok(response: httpx.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _setup(base: str) -> dict:
    """As the administrator: an installation team with two handlers, an agent, and the acceptance
    ticket types (set up if the demo has not)."""
    with httpx.Client(base_url=base) as api:
        login = _ok(api.post("/api/v1/auth/login", json={"username": "admin", "password": "Demo@2026"}))
        api.headers["X-CSRF-Token"] = login["csrf_token"]
        team = _ok(api.post("/api/v1/org/departments", json={"code": "BT-ACC", "name": "装维班"}))
        group = _ok(
            api.post(
                "/api/v1/org/groups",
                json={"code": "bt_acc", "name": "业务受理", "functions": ["tickets.ticket"]},
            )
        )
        agent_role = _ok(
            api.post(
                "/api/v1/org/roles",
                json={
                    "group_id": group["id"],
                    "code": "bt_acc_agent",
                    "name": "受理员",
                    "permissions": ["tickets.ticket.create", "tickets.ticket.handle"],
                },
            )
        )
        handler_role = _ok(
            api.post(
                "/api/v1/org/roles",
                json={
                    "group_id": group["id"],
                    "code": "bt_acc_handler",
                    "name": "业务办理员",
                    "permissions": ["tickets.ticket.handle"],
                },
            )
        )
        for username, name, role, dept in (
            ("bt_acc_agent", "孙丽", agent_role, None),
            ("bt_acc_h1", "周强", handler_role, team["id"]),
            ("bt_acc_h2", "吴敏", handler_role, team["id"]),
        ):
            _ok(
                api.post(
                    "/api/v1/org/users",
                    json={
                        "username": username,
                        "name": name,
                        "department_id": dept,
                        "role_ids": [role["id"]],
                        "password": PASSWORD + "-first",
                    },
                )
            )
        types = _ok(api.post("/api/v1/tickets/acceptance/types", json={"department_id": team["id"]}))
        assert {t["payment_mode"] for t in types} == {"pay_first", "serve_first"}
    for username in ("bt_acc_agent", "bt_acc_h1", "bt_acc_h2"):  # first sign-in: a password of their own
        with httpx.Client(base_url=base) as api:
            login = _ok(
                api.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD + "-first"})
            )
            changed = api.post(
                "/api/v1/me/password",
                json={"current_password": PASSWORD + "-first", "new_password": PASSWORD},
                headers={"X-CSRF-Token": login["csrf_token"]},
            )
            assert changed.status_code == 204, changed.text
    return {"team": team}


def _register(page, base: str, team_id: int, *, mode: str, name: str, address: str) -> str:
    """The agent fills in the registration form (from the list's button); the ticket page's id."""
    page.goto(base + "/tickets/acceptance")
    page.click("#acceptance-new")
    page.wait_for_url(base + "/tickets/acceptance/new")
    page.check(f"#f-payment_mode-{mode}")
    page.select_option("#f-kind", "install")
    page.select_option("#f-department_id", str(team_id))
    page.fill("#f-customer_name", name)
    page.fill("#f-customer_phone", "13600136000")
    page.fill("#f-address", address)
    page.fill("#f-fee", "120")
    page.click("#acceptance-submit")
    page.wait_for_url(re.compile(r".*/tickets/\d+$"))
    page.wait_for_selector("#ticket-acceptance #acceptance-state")
    return page.url.rsplit("/", 1)[1]


def _state(page) -> str:
    return page.locator("#acceptance-state").get_attribute("data-state") or ""


def _wait_state(page, state: str) -> None:
    page.wait_for_selector(f"#acceptance-state[data-state='{state}']")


def test_pay_first_order_locked_refused_and_done_then_rejected_and_resubmitted(browser, page, live_url):
    team_id = _setup(live_url)["team"]["id"]
    ARTIFACTS.mkdir(exist_ok=True)
    contexts = []

    def person(username: str):
        context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
        contexts.append(context)
        other = context.new_page()
        sign_in(other, live_url, username, PASSWORD)
        return other

    try:
        # The agent: the form comes back with the message when the kind is missing, then registers.
        sign_in(page, live_url, "bt_acc_agent", PASSWORD)
        page.goto(live_url + "/tickets/acceptance/new")
        page.fill("#f-customer_name", "郑八")
        page.click("#acceptance-submit")
        page.wait_for_selector("[data-error-for='kind']")
        assert page.input_value("#f-customer_name") == "郑八"
        ticket_id = _register(page, live_url, team_id, mode="pay_first", name="郑八", address="和平路 6 号")
        assert _state(page) == "pending" and "缴费确认" in page.locator("#acceptance-stage").inner_text()
        assert page.locator("#acceptance-mode").inner_text() == "先缴费后服务"
        page.click("[data-acceptance-action='payment']")
        assert page.input_value("#acc-payment-amount") == "120.00"
        page.fill("#acc-payment-reference", "SJ-20260001")
        page.click("[data-acceptance-form='payment'] button[type='submit']")
        page.wait_for_selector("#ticket-notice")
        page.wait_for_selector("#acceptance-payment:has-text('SJ-20260001')")
        assert "业务办理" in page.locator("#acceptance-stage").inner_text()

        # Both handlers open it from the list; each is offered the lock.
        first, second = person("bt_acc_h1"), person("bt_acc_h2")
        for handler in (first, second):
            handler.goto(live_url + "/tickets/acceptance?state=pending")
            handler.click(f"tr[data-order='{ticket_id}'] a")
            handler.wait_for_selector("[data-acceptance-action='lock']")
        first.click("[data-acceptance-action='lock']")
        _wait_state(first, "locked")
        assert "周强" in first.locator("#acceptance-lock").inner_text()
        # The second handler's page still offers the lock: the answer names who holds it.
        second.click("[data-acceptance-action='lock']")
        second.wait_for_selector("#acceptance-error")
        assert "周强" in second.locator("#acceptance-error").inner_text()
        assert second.locator("[data-acceptance-action='lock']").count() == 0
        second.screenshot(path=str(ARTIFACTS / "acceptance-lock-refused.png"), full_page=True)

        # The holder replies with the back-office order number: done.
        first.click("[data-acceptance-action='complete']")
        first.fill("#acc-complete-reply", "已上门安装机顶盒并开通信号")
        first.fill("#acc-complete-business_ref", "BOSS-20260001")
        first.click("[data-acceptance-form='complete'] button[type='submit']")
        _wait_state(first, "done")
        assert "BOSS-20260001" in first.locator("#acceptance-reply").inner_text()
        assert first.locator("#ticket-status").inner_text() == "已关闭"
        first.screenshot(path=str(ARTIFACTS / "acceptance-done.png"), full_page=True)

        # A second order, served first: the handler rejects it, the agent corrects and resubmits it.
        second_id = _register(page, live_url, team_id, mode="serve_first", name="冯九", address="和平路")
        first.goto(f"{live_url}/tickets/{second_id}")
        first.click("[data-acceptance-action='lock']")
        _wait_state(first, "locked")
        first.click("[data-acceptance-action='reject']")
        first.click("[data-acceptance-form='reject'] button[type='submit']")  # no reason: the message
        first.wait_for_selector("[data-error-for='reason']")
        first.fill("#acc-reject-reason", "地址不完整，缺门牌号")
        first.click("[data-acceptance-form='reject'] button[type='submit']")
        _wait_state(first, "rejected")

        page.goto(f"{live_url}/tickets/{second_id}")
        _wait_state(page, "rejected")
        assert "缺门牌号" in page.locator("#acceptance-rejection").inner_text()
        page.click("[data-acceptance-action='resubmit']")
        page.fill("#acc-resubmit-address", "和平路 9 号 2-301")
        page.fill("#acc-resubmit-comment", "已补充门牌号")
        page.click("[data-acceptance-form='resubmit'] button[type='submit']")
        _wait_state(page, "pending")
        assert page.locator("#acceptance-address").inner_text() == "和平路 9 号 2-301"
        page.goto(live_url + "/tickets/acceptance")
        assert page.locator(f"tr[data-order='{second_id}']").get_attribute("data-state") == "pending"
        assert page.locator(f"tr[data-order='{ticket_id}']").get_attribute("data-state") == "done"
        page.screenshot(path=str(ARTIFACTS / "acceptance-list.png"), full_page=True)
    finally:
        for context in contexts:
            context.close()
