"""An urgent announcement reaches an agent mid-call (NTC-1): the agent is registering a ticket with the
form half filled; another person publishes an urgent announcement to the agent's department; it pops
up at once on the open page, the agent acknowledges it, the form keeps every character, and the
publisher's receipt view shows the agent as having read it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from kefu.workflow.builder import END, AssignRule, SimpleFlow, SimpleNode, StateRule, to_bpmn
from tests.browser.conftest import ARTIFACTS, sign_in

PASSWORD = "Kefu@2026-notice"
FLOW = to_bpmn(
    SimpleFlow(
        code="an_consult",
        name="咨询处理",
        nodes=[
            SimpleNode(
                id="handle",
                name="处理",
                dispatch="auto",
                assign=[AssignRule("initiator")],
                states=[StateRule("done", "已答复", END)],
            )
        ],
    )
)


def _ok(response: httpx.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


@contextmanager
def _admin(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base) as api:
        login = _ok(api.post("/api/v1/auth/login", json={"username": "admin", "password": "Demo@2026"}))
        api.headers["X-CSRF-Token"] = login["csrf_token"]
        yield api


def _setup(base: str) -> dict:
    """As the administrator: a hotline desk with an agent who may register tickets, and a ticket type."""
    with _admin(base) as api:
        desk = _ok(api.post("/api/v1/org/departments", json={"code": "AN-DESK", "name": "热线一组"}))
        group = _ok(
            api.post(
                "/api/v1/org/groups",
                json={"code": "an_hotline", "name": "热线", "functions": ["tickets.ticket"]},
            )
        )
        role = _ok(
            api.post(
                "/api/v1/org/roles",
                json={
                    "group_id": group["id"],
                    "code": "an_agent",
                    "name": "热线话务员",
                    "permissions": ["tickets.ticket.create"],
                },
            )
        )
        _ok(
            api.post(
                "/api/v1/org/users",
                json={
                    "username": "an_agent",
                    "name": "吴芳",
                    "department_id": desk["id"],
                    "role_ids": [role["id"]],
                    "password": PASSWORD + "-first",
                },
            )
        )
        flow = _ok(
            api.post(
                "/api/v1/workflow/templates",
                json={"code": "an_consult", "name": "咨询处理", "bpmn_xml": FLOW},
            )
        )
        _ok(api.post(f"/api/v1/workflow/versions/{flow['versions'][0]['id']}/publish"))
        ticket_type = _ok(
            api.post(
                "/api/v1/tickets/setup/types",
                json={"code": "AN", "name": "业务咨询", "prefix": "ZX", "flow_template_id": flow["id"]},
            )
        )
    with httpx.Client(base_url=base) as api:  # the first sign-in replaces the temporary password
        login = _ok(
            api.post("/api/v1/auth/login", json={"username": "an_agent", "password": PASSWORD + "-first"})
        )
        changed = api.post(
            "/api/v1/me/password",
            json={"current_password": PASSWORD + "-first", "new_password": PASSWORD},
            headers={"X-CSRF-Token": login["csrf_token"]},
        )
        assert changed.status_code == 204, changed.text
    return {"desk": desk, "type": ticket_type}


def test_an_urgent_announcement_pops_up_mid_form_and_is_acknowledged(browser, page, live_url):
    setup = _setup(live_url)
    ARTIFACTS.mkdir(exist_ok=True)

    # The agent is on a call, registering a ticket: the form is half filled, the cursor in the text.
    sign_in(page, live_url, "an_agent", PASSWORD)
    page.goto(live_url + "/tickets/new")
    page.evaluate("window.__form = document.getElementById('register-form')")
    page.select_option("#f-type_id", str(setup["type"]["id"]))
    page.wait_for_function("() => !document.body.contains(window.__form)")
    page.fill("#f-customer_name", "钱七")
    page.fill("#f-customer_phone", "13700137000")
    page.fill("#f-subject", "宽带无法上网")
    page.click("#f-description")
    page.keyboard.type("客户反映光猫 LOS 灯闪红，已重启")
    page.evaluate("window.__marker = 'same page'")
    page.wait_for_function("() => document.body.dataset.announcementsLive === '1'")

    # Someone else publishes an urgent announcement to the agent's department.
    with _admin(live_url) as api:
        published = _ok(
            api.post(
                "/api/v1/announcements/manage",
                json={
                    "title": "紧急：城东片区光缆中断",
                    "body": "<p>城东片区光缆中断，<strong>预计 18:00 恢复</strong>。"
                    "请统一口径答复客户，不要派修。</p>",
                    "priority": "urgent",
                    "department_ids": [setup["desk"]["id"]],
                    "publish": True,
                },
            )
        )
    assert published["counts"]["total"] == 1

    # It pops up at once, on the same page, and must be acknowledged (no "later").
    modal = page.locator("#announcement-modal")
    modal.locator("text=紧急：城东片区光缆中断").wait_for(timeout=10000)
    page.wait_for_selector("#announcement-modal.show")
    assert modal.locator("strong", has_text="预计 18:00 恢复").count() == 1
    assert modal.locator("[data-role='later']").is_hidden()
    assert page.locator("#announcements-badge").inner_text() == "1"
    page.keyboard.press("Escape")  # does not dismiss it
    page.locator(".modal-backdrop").click(position={"x": 5, "y": 5}, force=True)
    page.wait_for_timeout(300)
    assert modal.is_visible()
    page.screenshot(path=str(ARTIFACTS / "announcement-urgent-popup.png"))
    page.click("#announcement-ack")
    page.wait_for_selector("#announcement-modal", state="hidden")

    # Nothing moved: the same page, every field as typed, the cursor back in the description.
    assert page.evaluate("window.__marker") == "same page"
    assert page.url == live_url + "/tickets/new"
    assert page.input_value("#f-customer_name") == "钱七"
    assert page.input_value("#f-customer_phone") == "13700137000"
    assert page.input_value("#f-subject") == "宽带无法上网"
    assert page.input_value("#f-description") == "客户反映光猫 LOS 灯闪红，已重启"
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'f-description'")
    page.wait_for_function(
        "() => document.getElementById('announcements-badge').classList.contains('d-none')"
    )
    page.keyboard.type("，仍无法上网")
    assert page.input_value("#f-description").endswith("已重启，仍无法上网")

    # Acknowledged is acknowledged: another page does not show it again.
    page.goto(live_url + "/announcements")
    page.wait_for_function("() => document.body.dataset.announcementsLive === '1'")
    assert page.locator("#announcement-modal.show").count() == 0
    assert page.locator(f"[data-announcement='{published['id']}'][data-read='true']").count() == 1

    # The publisher's receipt view shows it read.
    publisher = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}).new_page()
    try:
        sign_in(publisher, live_url, "admin")
        publisher.goto(f"{live_url}/announcements/manage/{published['id']}?show=read")
        assert publisher.locator("#count-read").inner_text() == "1"
        assert publisher.locator("#count-unread").inner_text() == "0"
        row = publisher.locator("#receipts tr[data-user='an_agent']")
        assert row.get_attribute("data-read") == "true"
        assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", row.inner_text())
        publisher.screenshot(path=str(ARTIFACTS / "announcement-receipts.png"), full_page=True)
    finally:
        publisher.context.close()


def test_an_unacknowledged_urgent_announcement_follows_the_agent_from_page_to_page(page, live_url):
    with _admin(live_url) as api:
        users = api.get("/api/v1/org/users", params={"q": "agent02"})
        assert users.status_code == 200, users.text
        agent02 = next(u for u in users.json() if u["username"] == "agent02")
        published = _ok(
            api.post(
                "/api/v1/announcements/manage",
                json={
                    "title": "紧急：系统切换期间暂停受理过户",
                    "body": "<p>20:00–22:00 暂停受理过户业务。</p>",
                    "priority": "urgent",
                    "user_ids": [agent02["id"]],
                    "publish": True,
                },
            )
        )
    sign_in(page, live_url, "agent02")  # signed in after publishing: it is waiting
    page.wait_for_selector("#announcement-modal.show")
    assert page.locator("#announcement-modal", has_text="暂停受理过户").count() == 1
    page.goto(live_url + "/inbox")  # not acknowledged: it comes back on the next page
    page.wait_for_selector("#announcement-modal.show")
    page.click("#announcement-ack")
    page.wait_for_selector("#announcement-modal", state="hidden")
    page.goto(live_url + f"/announcements/{published['id']}")
    assert page.locator("#announcement-body", has_text="暂停受理过户业务").count() == 1
