"""The simple flow builder (简单流程配置) as a page and as an API: check, preview, create, save a draft."""

from __future__ import annotations

import copy
import json
import re

import pytest
from sqlalchemy import select

from kefu.audit.models import AuditLog
from kefu.workflow import builder_api, builder_forms, builder_pages, flows
from kefu.workflow.models import FlowTemplate, FlowVersion
from tests.support import browser_login

PERMISSIONS = [
    "workflow.templates.view",
    "workflow.templates.create",
    "workflow.templates.edit",
    "workflow.templates.publish",
]


@pytest.fixture(autouse=True)
def builder_routes(app):
    """The builder's routers, on the test app even before kefu.app registers them."""
    paths = {getattr(route, "path", "") for route in app.routes}
    if "/workflow/builder" not in paths:
        app.include_router(builder_pages.router)
        app.include_router(builder_api.router)


def _flow(code: str = "repair", backoffice: str = "backoffice") -> dict:
    """register → handle (done→review, returned→register) → review (approved→close, rejected→handle)
    → close."""
    return {
        "code": code,
        "name": "报修处理",
        "nodes": [
            {"id": "register", "name": "登记", "assign": [{"kind": "initiator"}], "limit": "PT2H"},
            {
                "id": "handle",
                "name": "处理",
                "dispatch": "grab",
                "assign": [
                    {"kind": "role", "ref": backoffice},
                    {"kind": "node_department", "ref": "register"},
                ],
                "states": [
                    {"code": "done", "label": "处理完成", "next": "review"},
                    {"code": "returned", "label": "退回", "next": "register"},
                ],
                "limit": "P2D",
                "warn_at": 0.5,
                "escalation": "reassign",
            },
            {
                "id": "review",
                "name": "审核",
                "assign": [{"kind": "submitter_supervisor"}],
                "states": [
                    {"code": "approved", "label": "通过", "next": "close"},
                    {"code": "rejected", "label": "驳回", "next": "handle"},
                ],
                "limit": "PT8H",
                "escalation": "path",
                "escalation_state": "rejected",
                "countersign": {"mode": "quorum", "quorum": 2},
            },
            {"id": "close", "name": "结案", "assign": [{"kind": "previous_handler"}]},
        ],
    }


def _bad_flow() -> dict:
    flow = _flow()
    flow["nodes"][1]["states"][1]["next"] = "nowhere"
    flow["nodes"][2]["limit"] = "8 hours"
    flow["nodes"][0]["assign"] = []
    flow["nodes"][3]["assign"] = [{"kind": "role", "ref": "no_such_role"}]
    return flow


@pytest.fixture
def org(factory):
    """A role `backoffice` for the candidate rules, and the builder's administrator."""
    role = factory.role([])
    role.code = "backoffice"
    admin = factory.user(PERMISSIONS)
    return admin


def test_page_is_for_flow_administrators_only(client, factory, org):
    browser_login(client, org.username)
    page = client.get("/workflow/builder")
    assert page.status_code == 200
    assert 'x-data="kefuBuilder"' in page.text and "/static/kefu/flow-builder.js" in page.text
    data = json.loads(re.search(r'id="builder-data">(.*?)</script>', page.text, re.S).group(1))
    assert "backoffice" in {o["value"] for o in data["options"]["role"]}
    assert org.username in {o["value"] for o in data["options"]["user"]}
    client.cookies.clear()
    viewer = factory.user(["workflow.templates.view"])
    browser_login(client, viewer.username)
    assert client.get("/workflow/builder").status_code == 403
    assert client.post("/workflow/builder", data={"flow_json": "{}"}).status_code in (403,)


