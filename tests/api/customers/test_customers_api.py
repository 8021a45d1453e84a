"""Customers over HTTP (CON-1): registration with identity checks and normalised phones, every bad
field named at once with nothing written, parents without cycles, scope, versions, close and delete."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from kefu.audit.models import AuditLog
from kefu.customers.models import Customer, CustomerPhone
from tests.api.customers.conftest import errors_of, resident_id, uscc


def test_register_an_individual_with_everything(crm):
    number = resident_id(date(1985, 6, 15), 123)
    c = crm.create(
        name="单田芳",
        tier="vip",
        id_type="resident_id",
        id_number=number.lower(),
        phones=[{"number": "+86 138-0013-8000"}, {"number": "(010) 1234-5678 转 8", "is_primary": True}],
        emails=[{"address": "Shan@Example.COM"}],
        addresses=[{"region": "北京市 东城区", "detail": "东四十条 22 号", "kind": "home"}],
    )
    assert c["code"] == f"KH{c['id']:08d}" and c["kind"] == "individual"
    assert c["pinyin"] == "shan tian fang"
    assert c["id_number"] == number and c["birth_date"] == "1985-06-15" and c["gender"] == "male"
    assert [(p["e164"], p["is_primary"], p["extension"]) for p in c["phones"]] == [
        ("+8613800138000", False, ""),
        ("+861012345678", True, "8"),
    ]
    assert c["phones"][0]["kind"] == "mobile" and c["phones"][1]["kind"] == "home"
    assert c["emails"][0]["address"] == "Shan@example.com"
    assert c["department_id"] == crm.north.id  # the registering officer's department
    audit = crm.session.scalars(select(AuditLog).where(AuditLog.action == "customer.create")).one()
    assert audit.after["phones"] == ["+8613800138000", "+861012345678"]


def test_every_bad_field_is_named_and_nothing_is_written(crm):
    before = crm.session.scalar(select(func.count()).select_from(Customer))
    r = crm.create(
        expect=422,
        name="",
        tier="platinum",
        id_type="resident_id",
        id_number="110105198506151231",
        phones=[{"number": "13800138000"}, {"number": "12345"}, {"number": "138 0013 8000"}],
        emails=[{"address": "not-an-email"}],
    )
    errors = errors_of(r)
    assert set(errors) == {
        "name",
        "tier",
        "id_number",
        "phones.1.number",
        "phones.2.number",
        "emails.0.address",
    }
    assert "resident identity card" in errors["id_number"].lower() or "居民身份证" in errors["id_number"]
    assert crm.session.scalar(select(func.count()).select_from(Customer)) == before
    assert (
        crm.session.scalar(
            select(func.count()).select_from(CustomerPhone).where(CustomerPhone.e164 == "+8613800138000")
        )
        == 0
    )


def test_document_types_follow_the_kind_of_customer(crm):
    company = crm.create(
        name="北京市自来水集团有限责任公司", kind="enterprise", id_type="uscc", id_number=uscc(), phones=[]
    )
    assert company["kind"] == "enterprise" and company["birth_date"] is None
    r = crm.create(expect=422, name="李四", id_type="uscc", id_number=uscc())
    assert set(errors_of(r)) == {"id_type"}
    r = crm.create(expect=422, name="李四", id_number=resident_id())
    assert set(errors_of(r)) == {"id_type"}
    taken = crm.create(
        expect=422, name="另一家", kind="enterprise", id_type="uscc", id_number=uscc(), phones=[]
    )
    assert set(errors_of(taken)) == {"id_number"}


def test_parent_customers_refuse_cycles(crm):
    group = crm.create(name="中国远洋海运集团", kind="enterprise", phones=[])
    branch = crm.create(name="中远海运上海分公司", kind="enterprise", parent_id=group["id"], phones=[])
    ship = crm.create(name="远洋一号船", kind="enterprise", parent_id=branch["id"], phones=[])
    children = crm.call("GET", f"/{group['id']}/children", crm.officer)
    assert [c["id"] for c in children] == [branch["id"]]
    for parent in (ship["id"], group["id"]):
        r = crm.call(
            "PATCH",
            f"/{group['id']}",
            crm.officer,
            {"version": group["version"], "parent_id": parent},
            expect=422,
        )
        assert set(errors_of(r)) == {"parent_id"}
    r = crm.create(expect=422, name="无名", parent_id=999999)
    assert set(errors_of(r)) == {"parent_id"}
    assert crm.session.get(Customer, group["id"]).parent_id is None


def test_update_needs_the_current_version(crm):
    c = crm.create()
    changed = crm.call(
        "PATCH", f"/{c['id']}", crm.officer, {"version": c["version"], "name": "张三丰", "phones": []}
    )
    assert changed["name"] == "张三丰" and changed["phones"] == [] and changed["version"] != c["version"]
    stale = crm.call("PATCH", f"/{c['id']}", crm.officer, {"version": c["version"], "name": "x"}, expect=409)
    assert "reload" in stale["detail"].lower() or "刷新" in stale["detail"] or "重新" in stale["detail"]
    assert [r["id"] for r in crm.call("GET", "", crm.officer, q="zhangsanfeng")] == [c["id"]]
    assert crm.call("GET", "", crm.officer, q="zhangsanx") == []


def test_scope_hides_other_branches_customers(crm):
    mine = crm.create(crm.branch, name="北区客户")
    theirs = crm.create(name="南区客户", department_id=crm.south.id)
    assert crm.call("GET", f"/{mine['id']}", crm.branch)["name"] == "北区客户"
    crm.call("GET", f"/{theirs['id']}", crm.branch, expect=404)
    crm.call("PATCH", f"/{theirs['id']}", crm.branch, {"version": 1, "name": "x"}, expect=404)
    assert [c["id"] for c in crm.call("GET", "", crm.branch)] == [mine["id"]]
    # Registering into a department one cannot see is refused, naming the field, and leaves nothing.
    r = crm.create(crm.branch, expect=422, name="越权", department_id=crm.south.id)
    assert set(errors_of(r)) == {"department_id"}
    assert crm.session.scalar(select(Customer).where(Customer.name == "越权")) is None


def test_permissions_are_checked(crm):
    c = crm.create()
    crm.call("GET", "", crm.nobody, expect=403)
    crm.call("GET", f"/{c['id']}", crm.nobody, expect=403)
    crm.create(crm.nobody, expect=403)
    crm.call("DELETE", f"/{c['id']}", crm.agent, expect=403)
    crm.call("GET", "/999999", crm.officer, expect=404)


def test_close_reopen_and_delete(crm):
    c = crm.create()
    closed = crm.call(
        "POST", f"/{c['id']}/status", crm.officer, {"version": c["version"], "status": "closed"}
    )
    assert closed["status"] == "closed"
    crm.call(
        "POST",
        f"/{c['id']}/status",
        crm.officer,
        {"version": closed["version"], "status": "closed"},
        expect=409,
    )
    reopened = crm.call(
        "POST", f"/{c['id']}/status", crm.officer, {"version": closed["version"], "status": "active"}
    )
    parent = crm.create(name="集团", kind="enterprise", phones=[])
    crm.create(name="子公司", kind="enterprise", parent_id=parent["id"], phones=[])
    crm.call("DELETE", f"/{parent['id']}", crm.officer, expect=409)
    crm.call("DELETE", f"/{reopened['id']}", crm.officer, expect=204)
    assert crm.session.get(Customer, c["id"]) is None
