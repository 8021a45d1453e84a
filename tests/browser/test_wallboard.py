"""The supervisor's monitor and the wallboard in a real browser (CC-6, CC-7): the PBX reports calls
while the pages are open, and the numbers change without a reload — sooner than the half-minute
refresh, so through the supervisors' event stream."""

from __future__ import annotations

import uuid

import httpx

from tests.browser.conftest import ARTIFACTS, sign_in

LIVE = "() => document.body.dataset.monitorLive === '1'"
SOON = 10_000  # ms: well under the pages' 30 s refresh


def _text_is(selector: str, value: object) -> str:
    return f"() => (document.querySelector({selector!r}) || {{}}).textContent?.trim() === {str(value)!r}"


def test_the_monitor_and_the_wallboard_follow_the_calls_live(page, live_url):
    first, second = ("wb-" + uuid.uuid4().hex[:8] for _ in range(2))
    with httpx.Client(base_url=live_url) as api:
        login = api.post("/api/v1/auth/login", json={"username": "admin", "password": "Demo@2026"})
        h = {"X-CSRF-Token": login.json()["csrf_token"]}

        def report(call_id: str, event: str, **fields: object) -> None:
            body = {"event": event, "call_id": call_id, **fields}
            r = api.post("/api/v1/callcenter/cti/events", headers=h, json=body)
            assert r.status_code == 200, r.text

        # The team leader of the hotline's department watches the monitor.
        sign_in(page, live_url, "leader01")
        page.goto(live_url + "/callcenter/monitor")
        page.wait_for_function(LIVE)
        waiting = '[data-queue="hotline"] [data-waiting]'
        before = int(page.inner_text(waiting))
        report(first, "new_call", direction="in", to="95105", queue="hotline", **{"from": "13612345678"})
        page.wait_for_function(_text_is(waiting, before + 1), timeout=SOON)
        assert page.inner_text('[data-queue="hotline"] [data-longest]').count(":") == 1  # ticking mm:ss

        # The wallboard: a second caller queues, then both give up.
        page.goto(live_url + "/callcenter/wallboard")
        page.wait_for_function(LIVE)
        page.wait_for_function("() => document.getElementById('wallboard').dataset.updated")
        assert page.inner_text("#kpi-waiting") == str(before + 1)
        abandoned_before = int(page.inner_text("#kpi-today").split("/")[2])
        report(second, "new_call", direction="in", to="95105", queue="hotline", **{"from": "13612345679"})
        page.wait_for_function(_text_is("#kpi-waiting", before + 2), timeout=SOON)
        assert page.locator("#chart-slots canvas").count() == 1
        assert page.locator("#chart-agents canvas").count() == 1
        report(first, "hangup", cause="cancel")
        report(second, "hangup", cause="cancel")
        page.wait_for_function(_text_is("#kpi-waiting", before), timeout=SOON)
        page.wait_for_function(
            f"() => document.getElementById('kpi-today').textContent.split('/')[2].trim() === "
            f"'{abandoned_before + 2}'",
            timeout=SOON,
        )
        assert page.inner_text("#kpi-abandon-rate").endswith("%")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "wallboard.png"), full_page=True)
