"""An administrator builds a flow in the simple builder, publishes it, and tunes a node in the designer."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.browser.conftest import ARTIFACTS, sign_in
from tests.live import free_port

# Until kefu.app registers the builder's routers, the test serves the same database with an app that
# includes them (a second process; the demo data is shared through the data directory).
_WITH_BUILDER = """
import sys, uvicorn
from kefu.asgi import app
from kefu.workflow import builder_api, builder_pages
app.include_router(builder_pages.router)
app.include_router(builder_api.router)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@pytest.fixture(scope="module")
def base(live_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if httpx.get(live_url + "/workflow/builder").status_code != 404:
        yield live_url
        return
    data = tmp_path_factory.mktemp("builder-live")
    env = {
        **os.environ,
        "KEFU_DATA_DIR": str(data / "var"),
        "KEFU_SECRET_KEY": "browser-tests",
        "KEFU_DATABASE_URL": "",
        "KEFU_REDIS_URL": "",
    }
    env.pop("KEFU_JOBS_IMMEDIATE", None)
    subprocess.run(
        [sys.executable, "-m", "kefu.cli", "demo", "--no-serve"], env=env, check=True, capture_output=True
    )
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", _WITH_BUILDER, str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/login", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "builder server did not start"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _field(page, path: str):
    return page.locator(f'[data-field="{path}"]')


def _node(page, index: int, node_id: str, name: str, kind: str, ref: str = "") -> None:
    _field(page, f"nodes[{index}].id").fill(node_id)
    _field(page, f"nodes[{index}].name").fill(name)
    _field(page, f"nodes[{index}].assign[0].kind").select_option(kind)
    if ref:
        _field(page, f"nodes[{index}].assign[0].ref").select_option(ref)


def _state(page, node: int, number: int, code: str, label: str, next_node: str) -> None:
    page.click(f'[data-add="nodes[{node}].states"]')
    _field(page, f"nodes[{node}].states[{number}].code").fill(code)
    _field(page, f"nodes[{node}].states[{number}].label").fill(label)
    _field(page, f"nodes[{node}].states[{number}].next").select_option(next_node)


def test_build_publish_and_tune_a_flow_in_the_designer(page, base):
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, base, "admin")
    page.goto(base + "/workflow/templates")
    page.click("#new-in-builder")
    page.wait_for_url(base + "/workflow/builder")
    _field(page, "code").fill("repair")
    _field(page, "name").fill("报修处理")
    _node(page, 0, "register", "登记", "initiator")
    for _ in range(3):
        page.click("#add-node")
    _node(page, 1, "handle", "处理", "role", "backoffice")
    _node(page, 2, "review", "审核", "role", "leader")
    _node(page, 3, "close", "结案", "previous_handler")
    _field(page, "nodes[1].dispatch").select_option("grab")
    _field(page, "nodes[2].limit").fill("8")
    _state(page, 1, 0, "done", "处理完成", "review")
    _state(page, 1, 1, "returned", "退回", "register")
    _state(page, 2, 0, "approved", "通过", "close")
    _state(page, 2, 1, "rejected", "驳回", "handle")
    # Renaming a node carries the states that lead to it along.
    _field(page, "nodes[3].id").fill("finish")
    _field(page, "nodes[3].id").press("Tab")
    assert _field(page, "nodes[2].states[0].next").input_value() == "finish"
    _field(page, "nodes[3].id").fill("close")
    _field(page, "nodes[3].id").press("Tab")
    assert _field(page, "nodes[2].states[0].next").input_value() == "close"
    # A mistake first: the server's message appears beside the field once checked.
    _field(page, "nodes[2].states[1].code").fill("Rejected!")
    page.click("#check-flow")
    page.wait_for_selector('[data-error-for="nodes[2].states[1].code"]:visible')
    page.screenshot(path=str(ARTIFACTS / "builder-problem.png"), full_page=True)
    _field(page, "nodes[2].states[1].code").fill("rejected")
    page.click("#check-flow")
    page.wait_for_selector("#check-ok:visible")
    page.wait_for_selector("#builder-preview .djs-container")
    page.screenshot(path=str(ARTIFACTS / "builder-filled.png"), full_page=True)
    page.click("#save-flow")
    page.wait_for_url(base + "/workflow/templates/*")
    template_id = int(page.url.rsplit("/", 1)[1])
    page.click("#version-table form[action$='/publish'] button")
    page.wait_for_selector("#version-table .badge.text-bg-success")
    page.screenshot(path=str(ARTIFACTS / "builder-published.png"), full_page=True)

    page.click("#version-table a[href$='/designer']")
    page.wait_for_selector("#canvas .djs-element[data-element-id='review']")
    page.click("#canvas .djs-element.djs-shape[data-element-id='review']")
    panel = page.locator("#node-panel")
    panel.wait_for()
    assert _field(page, "node.id").input_value() == "review"
    assert _field(page, "node.states[0].code").input_value() == "approved"
    assert _field(page, "node.states[1].next").input_value() == "handle"
    assert _field(page, "node.limit").input_value() == "8"
    assert page.locator(".bjs-powered-by").is_visible()  # the bpmn.io watermark stays
    page.screenshot(path=str(ARTIFACTS / "designer-panel.png"))
    _field(page, "node.limit").fill("12")
    _field(page, "node.limit").press("Tab")
    page.fill("#draft-comment", "审核时限 12 小时")
    page.click("#save-draft")
    page.wait_for_url("**/designer?saved=1")
    page.wait_for_selector("#designer-status.alert-success")

    versions = page.evaluate(f"fetch('/api/v1/workflow/templates/{template_id}').then(r => r.json())")
    draft = next(v for v in versions["versions"] if v["status"] == "draft")
    assert draft["number"] == 2 and draft["comment"] == "审核时限 12 小时"
    detail = page.evaluate(f"fetch('/api/v1/workflow/versions/{draft['id']}').then(r => r.json())")
    xml = detail["bpmn_xml"]
    review = xml[xml.index('id="review"') :]
    review = review[: review.index("</bpmn:userTask>")]
    assert review.count("<kefu:node ") == 1 and 'limit="PT12H"' in review
    assert 'warn-at="0.75"' in review and 'escalation="notify"' in review
    assert '<kefu:assign kind="role" ref="leader"' in review
    handle = xml[xml.index('id="handle"') :]
    assert 'dispatch="grab"' in handle[: handle.index("</bpmn:userTask>")]  # untouched nodes keep theirs
    assert 'kefu:state code="rejected" label="驳回" next="handle"' in xml
    problems = page.evaluate(f"fetch('/api/v1/workflow/versions/{draft['id']}/problems').then(r => r.json())")
    assert problems == []


