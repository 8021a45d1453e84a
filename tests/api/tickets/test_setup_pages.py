"""Ticket configuration pages: they render for configurators, save through the service, and re-show a
form with the message beside each bad field (422) or the conflict (409) without saving anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from kefu.audit.models import AuditLog
from kefu.org.config.dictionary import seed_defaults
from kefu.tickets.models import BusinessCategory, CaseTemplate, FormTemplate, TemplateStatus, TicketType
from kefu.workflow import flows
from tests.support import browser_login

CONFIG = ["tickets.config.view", "tickets.config.edit"]
APPROVAL_BPMN = (Path(__file__).parent.parent / "flows" / "approval.bpmn").read_text()
ELEMENTS = [
    {"code": "area", "label": "区域", "type": "choice", "options": [["east", "东区"], ["west", "西区"]]},
    {"code": "amount", "label": "金额", "type": "number", "max_value": 10000},
    {"code": "urgent_visit", "label": "上门", "type": "bool"},
]


@pytest.fixture
def world(session, factory):
    seed_defaults(session)
    admin = factory.actor(factory.user(admin=True))
    flow = flows.create_template(
        session, actor=admin, code="pages_flow", name="页面流程", bpmn_xml=APPROVAL_BPMN
    )
    flows.publish(session, actor=admin, version=flow.versions[0])
    parent = BusinessCategory(code="complaint", name="投诉")
    session.add(parent)
    session.flush()
    parent.path = f"/{parent.id}/"
    child = BusinessCategory(code="network", name="网络质量", parent_id=parent.id)
    session.add(child)
    session.flush()
    child.path = f"{parent.path}{child.id}/"
    form = FormTemplate(code="consult", name="咨询单", status=TemplateStatus.ACTIVE, elements=ELEMENTS)
    session.add(form)
    session.flush()
    ticket_type = TicketType(
        code="TS", name="咨询投诉", prefix="TS", flow_template_id=flow.id, form_template_id=form.id
    )
    session.add(ticket_type)
    session.flush()
    case = CaseTemplate(
        code="no_internet", name="宽带无法上网", type_id=ticket_type.id, fields={"area": "east"}
    )
    session.add(case)
    session.flush()
    return {"flow": flow, "parent": parent, "child": child, "form": form, "type": ticket_type, "case": case}


@pytest.fixture
def csrf(client, factory):
    return browser_login(client, factory.user(CONFIG).username)


def audit_count(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditLog)) or 0


def test_pages_render_in_chinese_with_the_menu(client, world, csrf):
    paths = [
        "/admin/tickets/categories",
        f"/admin/tickets/categories?edit={world['child'].id}",
        f"/admin/tickets/categories?parent={world['parent'].id}",
        "/admin/tickets/forms",
        "/admin/tickets/forms/new",
        f"/admin/tickets/forms/{world['form'].id}",
        "/admin/tickets/types",
        "/admin/tickets/types/new",
        f"/admin/tickets/types/{world['type'].id}",
        "/admin/tickets/cases",
        "/admin/tickets/cases/new",
        f"/admin/tickets/cases/new?type_id={world['type'].id}",
        f"/admin/tickets/cases/{world['case'].id}",
    ]
    for path in paths:
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:2000])
        assert '<html lang="zh-CN">' in r.text
    home = client.get("/").text
    for url in (
        "/admin/tickets/categories",
        "/admin/tickets/forms",
        "/admin/tickets/types",
        "/admin/tickets/cases",
    ):
        assert f'data-nav="{url}"' in home
    tree = client.get("/admin/tickets/categories").text
    assert tree.index('data-category="complaint"') < tree.index('data-category="network"')
    assert 'class="tree-indent"' in tree
    # The element editor shows every stored element as a row of inputs.
    editor = client.get(f"/admin/tickets/forms/{world['form'].id}").text
    assert 'name="elements-1-code" value="amount"' in editor
    assert "east=东区\nwest=西区" in editor
    # The case editor offers the type's elements, choices included, prefilled as stored.
    case = client.get(f"/admin/tickets/cases/{world['case'].id}").text
    assert '<option value="east" selected>东区</option>' in case
    fragment = client.get(
        f"/admin/tickets/cases/fields?type_id={world['type'].id}", headers={"HX-Request": "true"}
    )
    assert 'name="fields-amount"' in fragment.text and "<html" not in fragment.text


def test_menu_and_pages_are_hidden_from_others(client, factory, world):
    browser_login(client, factory.user(["tickets.ticket.create"]).username)
    assert 'data-nav="/admin/tickets/types"' not in client.get("/").text
    assert client.get("/admin/tickets/types").status_code == 403


def test_viewer_sees_but_cannot_save(client, factory, world, session):
    token = browser_login(client, factory.user(["tickets.config.view"]).username)
    page = client.get("/admin/tickets/categories")
    assert page.status_code == 200 and 'id="category-form"' not in page.text
    r = client.post("/admin/tickets/categories", data={"csrf_token": token, "code": "x1", "name": "x"})
    assert r.status_code == 403
    assert session.scalar(select(BusinessCategory).where(BusinessCategory.code == "x1")) is None


def test_category_form_creates_moves_and_reshows_errors(client, world, csrf, session):
    r = client.post(
        "/admin/tickets/categories",
        data={"csrf_token": csrf, "code": "bad code", "name": "信号弱", "parent_id": str(world["child"].id)},
    )
    assert r.status_code == 422
    assert 'data-error-for="code"' in r.text and 'value="信号弱"' in r.text
    assert session.scalar(select(BusinessCategory).where(BusinessCategory.name == "信号弱")) is None

    r = client.post(
        "/admin/tickets/categories",
        data={"csrf_token": csrf, "code": "weak", "name": "信号弱", "parent_id": str(world["child"].id)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    weak = session.scalar(select(BusinessCategory).where(BusinessCategory.code == "weak"))
    assert weak.path == f"{world['child'].path}{weak.id}/"

    # Moving the parent under its own child is refused beside the field.
    parent = world["parent"]
    r = client.post(
        "/admin/tickets/categories",
        data={
            "csrf_token": csrf,
            "id": str(parent.id),
            "code": "complaint",
            "name": "投诉",
            "parent_id": str(weak.id),
        },
    )
    assert r.status_code == 422 and 'data-error-for="parent_id"' in r.text
    # Moving the child to the top level takes its subtree along.
    child = world["child"]
    r = client.post(
        "/admin/tickets/categories",
        data={
            "csrf_token": csrf,
            "id": str(child.id),
            "code": "network",
            "name": "网络质量",
            "enabled": "on",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.expire_all()
    assert session.get(BusinessCategory, weak.id).path == f"/{child.id}/{weak.id}/"

    r = client.post(
        f"/admin/tickets/categories/{child.id}/toggle", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    session.expire_all()
    assert session.get(BusinessCategory, child.id).enabled is False


def test_category_delete_refusal_is_shown(client, world, csrf, session):
    r = client.post(f"/admin/tickets/categories/{world['parent'].id}/delete", data={"csrf_token": csrf})
    assert r.status_code == 409
    assert 'data-error-for="_"' in r.text and "该类别下还有子类别" in r.text
    assert session.get(BusinessCategory, world["parent"].id) is not None


def _form_data(csrf: str, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "code": "repair",
        "name": "报修单",
        "status": "active",
        "effective_from": "2026-01-01",
        "effective_to": "",
        "elements-0-code": "meter_no",
        "elements-0-type": "text",
        "elements-0-label": "表号",
        "elements-0-required": "on",
        "elements-0-pattern": "[0-9]{8}",
        "elements-n7-code": "kind",
        "elements-n7-type": "choice",
        "elements-n7-label": "类型",
        "elements-n7-options": "water=水表\ngas=燃气表",
        "elements-n7-default": "gas",
        **extra,
    }


def test_form_template_editor_saves_rows_in_page_order(client, world, csrf, session):
    r = client.post("/admin/tickets/forms", data=_form_data(csrf), follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    template = session.scalar(select(FormTemplate).where(FormTemplate.code == "repair"))
    assert r.headers["location"] == f"/admin/tickets/forms/{template.id}?saved=1"
    assert [(e["code"], e["required"]) for e in template.elements] == [("meter_no", True), ("kind", False)]
    assert template.elements[1]["options"] == [["water", "水表"], ["gas", "燃气表"]]
    assert template.elements[1]["default"] == "gas" and template.elements[0]["pattern"] == "[0-9]{8}"
    assert str(template.effective_from) == "2026-01-01" and template.effective_to is None
    saved = client.get(r.headers["location"]).text
    assert 'id="saved"' in saved


def test_form_template_editor_reshows_element_errors(client, world, csrf, session):
    before = audit_count(session)
    data = _form_data(
        csrf, **{"elements-0-code": "Bad Code", "elements-n7-options": "", "effective_to": "2025-01-01"}
    )
    r = client.post("/admin/tickets/forms", data=data)
    assert r.status_code == 422
    assert 'data-error-for="elements.0.code"' in r.text
    assert 'value="Bad Code"' in r.text  # what was typed is kept
    assert session.scalar(select(FormTemplate).where(FormTemplate.code == "repair")) is None
    assert audit_count(session) == before
    r = client.post("/admin/tickets/forms", data=_form_data(csrf, effective_to="2025-01-01"))
    assert r.status_code == 422 and 'data-error-for="effective_to"' in r.text


def test_form_template_saved_from_a_stale_version_is_409(client, world, csrf, session):
    form = world["form"]
    common = {"csrf_token": csrf, "id": str(form.id), "code": "consult", "status": "active"}
    fresh = client.post(
        "/admin/tickets/forms", data={**common, "version": "1", "name": "第一次"}, follow_redirects=False
    )
    assert fresh.status_code == 303
    stale = client.post("/admin/tickets/forms", data={**common, "version": "1", "name": "第二次"})
    assert stale.status_code == 409 and "该记录已被他人修改" in stale.text
    session.expire_all()
    assert session.get(FormTemplate, form.id).name == "第一次"


def test_ticket_type_form(client, world, csrf, session):
    data = {
        "csrf_token": csrf,
        "code": "QX",
        "name": "故障报修",
        "prefix": "qx",
        "flow_template_id": str(world["flow"].id),
        "form_template_id": str(world["form"].id),
        "limit": "3 days",
        "default_priority": "urgent",
        "enabled": "on",
    }
    r = client.post("/admin/tickets/types", data=data)
    assert r.status_code == 422
    assert 'data-error-for="prefix"' in r.text and 'data-error-for="limit"' in r.text
    assert session.scalar(select(TicketType).where(TicketType.code == "QX")) is None
    r = client.post(
        "/admin/tickets/types", data={**data, "prefix": "QX", "limit": "P2D"}, follow_redirects=False
    )
    assert r.status_code == 303
    created = session.scalar(select(TicketType).where(TicketType.code == "QX"))
    assert (created.limit, created.default_priority, created.enabled) == ("P2D", "urgent", True)


def test_case_template_form_checks_prefilled_fields(client, world, csrf, session):
    data = {
        "csrf_token": csrf,
        "code": "meter_broken",
        "name": "表具损坏",
        "type_id": str(world["type"].id),
        "subject": "表具损坏",
        "nature": "fault",
        "fields-area": "west",
        "fields-amount": "20000",
        "fields-urgent_visit": "true",
        "enabled": "on",
    }
    r = client.post("/admin/tickets/cases", data=data)
    assert r.status_code == 422 and 'data-error-for="fields.amount"' in r.text
    assert 'value="20000"' in r.text
    assert session.scalar(select(CaseTemplate).where(CaseTemplate.code == "meter_broken")) is None
    r = client.post("/admin/tickets/cases", data={**data, "fields-amount": "300"}, follow_redirects=False)
    assert r.status_code == 303
    case = session.scalar(select(CaseTemplate).where(CaseTemplate.code == "meter_broken"))
    assert case.fields == {"area": "west", "amount": 300, "urgent_visit": True}
    assert case.nature == "fault"


def test_page_post_without_csrf_is_refused(client, world, csrf, session):
    r = client.post("/admin/tickets/categories", data={"code": "nocsrf", "name": "x"})
    assert r.status_code == 403
    assert session.scalar(select(BusinessCategory).where(BusinessCategory.code == "nocsrf")) is None
