"""Ticket configuration API (TKT-1..3): categories, form templates, ticket types, case templates — CRUD,
every bad field named, permissions, audit rows, delete refusals, optimistic locking, effective dates."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from kefu.audit.models import AuditLog
from kefu.org.config.dictionary import seed_defaults
from kefu.tickets.models import (
    BusinessCategory,
    CaseTemplate,
    FormTemplate,
    TemplateStatus,
    Ticket,
    TicketType,
)
from kefu.tickets.setup import service
from kefu.workflow import flows
from kefu.workflow.models import FlowTemplate
from tests.support import Factory, Login

API = "/api/v1/tickets/setup"
CONFIG = ["tickets.config.view", "tickets.config.edit"]
APPROVAL_BPMN = (Path(__file__).parent.parent / "flows" / "approval.bpmn").read_text()
ELEMENTS = [
    {"code": "contact_phone", "label": "联系电话", "type": "phone", "required": True},
    {"code": "area", "label": "区域", "type": "choice", "options": [["east", "东区"], ["west", "西区"]]},
    {"code": "channel_kind", "label": "渠道", "type": "choice", "dictionary": "channel"},
    {"code": "amount", "label": "金额", "type": "number", "validation": "value <= 10000"},
]


@dataclass
class Setup:
    client: TestClient
    session: Session
    factory: Factory
    editor: Login
    viewer: Login
    flow: FlowTemplate
    draft_flow: FlowTemplate

    def call(self, method: str, path: str, body: Any = None, *, who: Login | None = None, expect: int = 200):
        r = self.client.request(method, API + path, json=body, headers=(who or self.editor).headers)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def category(self, code: str, parent: dict | None = None, **extra: Any) -> dict:
        body = {"code": code, "name": f"类别{code}", "parent_id": parent["id"] if parent else None, **extra}
        return self.call("POST", "/categories", body, expect=201)

    def form(self, code: str = "consult", **extra: Any) -> dict:
        body = {"code": code, "name": "咨询单", "status": "active", "elements": ELEMENTS, **extra}
        return self.call("POST", "/form-templates", body, expect=201)

    def ticket_type(self, code: str = "TS", **extra: Any) -> dict:
        body = {
            "code": code,
            "name": "咨询投诉",
            "prefix": code.upper(),
            "flow_template_id": self.flow.id,
            **extra,
        }
        return self.call("POST", "/types", body, expect=201)


def _flow(session: Session, factory: Factory, code: str, *, publish: bool) -> FlowTemplate:
    actor = factory.actor(factory.user(admin=True))
    template = flows.create_template(session, actor=actor, code=code, name=code, bpmn_xml=APPROVAL_BPMN)
    if publish:
        flows.publish(session, actor=actor, version=template.versions[0])
    session.flush()
    return template


@pytest.fixture
def setup(client: TestClient, session: Session, factory: Factory) -> Setup:
    seed_defaults(session)
    return Setup(
        client=client,
        session=session,
        factory=factory,
        editor=factory.token_login(factory.user(CONFIG)),
        viewer=factory.token_login(factory.user(["tickets.config.view"])),
        flow=_flow(session, factory, "setup_published", publish=True),
        draft_flow=_flow(session, factory, "setup_draft", publish=False),
    )


def fields_of(response: dict) -> list[str]:
    return [d["loc"][-1] for d in response["detail"]]


def audits(session: Session, action: str) -> list[AuditLog]:
    stmt = select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
    return list(session.scalars(stmt))


def audit_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditLog)) or 0


# --- Categories -------------------------------------------------------------------------------------


def test_category_tree_moves_with_subtree_and_refuses_cycles(setup: Setup, session: Session):
    a = setup.category("complaint")
    b = setup.category("network", a)
    c = setup.category("weak_signal", b, sort=1)
    d = setup.category("no_signal", b, sort=0)
    assert c["path"] == f"/{a['id']}/{b['id']}/{c['id']}/"
    tree = setup.call("GET", "/categories")
    assert [(t["code"], t["depth"]) for t in tree] == [
        ("complaint", 0),
        ("network", 1),
        ("no_signal", 2),
        ("weak_signal", 2),
    ]

    cycle = setup.call("PATCH", f"/categories/{b['id']}", {"parent_id": c["id"]}, expect=422)
    assert fields_of(cycle) == ["parent_id"]
    itself = setup.call("PATCH", f"/categories/{b['id']}", {"parent_id": b["id"]}, expect=422)
    assert fields_of(itself) == ["parent_id"]

    moved = setup.call("PATCH", f"/categories/{b['id']}", {"parent_id": None})
    assert moved["path"] == f"/{b['id']}/" and moved["parent_id"] is None
    assert setup.call("GET", f"/categories/{c['id']}")["path"] == f"/{b['id']}/{c['id']}/"
    assert setup.call("GET", f"/categories/{d['id']}")["path"] == f"/{b['id']}/{d['id']}/"
    assert session.get(BusinessCategory, a["id"]).path == f"/{a['id']}/"  # a sibling prefix is untouched

    [move] = audits(session, "ticket_category.move")
    assert move.function == "tickets.config" and move.target_id == str(b["id"])
    assert move.before == {"parent_id": a["id"], "path": f"/{a['id']}/{b['id']}/"}
    assert move.after == {"parent_id": None, "path": f"/{b['id']}/"}


def test_category_fields_are_checked_together_and_nothing_is_saved(setup: Setup, session: Session):
    setup.category("complaint")
    before = audit_count(session)
    r = setup.call(
        "POST",
        "/categories",
        {"code": "complaint", "name": " ", "parent_id": 999999, "sort": 10**9},
        expect=422,
    )
    assert sorted(fields_of(r)) == ["code", "name", "parent_id", "sort"]
    bad_code = setup.call("POST", "/categories", {"code": "1abc", "name": "x"}, expect=422)
    assert fields_of(bad_code) == ["code"]
    huge = setup.call("POST", "/categories", {"code": "x2", "name": "x", "parent_id": 2**40}, expect=422)
    assert fields_of(huge) == ["parent_id"]
    huge = setup.call(
        "POST", "/types", {"code": "x2", "name": "x", "prefix": "X2", "flow_template_id": 2**40}, expect=422
    )
    assert fields_of(huge) == ["flow_template_id"]
    assert audit_count(session) == before
    assert session.scalar(select(func.count()).select_from(BusinessCategory)) == 1


def test_category_enable_disable_and_update_are_audited(setup: Setup, session: Session):
    a = setup.category("praise")
    off = setup.call("PATCH", f"/categories/{a['id']}", {"enabled": False})
    assert off["enabled"] is False
    renamed = setup.call("PATCH", f"/categories/{a['id']}", {"name": "表扬", "description": "客户表扬"})
    assert renamed["name"] == "表扬"
    [create] = audits(session, "ticket_category.create")
    assert create.after["code"] == "praise" and create.before is None
    [disable] = audits(session, "ticket_category.disable")
    assert (disable.before, disable.after) == ({"enabled": True}, {"enabled": False})
    [update] = audits(session, "ticket_category.update")
    assert update.after == {"name": "表扬", "description": "客户表扬"}
    # Sending the same values again changes nothing and records nothing.
    count = audit_count(session)
    setup.call("PATCH", f"/categories/{a['id']}", {"name": "表扬"})
    assert audit_count(session) == count
    null_flag = setup.call("PATCH", f"/categories/{a['id']}", {"enabled": None}, expect=422)
    assert fields_of(null_flag) == ["enabled"]


def test_category_delete_is_refused_while_anything_refers_to_it(setup: Setup, session: Session):
    parent = setup.category("complaint")
    child = setup.category("network", parent)
    r = setup.client.delete(f"{API}/categories/{parent['id']}", headers=setup.editor.headers)
    assert r.status_code == 409 and r.json()["detail"] == "该类别下还有子类别，请先删除或移走"

    form = setup.form(category_id=child["id"])
    assert (
        setup.call("DELETE", f"/categories/{child['id']}", expect=409)["detail"]
        == "有工单模板属于该类别，请先修改它们"
    )
    setup.call("PATCH", f"/form-templates/{form['id']}", {"category_id": None})

    ticket_type = setup.ticket_type(category_id=child["id"])
    assert (
        setup.call("DELETE", f"/categories/{child['id']}", expect=409)["detail"]
        == "有工单类型属于该类别，请先修改它们"
    )
    setup.call("PATCH", f"/types/{ticket_type['id']}", {"category_id": None})

    case = setup.call(
        "POST",
        "/case-templates",
        {"code": "c1", "name": "案例", "type_id": ticket_type["id"], "category_id": child["id"]},
        expect=201,
    )
    assert (
        setup.call("DELETE", f"/categories/{child['id']}", expect=409)["detail"]
        == "有案例模板属于该类别，请先修改它们"
    )
    setup.call("PATCH", f"/case-templates/{case['id']}", {"category_id": None})

    session.add(
        Ticket(
            serial="TS-1", type_id=ticket_type["id"], category_id=child["id"], channel="phone", subject="x"
        )
    )
    session.flush()
    assert (
        setup.call("DELETE", f"/categories/{child['id']}", expect=409)["detail"]
        == "已有工单归在该类别下，请改为停用"
    )
    assert audits(session, "ticket_category.delete") == []

    leaf = setup.category("praise")
    setup.call("DELETE", f"/categories/{leaf['id']}", expect=204)
    assert session.get(BusinessCategory, leaf["id"]) is None
    [deleted] = audits(session, "ticket_category.delete")
    assert deleted.before["code"] == "praise" and deleted.target_id == str(leaf["id"])


# --- Form templates ---------------------------------------------------------------------------------


def test_form_template_crud_stores_checked_elements(setup: Setup, session: Session):
    dept = setup.factory.department()
    category = setup.category("consult")
    created = setup.form(category_id=category["id"], department_id=dept.id, description="常用")
    assert created["version"] == 1 and created["status"] == "active"
    assert [e["code"] for e in created["elements"]] == ["contact_phone", "area", "channel_kind", "amount"]
    # Stored as formdef cleans them: every key present, options as pairs.
    assert created["elements"][1]["options"] == [["east", "东区"], ["west", "西区"]]
    assert created["elements"][0]["validation"] is None
    assert setup.call("GET", f"/form-templates/{created['id']}", who=setup.viewer)["code"] == "consult"
    listed = setup.call("GET", f"/form-templates?category_id={category['id']}", who=setup.viewer)
    assert [t["id"] for t in listed] == [created["id"]]
    assert setup.call("GET", "/form-templates?status=draft") == []

    changed = setup.call(
        "PATCH",
        f"/form-templates/{created['id']}",
        {"version": 1, "name": "咨询投诉单", "elements": ELEMENTS[:1]},
    )
    assert changed["version"] == 2 and len(changed["elements"]) == 1
    [update] = audits(session, "form_template.update")
    assert set(update.after) == {"name", "elements"} and update.before["name"] == "咨询单"

    setup.call("DELETE", f"/form-templates/{created['id']}", expect=204)
    assert session.get(FormTemplate, created["id"]) is None
    assert len(audits(session, "form_template.delete")) == 1


def test_form_template_names_each_bad_element_setting(setup: Setup, session: Session):
    before = audit_count(session)
    elements = [
        {"code": "ok", "label": "好", "type": "text"},
        {"code": "Bad Code", "label": "", "type": "text"},
        {"code": "pick", "label": "选择", "type": "choice", "dictionary": "no_such_table"},
        {"code": "n", "label": "数", "type": "number", "validation": "value > other"},
    ]
    r = setup.call("POST", "/form-templates", {"code": "f1", "name": "单", "elements": elements}, expect=422)
    assert sorted(fields_of(r)) == ["elements.1.code", "elements.1.label", "elements.3.validation"]
    # The dictionary is looked up once the definitions themselves are sound.
    r = setup.call(
        "POST", "/form-templates", {"code": "f1", "name": "单", "elements": elements[2:3]}, expect=422
    )
    assert fields_of(r) == ["elements.0.dictionary"]
    r = setup.call("POST", "/form-templates", {"code": "f1", "name": "单", "elements": [1]}, expect=422)
    assert fields_of(r) == ["elements.0"]
    r = setup.call("POST", "/form-templates", {"code": "f 1", "name": "", "status": "active"}, expect=422)
    assert sorted(fields_of(r)) == ["code", "name"]
    assert audit_count(session) == before
    assert session.scalar(select(func.count()).select_from(FormTemplate)) == 0


def test_form_template_effective_dates(setup: Setup, session: Session):
    bad = setup.call(
        "POST",
        "/form-templates",
        {"code": "f1", "name": "单", "effective_from": "2026-05-01", "effective_to": "2026-04-30"},
        expect=422,
    )
    assert fields_of(bad) == ["effective_to"]
    created = setup.form(effective_from="2026-05-01", effective_to="2026-05-31")
    # Only one end given: checked against the stored other end.
    r = setup.call("PATCH", f"/form-templates/{created['id']}", {"effective_to": "2026-04-01"}, expect=422)
    assert fields_of(r) == ["effective_to"]

    template = session.get(FormTemplate, created["id"])
    assert service.effective_template(session, template, date(2026, 4, 30)) is None
    assert service.effective_template(session, template, date(2026, 5, 1)) is template
    assert service.effective_template(session, template, date(2026, 5, 31)) is template
    assert service.effective_template(session, template, date(2026, 6, 1)) is None
    template.status = TemplateStatus.DRAFT
    assert service.effective_template(session, template, date(2026, 5, 15)) is None
    template.status = TemplateStatus.ACTIVE
    template.effective_from = template.effective_to = None
    assert service.effective_template(session, template, date(1999, 1, 1)) is template
    assert service.effective_template(session, None, date(2026, 5, 15)) is None


def test_form_template_stale_version_is_409_and_changes_nothing(setup: Setup, session: Session):
    created = setup.form()
    setup.call("PATCH", f"/form-templates/{created['id']}", {"version": 1, "name": "第一次"})
    stale = setup.call(
        "PATCH", f"/form-templates/{created['id']}", {"version": 1, "name": "第二次"}, expect=409
    )
    assert stale["code"] == "conflict"
    current = setup.call("GET", f"/form-templates/{created['id']}")
    assert (current["name"], current["version"]) == ("第一次", 2)
    assert len(audits(session, "form_template.update")) == 1
    # Without a version the change is not checked against one.
    assert setup.call("PATCH", f"/form-templates/{created['id']}", {"name": "第三次"})["version"] == 3


def test_form_template_in_use_cannot_be_deleted(setup: Setup, session: Session):
    form = setup.form()
    ticket_type = setup.ticket_type(form_template_id=form["id"])
    r = setup.call("DELETE", f"/form-templates/{form['id']}", expect=409)
    assert r["detail"] == "有工单类型使用该工单模板，请先修改它们"
    setup.call("PATCH", f"/types/{ticket_type['id']}", {"form_template_id": None})
    session.add(
        Ticket(
            serial="TS-2",
            type_id=ticket_type["id"],
            form_template_id=form["id"],
            channel="phone",
            subject="x",
        )
    )
    session.flush()
    assert (
        setup.call("DELETE", f"/form-templates/{form['id']}", expect=409)["detail"]
        == "已有工单使用该工单模板，请改为停用"
    )


# --- Ticket types -----------------------------------------------------------------------------------


def test_ticket_type_reports_every_bad_field(setup: Setup, session: Session):
    setup.ticket_type("TS")
    before = audit_count(session)
    r = setup.call(
        "POST",
        "/types",
        {
            "code": "TS",
            "name": "重复",
            "prefix": "TS",
            "flow_template_id": setup.draft_flow.id,
            "limit": "3 days",
            "default_priority": "whenever",
            "default_department_id": 999999,
            "form_template_id": 999999,
            "category_id": 999999,
        },
        expect=422,
    )
    assert sorted(fields_of(r)) == [
        "category_id",
        "code",
        "default_department_id",
        "default_priority",
        "flow_template_id",
        "form_template_id",
        "limit",
        "prefix",
    ]
    messages = {d["loc"][-1]: d["msg"] for d in r["detail"]}
    assert messages["flow_template_id"] == "该流程没有已发布的版本，请先发布"
    for prefix in ("ts", "TOOLONG1", "T-S", ""):
        bad = setup.call(
            "POST",
            "/types",
            {"code": "X1", "name": "x", "prefix": prefix, "flow_template_id": setup.flow.id},
            expect=422,
        )
        assert fields_of(bad) == ["prefix"], prefix
    missing = setup.call("POST", "/types", {"code": "X1", "name": "x", "prefix": "X1"}, expect=422)
    assert fields_of(missing) == ["flow_template_id"]
    assert audit_count(session) == before


def test_ticket_type_crud_lock_and_delete(setup: Setup, session: Session):
    dept = setup.factory.department()
    category = setup.category("complaint")
    form = setup.form()
    created = setup.ticket_type(
        "TS",
        category_id=category["id"],
        form_template_id=form["id"],
        limit="P3D",
        default_department_id=dept.id,
        default_priority="urgent",
        sort=2,
    )
    assert (created["prefix"], created["limit"], created["default_priority"], created["version"]) == (
        "TS",
        "P3D",
        "urgent",
        1,
    )
    [create] = audits(session, "ticket_type.create")
    assert create.after["flow_template_id"] == setup.flow.id and create.function == "tickets.config"

    other = setup.ticket_type("QX", sort=1)
    assert [t["code"] for t in setup.call("GET", "/types", who=setup.viewer)] == ["QX", "TS"]
    setup.call("PATCH", f"/types/{other['id']}", {"enabled": False})
    assert [t["code"] for t in setup.call("GET", "/types?enabled=true")] == ["TS"]
    taken = setup.call("PATCH", f"/types/{other['id']}", {"prefix": "TS"}, expect=422)
    assert fields_of(taken) == ["prefix"]

    changed = setup.call("PATCH", f"/types/{created['id']}", {"version": 1, "limit": "PT8H", "name": "投诉"})
    assert changed["version"] == 2 and changed["limit"] == "PT8H"
    setup.call("PATCH", f"/types/{created['id']}", {"version": 1, "name": "过期"}, expect=409)
    assert session.get(TicketType, created["id"]).name == "投诉"
    cleared = setup.call("PATCH", f"/types/{created['id']}", {"limit": ""})
    assert cleared["limit"] is None

    case = setup.call(
        "POST", "/case-templates", {"code": "c1", "name": "案例", "type_id": created["id"]}, expect=201
    )
    session.add(Ticket(serial="TS-3", type_id=created["id"], channel="phone", subject="x"))
    session.flush()
    assert (
        setup.call("DELETE", f"/types/{created['id']}", expect=409)["detail"]
        == "已有该类型的工单，请改为停用"
    )

    setup.call("DELETE", f"/types/{other['id']}", expect=204)
    assert session.get(TicketType, other["id"]) is None
    [deleted] = audits(session, "ticket_type.delete")
    assert deleted.before["code"] == "QX" and deleted.before["case_templates"] == []
    assert session.get(CaseTemplate, case["id"]) is not None


def test_deleting_a_type_takes_its_case_templates(setup: Setup, session: Session):
    ticket_type = setup.ticket_type()
    case = setup.call(
        "POST", "/case-templates", {"code": "c1", "name": "案例", "type_id": ticket_type["id"]}, expect=201
    )
    setup.call("DELETE", f"/types/{ticket_type['id']}", expect=204)
    assert session.get(CaseTemplate, case["id"]) is None
    [deleted] = audits(session, "ticket_type.delete")
    assert deleted.before["case_templates"] == ["c1"]


def test_type_form_shows_the_effective_template_to_registrars(setup: Setup, session: Session):
    form = setup.form()
    ticket_type = setup.ticket_type(form_template_id=form["id"])
    registrar = setup.factory.token_login(setup.factory.user(["tickets.ticket.create"]))
    shown = setup.call("GET", f"/types/{ticket_type['id']}/form", who=registrar)
    assert shown["form_template_id"] == form["id"]
    assert [e["code"] for e in shown["elements"]] == ["contact_phone", "area", "channel_kind", "amount"]
    assert {"code": "phone", "label": "电话"} in shown["choices"]["channel"]
    assert list(shown["choices"]) == ["channel"]

    setup.call("PATCH", f"/form-templates/{form['id']}", {"status": "disabled"})
    hidden = setup.call("GET", f"/types/{ticket_type['id']}/form", who=registrar)
    assert (hidden["form_template_id"], hidden["elements"], hidden["choices"]) == (None, [], {})

    nobody = setup.factory.token_login(setup.factory.user(["tickets.ticket.handle"]))
    setup.call("GET", f"/types/{ticket_type['id']}/form", who=nobody, expect=403)
    setup.call("GET", "/types/999999/form", who=registrar, expect=404)


# --- Case templates ---------------------------------------------------------------------------------


def test_case_template_prefill_is_checked_against_the_type_form(setup: Setup, session: Session):
    form = setup.form()
    ticket_type = setup.ticket_type(form_template_id=form["id"])
    before = audit_count(session)
    bad = setup.call(
        "POST",
        "/case-templates",
        {
            "code": "c1",
            "name": "案例",
            "type_id": ticket_type["id"],
            "priority": "whenever",
            "nature": "gossip",
            "fields": {"amount": "abc", "area": "north", "nonsense": "1"},
        },
        expect=422,
    )
    assert sorted(fields_of(bad)) == ["nature", "priority"]  # fields are checked once the rest is sound
    bad = setup.call(
        "POST",
        "/case-templates",
        {
            "code": "c1",
            "name": "案例",
            "type_id": ticket_type["id"],
            "fields": {"amount": "20000", "area": "north", "nonsense": "1"},
        },
        expect=422,
    )
    assert sorted(fields_of(bad)) == ["fields.amount", "fields.area", "fields.nonsense"]
    assert audit_count(session) == before

    created = setup.call(
        "POST",
        "/case-templates",
        {
            "code": "no_internet",
            "name": "宽带无法上网",
            "type_id": ticket_type["id"],
            "subject": "宽带无法上网",
            "priority": "urgent",
            "nature": "fault",
            # A required element may be left out; empty values are not prefilled.
            "fields": {"amount": "12.50", "area": "east", "channel_kind": "", "contact_phone": None},
        },
        expect=201,
    )
    assert created["fields"] == {"amount": 12.5, "area": "east"}
    assert (
        setup.call("GET", f"/case-templates?type_id={ticket_type['id']}", who=setup.viewer)[0]["id"]
        == created["id"]
    )

    # Moving the case to a type without that form re-checks the stored prefill.
    bare = setup.ticket_type("QX")
    moved = setup.call("PATCH", f"/case-templates/{created['id']}", {"type_id": bare["id"]}, expect=422)
    assert sorted(fields_of(moved)) == ["fields.amount", "fields.area"]
    ok = setup.call("PATCH", f"/case-templates/{created['id']}", {"type_id": bare["id"], "fields": {}})
    assert (ok["type_id"], ok["fields"]) == (bare["id"], {})
    [update] = audits(session, "case_template.update")
    assert update.before == {"type_id": ticket_type["id"], "fields": {"amount": 12.5, "area": "east"}}

    setup.call("DELETE", f"/case-templates/{created['id']}", expect=204)
    assert session.get(CaseTemplate, created["id"]) is None
    assert len(audits(session, "case_template.delete")) == 1
    assert fields_of(setup.call("POST", "/case-templates", {"code": "c2", "name": "x"}, expect=422)) == [
        "type_id"
    ]


# --- Permissions and lists --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/categories", {"code": "x", "name": "x"}),
        ("PATCH", "/categories/{category}", {"name": "y"}),
        ("DELETE", "/categories/{category}", None),
        ("POST", "/form-templates", {"code": "x", "name": "x"}),
        ("PATCH", "/form-templates/{form}", {"name": "y"}),
        ("DELETE", "/form-templates/{form}", None),
        ("POST", "/types", {"code": "x", "name": "x", "prefix": "X"}),
        ("PATCH", "/types/{type}", {"name": "y"}),
        ("DELETE", "/types/{type}", None),
        ("POST", "/case-templates", {"code": "x", "name": "x"}),
        ("PATCH", "/case-templates/{case}", {"name": "y"}),
        ("DELETE", "/case-templates/{case}", None),
    ],
)
def test_viewers_cannot_change_anything(setup: Setup, session: Session, method: str, path: str, body: Any):
    category = setup.category("c")
    form = setup.form()
    ticket_type = setup.ticket_type()
    case = setup.call(
        "POST", "/case-templates", {"code": "k", "name": "k", "type_id": ticket_type["id"]}, expect=201
    )
    url = path.format(category=category["id"], form=form["id"], type=ticket_type["id"], case=case["id"])
    before = audit_count(session)
    setup.call(method, url, body, who=setup.viewer, expect=403)
    assert audit_count(session) == before
    # Reading is what a viewer may do.
    read = url if method != "POST" else path
    setup.call("GET", read, who=setup.viewer)


def test_service_refuses_an_actor_without_edit(setup: Setup, session: Session):
    from kefu.core.errors import PermissionDenied

    viewer = setup.factory.actor(setup.viewer.user)
    with pytest.raises(PermissionDenied):
        service.create_category(session, actor=viewer, code="x", name="x")


@contextmanager
def selects(engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("path", ["/categories", "/form-templates", "/types", "/case-templates"])
def test_list_query_count_does_not_grow(setup: Setup, engine, path: str):
    def one_more(n: int) -> None:
        parent = setup.category(f"c{n}")
        form = setup.form(f"f{n}", category_id=parent["id"])
        ticket_type = setup.ticket_type(f"T{n}", form_template_id=form["id"], category_id=parent["id"])
        setup.call(
            "POST",
            "/case-templates",
            {"code": f"k{n}", "name": "k", "type_id": ticket_type["id"]},
            expect=201,
        )

    one_more(1)
    with selects(engine) as few:
        assert len(setup.call("GET", path, who=setup.viewer)) == 1
    for n in range(2, 5):
        one_more(n)
    with selects(engine) as many:
        assert len(setup.call("GET", path, who=setup.viewer)) == 4
    assert len(many) == len(few)
