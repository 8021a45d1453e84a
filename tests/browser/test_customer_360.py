"""The customer 360 page in a real browser (CON-3, INT-2): the agent opens it from a caller's number;
a business system that times out and one that fails show a message in their own panels while the
other panels fill in and the page stays usable."""

from __future__ import annotations

import httpx

from tests.api.customers import fake_business_system
from tests.browser.conftest import ARTIFACTS, sign_in


def test_a_slow_and_a_failing_system_degrade_only_their_panels(page, live_url):
    with fake_business_system.running() as fake, httpx.Client(base_url=live_url) as api:
        fake.reset("slow", delay=3.0)
        login = api.post("/api/v1/auth/login", json={"username": "admin", "password": "Demo@2026"})
        h = {"X-CSRF-Token": login.json()["csrf_token"]}
        customer = api.post(
            "/api/v1/customers",
            headers=h,
            json={"name": "单田芳", "tier": "vip", "phones": [{"number": "13912345678"}]},
        )
        assert customer.status_code == 201, customer.text
        systems = {
            "billing": {"implementation": "http", "base_url": fake.url, "timeout_seconds": 0.5, "retries": 0},
            "meter": {
                "implementation": "http",
                "base_url": "http://127.0.0.1:9",
                "timeout_seconds": 0.5,
                "retries": 0,
            },
            "installation": {"implementation": "demo"},
            "customer_info": {"implementation": "demo"},
        }
        for kind, body in systems.items():
            r = api.put(f"/api/v1/customers/business-systems/{kind}", headers=h, json=body)
            assert r.status_code == 200, r.text

        sign_in(page, live_url, "admin")
        page.goto(live_url + "/customers/360?phone=139-1234-5678")
        page.wait_for_selector("#customer-head")
        assert "单田芳" in page.inner_text("#customer-head")
        page.wait_for_selector('#panel-customer_info [data-state="ok"]')
        page.wait_for_selector('#panel-installation [data-state="ok"]')
        slow = page.wait_for_selector('#panel-billing [data-state="error"]', timeout=10_000)
        failed = page.wait_for_selector('#panel-meter [data-state="error"]', timeout=10_000)
        assert "及时" in slow.inner_text()  # 业务系统未能及时响应
        assert "不可用" in failed.inner_text()  # 业务系统暂时不可用
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "customer-360-degraded.png"), full_page=True)

        # The page is still usable: record the call and see it in the timeline.
        page.fill('#contact-form input[name="summary"]', "来电查询账单，账单系统超时，已告知稍后回电")
        page.click('#contact-form button[type="submit"]')
        page.wait_for_selector("text=来电查询账单")