def _api(page, path: str):
    return page.evaluate(f"fetch('{path}').then(r => r.json())")


_SEND = """([method, path, body]) => fetch(path, {
    method, headers: {"Content-Type": "application/json", "X-CSRF-Token": document.body.dataset.csrf},
    body: body === null ? undefined : JSON.stringify(body)}).then(r => r.json())"""

FLOW = {
    "code": "complaint",
    "name": "投诉处理",
    "nodes": [
        {"id": "accept", "name": "受理", "assign": [{"kind": "initiator"}]},
        {
            "id": "review",
            "name": "审核",
            "assign": [{"kind": "role", "ref": "leader"}],
            "states": [
                {"code": "approved", "label": "通过", "next": "close"},
                {"code": "rejected", "label": "驳回", "next": "accept"},
            ],
            "limit": "PT8H",
        },
        {"id": "close", "name": "结案", "assign": [{"kind": "previous_handler"}]},
    ],
}


def test_designer_panel_sets_flow_states_and_countersign_and_is_read_only_on_old_versions(page, base):
    sign_in(page, base, "admin")
    created = page.evaluate(_SEND, ["POST", "/api/v1/workflow/builder/templates", FLOW])
    v1 = created["versions"][0]
    page.evaluate(_SEND, ["POST", f"/api/v1/workflow/versions/{v1['id']}/publish", None])
    body = {**FLOW, "template_id": created["id"], "comment": "v2"}
    v2 = page.evaluate(_SEND, ["POST", "/api/v1/workflow/builder/templates", body])["versions"][-1]
    assert v2["number"] == 2 and v2["status"] == "draft"
    page.goto(f"{base}/workflow/versions/{v2['id']}/designer")
    page.wait_for_selector("#canvas .djs-element[data-element-id='close']")
    page.evaluate(
        "d => d.get('selection').select(d.get('elementRegistry').get('Flow_review_rejected'))",
        page.evaluate_handle("window.kefuDesigner"),
    )
    page.wait_for_selector("#flow-panel")
    assert _field(page, "flow.state").input_value() == "rejected"
    page.click("#canvas .djs-element.djs-shape[data-element-id='close']")
    page.wait_for_selector("#node-panel")
    page.check('[data-field="node.countersign"]')
    _field(page, "node.countersign.mode").select_option("quorum")
    _field(page, "node.countersign.quorum").fill("2")
    _field(page, "node.countersign.quorum").press("Tab")
    page.screenshot(path=str(ARTIFACTS / "designer-countersign.png"))
    page.click("#save-draft")
    page.wait_for_selector("#designer-status.alert-success")
    xml = _api(page, f"/api/v1/workflow/versions/{v2['id']}")["bpmn_xml"]
    close = xml[xml.index('id="close"') :]
    close = close[: close.index("</bpmn:userTask>")]
    assert '<kefu:countersign mode="quorum" quorum="2"' in close
    assert "<bpmn:loopDataInputRef>countersigners</bpmn:loopDataInputRef>" in close
    assert _api(page, f"/api/v1/workflow/versions/{v2['id']}/problems") == []

    # Version 1 is published and a draft exists: its panel shows the settings but changes nothing.
    page.goto(f"{base}/workflow/versions/{v1['id']}/designer")
    page.wait_for_selector("#canvas .djs-element[data-element-id='review']")
    assert page.locator("#save-draft").count() == 0
    page.click("#canvas .djs-element.djs-shape[data-element-id='review']")
    page.wait_for_selector("#node-panel")
    assert _field(page, "node.limit").input_value() == "8"
    assert _field(page, "node.limit").is_disabled()
    assert page.locator(".bjs-powered-by").is_visible()
    page.screenshot(path=str(ARTIFACTS / "designer-read-only.png"))