def test_bad_flow_is_shown_again_with_each_message_beside_its_field(client, session, org):
    csrf = browser_login(client, org.username)
    before = session.scalar(select(FlowTemplate.id).order_by(FlowTemplate.id.desc()))
    r = client.post("/workflow/builder", data={"csrf_token": csrf, "flow_json": json.dumps(_bad_flow())})
    assert r.status_code == 422
    data = json.loads(re.search(r'id="builder-data">(.*?)</script>', r.text, re.S).group(1))
    errors = data["errors"]
    assert set(errors) == {
        "nodes[1].states[1].next",
        "nodes[2].limit",
        "nodes[0].assign",
        "nodes[3].assign[0].ref",
    }
    assert errors["nodes[3].assign[0].ref"] == "没有编码为 no_such_role 的角色"
    for path in errors:
        assert f'data-problem-for="{path}"' in r.text
    assert data["flow"]["nodes"][1]["states"][1]["next"] == "nowhere"  # what was typed comes back
    assert session.scalar(select(FlowTemplate.id).order_by(FlowTemplate.id.desc())) == before
    garbled = client.post("/workflow/builder", data={"csrf_token": csrf, "flow_json": "{nodes"})
    assert garbled.status_code == 422 and 'data-error-for="_"' in garbled.text


def test_good_flow_becomes_a_template_that_publishes_and_reopens(client, session, org):
    csrf = browser_login(client, org.username)
    r = client.post(
        "/workflow/builder",
        data={"csrf_token": csrf, "flow_json": json.dumps(_flow()), "description": "报修"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    template = session.scalars(select(FlowTemplate).where(FlowTemplate.code == "repair")).one()
    assert r.headers["location"] == f"/workflow/templates/{template.id}"
    draft = template.versions[0]
    assert flows.problems(draft) == []
    assert 'kefu:state code="returned" label="退回" next="register"' in draft.bpmn_xml
    published = client.post(f"/workflow/versions/{draft.id}/publish", data={"csrf_token": csrf})
    assert published.status_code == 200 or published.status_code == 303
    session.refresh(draft)
    assert draft.status == "published" and draft.nodes["handle"]["dispatch"] == "grab"
    # Reopened in the builder, the published version comes back; saving opens version 2 as a draft.
    page = client.get(f"/workflow/builder?template={template.id}")
    data = json.loads(re.search(r'id="builder-data">(.*?)</script>', page.text, re.S).group(1))
    assert [n["id"] for n in data["flow"]["nodes"]] == ["register", "handle", "review", "close"]
    changed = copy.deepcopy(data["flow"])
    changed["nodes"][2]["limit"] = "PT4H"
    r = client.post(
        "/workflow/builder",
        data={
            "csrf_token": csrf,
            "flow_json": json.dumps(changed),
            "template_id": template.id,
            "comment": "4h",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.expire_all()
    v2 = session.scalars(
        select(FlowVersion).where(FlowVersion.template_id == template.id, FlowVersion.number == 2)
    ).one()
    assert v2.status == "draft" and v2.comment == "4h" and 'limit="PT4H"' in v2.bpmn_xml
    actions = set(session.scalars(select(AuditLog.action).where(AuditLog.function == "workflow.templates")))
    assert {"flow.create", "flow.save_draft", "flow.publish"} <= actions


def test_flow_beyond_the_simple_shape_points_to_the_designer(client, session, org):
    from pathlib import Path

    csrf = browser_login(client, org.username)
    hostile = (Path(__file__).parent / "flows" / "hostile_script_task.bpmn").read_text()
    template = flows.create_template(
        session, actor=_actor(session, org), code="scripted", name="脚本", bpmn_xml=hostile
    )
    page = client.get(f"/workflow/builder?template={template.id}")
    assert page.status_code == 200 and 'id="builder-not-simple"' in page.text
    assert f"/workflow/versions/{template.versions[0].id}/designer" in page.text
    assert csrf


def _actor(session, user):
    from kefu.core.permissions import build_actor

    return build_actor(session, user)


def test_preview_api_changes_nothing(client, factory, session, org):
    h = factory.token_login(org).headers
    count = session.scalar(select(AuditLog.id).order_by(AuditLog.id.desc()))
    ok = client.post("/api/v1/workflow/builder/preview", json=_flow(), headers=h)
    assert ok.status_code == 200, ok.text
    assert ok.json()["problems"] == [] and ok.json()["bpmn_xml"].startswith("<bpmn:definitions")
    bad = client.post("/api/v1/workflow/builder/preview", json=_bad_flow(), headers=h)
    assert bad.status_code == 200 and bad.json()["bpmn_xml"] == ""
    assert ["nodes", 1, "states", 1, "next"] in [p["loc"] for p in bad.json()["problems"]]
    assert session.scalar(select(AuditLog.id).order_by(AuditLog.id.desc())) == count
    assert session.scalar(select(FlowTemplate.id).where(FlowTemplate.code == "repair")) is None
    nobody = factory.token_login(factory.user(["workflow.templates.view"])).headers
    assert client.post("/api/v1/workflow/builder/preview", json=_flow(), headers=nobody).status_code == 403


def test_api_creates_and_saves_drafts_naming_each_bad_field(client, factory, session, org):
    h = factory.token_login(org).headers
    bad = client.post("/api/v1/workflow/builder/templates", json=_bad_flow(), headers=h)
    assert bad.status_code == 422
    locs = [d["loc"] for d in bad.json()["detail"]]
    assert ["body", "nodes", 2, "limit"] in locs and ["body", "nodes", 3, "assign", 0, "ref"] in locs
    assert session.scalar(select(FlowTemplate.id).where(FlowTemplate.code == "repair")) is None
    created = client.post("/api/v1/workflow/builder/templates", json=_flow(), headers=h)
    assert created.status_code == 201, created.text
    template_id = created.json()["id"]
    again = client.post("/api/v1/workflow/builder/templates", json=_flow(), headers=h)
    assert again.status_code == 422 and again.json()["detail"][0]["loc"] == ["body", "code"]
    read = client.get(f"/api/v1/workflow/builder/templates/{template_id}", headers=h)
    assert read.status_code == 200 and read.json()["nodes"][2]["countersign"]["quorum"] == 2
    body = read.json() | {"template_id": template_id, "comment": "edited"}
    body["nodes"][0]["name"] = "受理"
    saved = client.post("/api/v1/workflow/builder/templates", json=body, headers=h)
    assert saved.status_code == 200, saved.text
    assert [v["number"] for v in saved.json()["versions"]] == [1]  # still the one draft, now edited
    session.expire_all()
    assert 'name="受理"' in session.get(FlowTemplate, template_id).versions[0].bpmn_xml
    audit = session.scalars(select(AuditLog.action).where(AuditLog.function == "workflow.templates"))
    assert {"flow.create", "flow.save_draft"} <= set(audit)
    creator = factory.token_login(factory.user(["workflow.templates.create"])).headers
    denied = client.post("/api/v1/workflow/builder/templates", json=body, headers=creator)
    assert denied.status_code == 403


def test_designer_edits_drafts_copies_published_versions_and_only_shows_the_rest(
    client, factory, session, org
):
    actor = _actor(session, org)
    body = builder_forms.BuilderFlow.model_validate(_flow())
    template, v1 = builder_forms.save(session, actor=actor, body=body, template=None)
    csrf = browser_login(client, org.username)
    draft = client.get(f"/workflow/versions/{v1.id}/designer").text
    assert 'data-editable="true"' in draft and 'x-data="kefuPanel"' in draft
    assert "/static/kefu/designer.js" in draft and "bpmn-modeler.production.min.js" in draft
    assert 'id="copy-note"' not in draft
    assert (
        f"/workflow/builder?template={template.id}" in client.get(f"/workflow/templates/{template.id}").text
    )
    assert 'href="/workflow/builder"' in client.get("/workflow/templates").text
    assert client.post(f"/workflow/versions/{v1.id}/publish", data={"csrf_token": csrf}).status_code == 200
    published = client.get(f"/workflow/versions/{v1.id}/designer").text
    assert 'data-editable="true"' in published and 'id="copy-note"' in published
    session.expire_all()  # published by the request above
    flows.save_draft(session, actor=actor, template=template, bpmn_xml=v1.bpmn_xml)
    behind_a_draft = client.get(f"/workflow/versions/{v1.id}/designer").text
    assert 'data-editable="false"' in behind_a_draft and "bpmn-navigated-viewer" in behind_a_draft
    client.cookies.clear()
    viewer = factory.user(["workflow.templates.view"])
    browser_login(client, viewer.username)
    read_only = client.get(f"/workflow/versions/{template.versions[-1].id}/designer").text
    assert 'data-editable="false"' in read_only and 'id="save-draft"' not in read_only
    assert 'href="/workflow/builder"' not in client.get("/workflow/templates").text
    assert client.get("/static/kefu/kefu-moddle.json").json()["uri"] == "urn:kefu:bpmn:1"
