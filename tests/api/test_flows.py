"""Flow templates (WF-1): import, draft, validation naming the element, publish, retire, export."""

from pathlib import Path

from sqlalchemy import select

from kefu.audit.models import AuditLog
from kefu.workflow.models import FlowVersion
from tests.support import browser_login

FLOWS = Path(__file__).parent / "flows"
APPROVAL = (FLOWS / "approval.bpmn").read_text()
HOSTILE = (FLOWS / "hostile_script_task.bpmn").read_text()


def _admin(factory):
    return factory.token_login(
        factory.user(
            [
                "workflow.templates.view",
                "workflow.templates.create",
                "workflow.templates.edit",
                "workflow.templates.publish",
                "workflow.templates.delete",
            ]
        )
    )


def test_import_publish_retire_and_export(client, factory, session):
    h = _admin(factory).headers
    created = client.post(
        "/api/v1/workflow/templates",
        json={"code": "complaint", "name": "投诉处理", "bpmn_xml": APPROVAL},
        headers=h,
    )
    assert created.status_code == 201, created.text
    flow = created.json()
    v1 = flow["versions"][0]
    assert v1["status"] == "draft" and v1["number"] == 1
    assert client.get(f"/api/v1/workflow/versions/{v1['id']}/problems", headers=h).json() == []
    published = client.post(f"/api/v1/workflow/versions/{v1['id']}/publish", headers=h)
    assert published.status_code == 200, published.text
    assert published.json()["process_id"] == "approval"
    stored = session.get(FlowVersion, v1["id"])
    session.refresh(stored)
    assert stored.spec_json and "review" in stored.nodes
    assert stored.nodes["review"]["dispatch"] == "auto"
    # A published version never changes: editing opens version 2 as a draft.
    draft = client.put(
        f"/api/v1/workflow/templates/{flow['id']}/draft",
        json={"bpmn_xml": APPROVAL, "comment": "v2"},
        headers=h,
    )
    assert draft.status_code == 200 and draft.json()["number"] == 2
    exported = client.get(f"/api/v1/workflow/versions/{v1['id']}/bpmn", headers=h)
    assert exported.status_code == 200 and exported.text == stored.bpmn_xml  # as imported, laid out
    assert "complaint-v1.bpmn" in exported.headers["content-disposition"]
    assert client.post(f"/api/v1/workflow/versions/{v1['id']}/retire", headers=h).status_code == 200
    again = client.post(f"/api/v1/workflow/versions/{v1['id']}/retire", headers=h)
    assert again.status_code == 409
    actions = set(session.scalars(select(AuditLog.action).where(AuditLog.function == "workflow.templates")))
    assert {"flow.create", "flow.publish", "flow.save_draft", "flow.retire"} <= actions


def test_hostile_flow_is_refused_naming_the_element(client, factory, session):
    h = _admin(factory).headers
    created = client.post(
        "/api/v1/workflow/templates", json={"code": "evil", "name": "evil", "bpmn_xml": HOSTILE}, headers=h
    ).json()
    version_id = created["versions"][0]["id"]
    problems = client.get(f"/api/v1/workflow/versions/{version_id}/problems", headers=h).json()
    assert problems and all(p["element_id"] for p in problems)
    refused = client.post(f"/api/v1/workflow/versions/{version_id}/publish", headers=h)
    assert refused.status_code == 422
    locs = [d["loc"] for d in refused.json()["detail"]]
    assert all(loc[:2] == ["body", "bpmn_xml"] for loc in locs)
    assert {p["element_id"] for p in problems} == {loc[2] for loc in locs}
    session.expire_all()
    assert session.get(FlowVersion, version_id).status == "draft"


def test_bad_input_names_the_field(client, factory):
    h = _admin(factory).headers
    r = client.post(
        "/api/v1/workflow/templates", json={"code": "1bad", "name": "x", "bpmn_xml": APPROVAL}, headers=h
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "code"]
    r = client.post(
        "/api/v1/workflow/templates", json={"code": "ok", "name": "x", "bpmn_xml": " "}, headers=h
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "bpmn_xml"]


def test_pages_import_and_show_problems_in_chinese(client, factory):
    admin = factory.user(admin=True)
    csrf = browser_login(client, admin.username)
    r = client.post(
        "/workflow/templates",
        data={"csrf_token": csrf, "code": "evil", "name": "恶意流程"},
        files={"bpmn_file": ("evil.bpmn", HOSTILE.encode(), "application/xml")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    detail = client.get(r.headers["location"])
    assert detail.status_code == 200
    assert "以下问题导致不能发布" in detail.text
    version_id = int(detail.text.split("/workflow/versions/")[1].split("/")[0])
    refused = client.post(f"/workflow/versions/{version_id}/publish", data={"csrf_token": csrf})
    assert refused.status_code == 422
    designer = client.get(f"/workflow/versions/{version_id}/designer")
    assert designer.status_code == 200 and "bpmn-modeler.production.min.js" in designer.text
