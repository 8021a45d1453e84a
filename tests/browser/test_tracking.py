"""The tracking view in a real browser: the path taken and the current node are highlighted (WF-8)."""

from __future__ import annotations

from pathlib import Path

import httpx

from kefu.workflow.builder import AssignRule, SimpleFlow, SimpleNode, StateRule, to_bpmn
from tests.browser.conftest import ARTIFACTS, sign_in

# A flow with a diagram layout, as the builder writes it; every node goes to whoever started the flow.
MINE = [AssignRule(kind="initiator")]
APPROVAL = to_bpmn(
    SimpleFlow(
        code="tracked",
        name="投诉处理",
        nodes=[
            SimpleNode(id="register", name="登记", assign=MINE),
            SimpleNode(
                id="review",
                name="审核",
                assign=MINE,
                states=[
                    StateRule(code="approved", label="通过", next="close"),
                    StateRule(code="rejected", label="退回", next="register"),
                ],
            ),
            SimpleNode(id="close", name="结案", assign=MINE),
        ],
    )
)


def test_running_instance_path_is_highlighted(page, live_url):
    with httpx.Client(base_url=live_url) as api:
        login = api.post("/api/v1/auth/login", json={"username": "admin", "password": "Demo@2026"})
        h = {"X-CSRF-Token": login.json()["csrf_token"]}
        flow = api.post(
            "/api/v1/workflow/templates",
            headers=h,
            json={"code": "tracked", "name": "投诉处理", "bpmn_xml": APPROVAL},
        ).json()
        version_id = flow["versions"][0]["id"]
        assert api.post(f"/api/v1/workflow/versions/{version_id}/publish", headers=h).status_code == 200
        instance = api.post(
            "/api/v1/workflow/instances",
            headers=h,
            json={"template_code": "tracked", "subject_type": "demo", "subject_id": 1},
        ).json()
        register = next(t for t in instance["tasks"] if t["node_id"] == "register")
        me = api.get("/api/v1/me").json()
        if register["assignee_id"] != me["id"]:
            api.post(
                f"/api/v1/workflow/tasks/{register['id']}/assign",
                headers=h,
                json={"user_id": me["id"], "comment": ""},
            )
        done = api.post(
            f"/api/v1/workflow/tasks/{register['id']}/complete",
            headers=h,
            json={"state": "done", "comment": "已登记"},
        )
        assert done.status_code == 200, done.text
    sign_in(page, live_url, "admin")
    page.goto(f"{live_url}/workflow/instances/{instance['id']}")
    page.wait_for_selector("#canvas[data-ready='1']")
    assert "kefu-done" in page.locator("[data-element-id='register']").first.get_attribute("class")
    assert "kefu-current" in page.locator("[data-element-id='review']").first.get_attribute("class")
    assert page.locator("#history", has_text="已登记").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tracking.png"), full_page=True)


def test_a_flow_imported_without_a_diagram_shows_its_nodes_in_the_designer(page, live_url):
    xml = (Path(__file__).parents[1] / "unit" / "workflow" / "flows" / "boundary_timer.bpmn").read_text()
    assert "BPMNShape" not in xml
    with httpx.Client(base_url=live_url) as api:
        login = api.post("/api/v1/auth/login", json={"username": "admin", "password": "Demo@2026"})
        h = {"X-CSRF-Token": login.json()["csrf_token"]}
        flow = api.post(
            "/api/v1/workflow/templates",
            headers=h,
            json={"code": "visit_nodi", "name": "上门（无图导入）", "bpmn_xml": xml},
        ).json()
    sign_in(page, live_url, "admin")
    page.goto(f"{live_url}/workflow/versions/{flow['versions'][0]['id']}/designer")
    page.wait_for_selector("#canvas .djs-element.djs-shape[data-element-id='visit_site']")
    for node in ("start", "accept", "visit_site", "deadline", "reminder", "cool_down", "escalate", "end"):
        assert page.locator(f"#canvas .djs-shape[data-element-id='{node}']").count() == 1, node
    for flow_id in ("to_visit", "to_escalate", "to_remind", "to_end"):
        assert page.locator(f"#canvas .djs-connection[data-element-id='{flow_id}']").count() == 1, flow_id
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "designer-laid-out.png"), full_page=True)
