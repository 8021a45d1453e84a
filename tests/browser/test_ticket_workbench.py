"""A ticket's short life in a real browser (TKT-4 … TKT-6): an agent registers it from a case template;
the handler finds it in the workbench's todo box, opens it in the side panel, accepts and completes it
there, and the list and its count follow without a reload."""

from __future__ import annotations

import re

import httpx

from kefu.workflow.builder import END, AssignRule, SimpleFlow, SimpleNode, StateRule, to_bpmn
from tests.browser.conftest import ARTIFACTS, sign_in

PASSWORD = "Kefu@2026-browser"
# One step, given to a person of the ticket's handling department; completing it ends the flow.
FLOW = to_bpmn(
    SimpleFlow(
        code="bt_repair",
        name="报修处理",
        nodes=[
            SimpleNode(
                id="handle",
                name="处理",
                dispatch="auto",
                assign=[AssignRule("handling_department")],
                states=[StateRule("fixed", "已修复", END)],
            )
        ],
    )
)


def _ok(response: httpx.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _setup(base: str) -> dict:
    """As the administrator: a repair desk with an agent and a handler, a ticket type on the flow
    above with a form template, and a case template."""
    with httpx.Client(base_url=base) as api:
        login = _ok(api.post("/api/v1/auth/login", json={"username": "admin", "password": "Demo@2026"}))
        api.headers["X-CSRF-Token"] = login["csrf_token"]
        desk = _ok(api.post("/api/v1/org/departments", json={"code": "BT-REPAIR", "name": "报修组"}))
        group = _ok(
            api.post(
                "/api/v1/org/groups",
                json={"code": "bt_tickets", "name": "工单", "functions": ["tickets.ticket"]},
            )
        )
        agent_role = _ok(
            api.post(
                "/api/v1/org/roles",
                json={
                    "group_id": group["id"],
                    "code": "bt_agent",
                    "name": "登记员",
                    "permissions": ["tickets.ticket.create", "tickets.ticket.urge", "tickets.ticket.track"],
                },
            )
        )
        handler_role = _ok(
            api.post(
                "/api/v1/org/roles",
                json={
                    "group_id": group["id"],
                    "code": "bt_handler",
                    "name": "处理员",
                    "permissions": ["tickets.ticket.handle"],
                },
            )
        )
        for username, name, role, dept in (
            ("bt_agent", "孙丽", agent_role, None),
            ("bt_handler", "周强", handler_role, desk["id"]),
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
        flow = _ok(
            api.post(
                "/api/v1/workflow/templates", json={"code": "bt_repair", "name": "报修处理", "bpmn_xml": FLOW}
            )
        )
        _ok(api.post(f"/api/v1/workflow/versions/{flow['versions'][0]['id']}/publish"))
        form = _ok(
            api.post(
                "/api/v1/tickets/setup/form-templates",
                json={
                    "code": "bt_repair",
                    "name": "报修单",
                    "status": "active",
                    "elements": [
                        {"code": "address", "label": "上门地址", "type": "text", "required": True},
                        {
                            "code": "fault",
                            "label": "故障类别",
                            "type": "choice",
                            "options": [["no_signal", "无信号"], ["slow", "网速慢"]],
                        },
                    ],
                },
            )
        )
        ticket_type = _ok(
            api.post(
                "/api/v1/tickets/setup/types",
                json={
                    "code": "BT",
                    "name": "报修工单",
                    "prefix": "BX",
                    "flow_template_id": flow["id"],
                    "form_template_id": form["id"],
                    "default_department_id": desk["id"],
                },
            )
        )
        case = _ok(
            api.post(
                "/api/v1/tickets/setup/case-templates",
                json={
                    "code": "bt_no_signal",
                    "name": "电视无信号",
                    "type_id": ticket_type["id"],
                    "subject": "电视无信号",
                    "description": "客户反映所有频道均无信号。",
                    "priority": "urgent",
                    "nature": "fault",
                    "fields": {"fault": "no_signal"},
                },
            )
        )
    for username in ("bt_agent", "bt_handler"):  # first sign-in: the temporary password is replaced
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
    return {"type": ticket_type, "case": case}


def _choose(page, select: str, value: int) -> None:
    """Pick an option that reloads the registration form over htmx, and wait for the new form to
    settle: only then has htmx bound the new form's controls (a change made earlier sends nothing)."""
    page.evaluate(
        """() => {
            window.__form = document.getElementById('register-form');
            window.__settled = false;
            const settled = () => { window.__settled = true; };
            document.body.addEventListener('htmx:afterSettle', settled, {once: true});
        }"""
    )
    page.select_option(select, str(value))
    page.wait_for_function("() => !document.body.contains(window.__form) && window.__settled")


def test_register_from_a_case_template_then_handle_it_in_the_workbench(browser, page, live_url):
    setup = _setup(live_url)
    ARTIFACTS.mkdir(exist_ok=True)

    # The agent registers from the case template: choosing it fills in the form.
    sign_in(page, live_url, "bt_agent", PASSWORD)
    page.goto(live_url + "/tickets/new")
    _choose(page, "#f-type_id", setup["type"]["id"])
    _choose(page, "#f-case_template_id", setup["case"]["id"])
    page.wait_for_function("() => document.getElementById('f-subject').value === '电视无信号'")
    assert page.input_value("#f-priority") == "urgent" and page.input_value("#f-fields-fault") == "no_signal"
    assert "所有频道均无信号" in page.input_value("#f-description")
    page.fill("#f-customer_name", "钱七")
    page.fill("#f-customer_phone", "13700137000")
    page.click("#register-submit")  # the address is missing: the form comes back with the message
    page.wait_for_selector("[data-error-for='fields.address']")
    assert page.input_value("#f-customer_name") == "钱七" and page.input_value("#f-subject") == "电视无信号"
    page.screenshot(path=str(ARTIFACTS / "ticket-register-form.png"), full_page=True)
    page.fill("#f-fields-address", "幸福路 8 号 3 单元")
    page.click("#register-submit")
    page.wait_for_url(re.compile(r".*/tickets/\d+$"))
    ticket_id = page.url.rsplit("/", 1)[1]
    serial = page.locator("#ticket-title code").inner_text()
    assert serial.startswith("BX-") and page.locator("#ticket-fields", has_text="无信号").count() == 1
    page.screenshot(path=str(ARTIFACTS / "ticket-registered.png"), full_page=True)

    # The handler's workbench: the ticket waits in the todo box.
    handler = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}).new_page()
    try:
        sign_in(handler, live_url, "bt_handler", PASSWORD)
        handler.goto(live_url + "/tickets")
        row = handler.locator(f"tr[data-ticket='{ticket_id}']")
        row.wait_for()
        assert handler.locator("#count-todo").inner_text() == "1"
        assert serial in row.inner_text() and "钱七" in row.inner_text()

        # Opened in the side panel, accepted and completed there.
        row.click()
        panel = handler.locator("#ticket-panel")
        panel.locator("#ticket-detail [data-action='accept']").wait_for()
        assert handler.url == live_url + "/tickets"  # still the workbench
        panel.locator("[data-action='accept']").click()
        panel.locator("#ticket-notice").wait_for()
        assert panel.locator("[data-action='accept']").count() == 0
        panel.locator("[data-action='complete']").click()
        form = panel.locator("form[data-action-form='complete']")
        form.wait_for(state="visible")
        # Only the chosen action's form opens, also in a ticket the panel got back from a post.
        assert panel.locator("form[data-action-form='reply']").is_hidden()
        assert panel.locator("form[data-action-form='hand_back']").is_hidden()
        form.locator("select[name='state']").select_option("fixed")
        form.locator("textarea[name='comment']").fill("已更换分配器，信号恢复")
        handler.wait_for_timeout(300)
        handler.screenshot(path=str(ARTIFACTS / "ticket-workbench-panel.png"), full_page=True)
        form.locator("button[type='submit']").click()
        panel.locator("#ticket-detail[data-status='closed']").wait_for()
        assert panel.locator("#ticket-log", has_text="已更换分配器，信号恢复").count() == 1

        # The list and the count followed without a reload.
        handler.locator("#ticket-list-empty").wait_for()
        handler.wait_for_function("() => document.getElementById('count-todo').textContent === '0'")
        assert handler.locator(f"tr[data-ticket='{ticket_id}']").count() == 0
        handler.screenshot(path=str(ARTIFACTS / "ticket-workbench-done.png"), full_page=True)

        # A new ticket for the handler: the message stream makes the list and the count follow.
        with httpx.Client(base_url=live_url) as api:
            login = _ok(api.post("/api/v1/auth/login", json={"username": "bt_agent", "password": PASSWORD}))
            second = _ok(
                api.post(
                    "/api/v1/tickets",
                    headers={"X-CSRF-Token": login["csrf_token"]},
                    json={
                        "type_id": setup["type"]["id"],
                        "channel": "phone",
                        "subject": "机顶盒无法开机",
                        "fields": {"address": "和平路 1 号"},
                    },
                )
            )
        handler.locator(f"tr[data-ticket='{second['id']}']").wait_for(timeout=15000)
        handler.wait_for_function("() => document.getElementById('count-todo').textContent === '1'")
    finally:
        handler.context.close()
