"""A person's first minutes: sign in, see only their menu, receive a pushed message without reloading."""

from __future__ import annotations

import httpx

from tests.api.test_demo import EXPECTED
from tests.browser.conftest import ARTIFACTS, sign_in


def _menu(page) -> set[str]:
    return set(page.locator("#main-nav a").evaluate_all("els => els.map(e => e.getAttribute('data-nav'))"))


def test_each_role_sees_only_its_navigation(page, live_url):
    sign_in(page, live_url, "agent01")
    assert _menu(page) == EXPECTED["agent01"]
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.click("#user-menu")
    page.click("#logout-button")
    page.wait_for_url(live_url + "/login")
    sign_in(page, live_url, "admin")
    admin_menu = _menu(page)
    assert {"/admin/users", "/admin/roles", "/admin/departments", "/admin/ip-rules"} <= admin_menu
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(live_url + "/admin/users")
    page.screenshot(path=str(ARTIFACTS / "admin-users.png"), full_page=True)
    assert page.locator("text=张敏").count() == 1


def test_inbox_receives_a_pushed_message_without_reload(page, live_url):
    sign_in(page, live_url, "agent01")
    page.goto(live_url + "/inbox")
    badge_before = int(page.locator("#inbox-badge").inner_text() or 0)
    page.evaluate("window.__marker = 'same page'")
    # Wait until the live stream is open before sending.
    page.wait_for_function("() => document.getElementById('inbox-badge') !== null")
    page.wait_for_timeout(500)
    with httpx.Client(base_url=live_url) as api:
        login = api.post("/api/v1/auth/login", json={"username": "leader01", "password": "Demo@2026"})
        assert login.status_code == 200
        me = page.evaluate("fetch('/api/v1/me').then(r => r.json())")
        sent = api.post(
            "/api/v1/notifications/send",
            json={"to_user_ids": [me["id"]], "title": "请回访客户 13800000000"},
            headers={"X-CSRF-Token": login.json()["csrf_token"]},
        )
        assert sent.status_code == 201, sent.text
    page.wait_for_selector("#inbox-list >> text=请回访客户 13800000000", timeout=10000)
    assert page.evaluate("window.__marker") == "same page"  # no reload happened
    assert int(page.locator("#inbox-badge").inner_text()) == badge_before + 1
    assert page.locator("#toasts .toast", has_text="请回访客户").count() == 1
    page.screenshot(path=str(ARTIFACTS / "inbox-push.png"))
