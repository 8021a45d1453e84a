"""Flows imported without a diagram are stored laid out, through every path that takes BPMN XML; a flow
with a diagram is stored exactly as it came."""

import json
import re
from pathlib import Path

from lxml import etree

from kefu.workflow import flows
from kefu.workflow.builder.model import NSMAP
from kefu.workflow.models import FlowVersion
from kefu.workflow.runtime import service as runtime
from tests.support import browser_login

FLOWS = Path(__file__).parent / "flows"
APPROVAL = (FLOWS / "approval.bpmn").read_text()  # no diagram
DRAWN = (
    Path(__file__).parents[1] / "unit" / "workflow_builder" / "data" / "proposal.bpmn-js.bpmn"
).read_text()
NODES = {"start", "register", "review", "decision", "handle", "close", "end"}
EDGES = {"to_register", "to_review", "to_decision", "approved_flow", "rejected_flow", "to_close", "to_end"}


def _admin(factory):
    return factory.token_login(
        factory.user(
            [
                "workflow.templates.view",
                "workflow.templates.create",
                "workflow.templates.edit",
                "workflow.templates.publish",
            ]
        )
    )


def _drawn(xml: str) -> tuple[set[str], set[str]]:
    root = etree.fromstring(xml.encode())
    shapes = {s.get("bpmnElement") for s in root.iterfind(".//bpmndi:BPMNShape", NSMAP)}
    edges = {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", NSMAP)}
    return shapes, edges


def test_an_uploaded_flow_without_a_diagram_is_exported_with_one(client, factory, session):
    assert "BPMNShape" not in APPROVAL
    h = _admin(factory).headers
    created = client.post(
        "/api/v1/workflow/templates", json={"code": "nodi", "name": "无图", "bpmn_xml": APPROVAL}, headers=h
    )
    assert created.status_code == 201, created.text
    v1 = created.json()["versions"][0]["id"]
    exported = client.get(f"/api/v1/workflow/versions/{v1}/bpmn", headers=h).text
    assert _drawn(exported) == (NODES, EDGES)
    assert client.get(f"/api/v1/workflow/versions/{v1}", headers=h).json()["bpmn_xml"] == exported
    assert client.get(f"/api/v1/workflow/versions/{v1}/problems", headers=h).json() == []

    # Exported and imported again: stored as exported (nothing left to lay out), and it parses the same.
    again = client.post(
        "/api/v1/workflow/templates",
        json={"code": "nodi2", "name": "再导入", "bpmn_xml": exported},
        headers=h,
    ).json()
    v2 = again["versions"][0]["id"]
    assert client.get(f"/api/v1/workflow/versions/{v2}/bpmn", headers=h).text == exported
    for version_id in (v1, v2):
        assert client.post(f"/api/v1/workflow/versions/{version_id}/publish", headers=h).status_code == 200
    session.expire_all()
    one, two = session.get(FlowVersion, v1), session.get(FlowVersion, v2)
    assert one.spec_json == two.spec_json and one.nodes == two.nodes


def test_a_draft_without_a_diagram_is_laid_out_and_one_with_a_diagram_kept_byte_for_byte(client, factory):
    h = _admin(factory).headers
    flow = client.post(
        "/api/v1/workflow/templates", json={"code": "kept", "name": "保留", "bpmn_xml": DRAWN}, headers=h
    ).json()
    v1 = flow["versions"][0]["id"]
    assert client.get(f"/api/v1/workflow/versions/{v1}/bpmn", headers=h).text == DRAWN
    saved = client.put(
        f"/api/v1/workflow/templates/{flow['id']}/draft", json={"bpmn_xml": APPROVAL}, headers=h
    ).json()
    assert _drawn(client.get(f"/api/v1/workflow/versions/{saved['id']}/bpmn", headers=h).text) == (
        NODES,
        EDGES,
    )
    saved = client.put(
        f"/api/v1/workflow/templates/{flow['id']}/draft", json={"bpmn_xml": DRAWN}, headers=h
    ).json()
    assert client.get(f"/api/v1/workflow/versions/{saved['id']}/bpmn", headers=h).text == DRAWN


def test_pages_lay_out_uploaded_and_pasted_flows(client, factory, session):
    admin = factory.user(admin=True)
    csrf = browser_login(client, admin.username)
    r = client.post(
        "/workflow/templates",
        data={"csrf_token": csrf, "code": "paged", "name": "页面导入"},
        files={"bpmn_file": ("approval.bpmn", APPROVAL.encode(), "application/xml")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    template_id = int(r.headers["location"].rsplit("/", 1)[1])
    template = flows.get_template(session, template_id)
    assert _drawn(template.versions[0].bpmn_xml) == (NODES, EDGES)
    flows.publish(session, actor=factory.actor(admin), version=template.versions[0])
    r = client.post(
        f"/workflow/templates/{template_id}/draft",
        data={"csrf_token": csrf, "bpmn_text": APPROVAL.replace('name="Review"', 'name="Check"')},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.expire_all()
    draft = max(flows.get_template(session, template_id).versions, key=lambda v: v.number)
    assert draft.number == 2 and _drawn(draft.bpmn_xml) == (NODES, EDGES)


def test_the_tracking_view_gets_the_diagram_of_a_flow_imported_without_one(client, factory, session):
    admin = factory.user(admin=True)
    actor = factory.actor(admin)
    template = flows.create_template(session, actor=actor, code="trk_nodi", name="跟踪", bpmn_xml=APPROVAL)
    version = flows.publish(session, actor=actor, version=template.versions[0])
    instance = runtime.start_instance(
        session, version=version, subject_type="sample", subject_id=9, data={}, actor=actor
    )
    session.flush()
    browser_login(client, admin.username)
    page = client.get(f"/workflow/instances/{instance.id}")
    assert page.status_code == 200
    xml = json.loads(re.search(r"viewer\.importXML\((.+?)\)\.then", page.text, re.S).group(1))
    assert _drawn(xml) == (NODES, EDGES)
