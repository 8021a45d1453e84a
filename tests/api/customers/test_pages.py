"""The customer pages as a signed-in person uses them: search as you type, registration and editing
with every message beside its field, subscribers whose attributes follow their kind, recording a
contact from the 360 page, and the configuration screens."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from kefu.customers.models import Customer, Subscriber
from tests.api.customers.conftest import AGENT, OFFICER, resident_id
from tests.support import browser_login


def _login(crm, perms, **kw):
    user = crm.factory.user(perms, **kw)
    crm.client.cookies.clear()
    return user, browser_login(crm.client, user.username)


def _post(crm, url, csrf, data):
    return crm.client.post(url, data={"csrf_token": csrf, **data}, follow_redirects=False)


def test_search_page_and_its_live_results(crm):
    crm.create(name="欧阳娜娜", phones=[{"number": "13611112222"}])
    _login(crm, AGENT)
    page = crm.client.get("/customers", params={"q": "oynn"})
    assert page.status_code == 200 and "欧阳娜娜" in page.text and 'hx-get="/customers"' in page.text
    fragment = crm.client.get(
        "/customers",
        params={"q": "136 1111 2222"},
        headers={"HX-Request": "true", "HX-Target": "customer-results"},
    )
    assert fragment.text.lstrip().startswith('<div id="customer-results">') and "欧阳娜娜" in fragment.text
    none = crm.client.get(
        "/customers", params={"q": "nobody"}, headers={"HX-Request": "true", "HX-Target": "customer-results"}
    )
    assert 'id="no-customers"' in none.text


def test_registration_shows_every_message_and_writes_nothing(crm, session):
    _, csrf = _login(crm, OFFICER, department=crm.north)
    form = crm.client.get("/customers/new")
    assert form.status_code == 200 and 'name="phones-0-number"' in form.text
    before = session.scalar(select(func.count()).select_from(Customer))
    bad = _post(
        crm,
        "/customers/new",
        csrf,
        {
            "kind": "individual",
            "name": "",
            "id_type": "resident_id",
            "id_number": "110105198506151231",
            "phones-0-number": "12345",
            "emails-0-address": "x@",
            "parent_code": "KH99999999",
        },
    )
    assert bad.status_code == 422
    for field in ("name", "id_number", "phones.0.number", "emails.0.address", "parent_code"):
        assert f'data-error-for="{field}"' in bad.text, field
    assert 'value="12345"' in bad.text  # what was typed stays
    assert session.scalar(select(func.count()).select_from(Customer)) == before
    ok = _post(
        crm,
        "/customers/new",
        csrf,
        {
            "kind": "individual",
            "name": "曾小贤",
            "tier": "gold",
            "id_type": "resident_id",
            "id_number": resident_id(),
            "phones-0-number": "138 1111 2222",
            "phones-1-number": "0755-8888 6666",
            "phones-primary": "1",
            "addresses-0-kind": "home",
            "addresses-0-detail": "深圳市南山区科技园 1 号",
        },
    )
    assert ok.status_code == 303, ok.text[:2000]
    customer = session.scalar(select(Customer).where(Customer.name == "曾小贤"))
    assert customer.pinyin == "zeng xiao xian" and [p.is_primary for p in customer.phones] == [False, True]
    detail = crm.client.get(ok.headers["location"])
    assert detail.status_code == 200 and "曾小贤" in detail.text and "0755 8888 6666" in detail.text
    assert "1101**********" in detail.text  # the ID number is masked on the 360 page


def test_edit_keeps_the_version_and_reports_conflicts(crm, session):
    c = crm.create(name="张三")
    _, csrf = _login(crm, OFFICER, department=crm.north)
    form = crm.client.get(f"/customers/{c['id']}/edit")
    version = re.search(r'name="version" value="(\d+)"', form.text).group(1)
    saved = _post(
        crm,
        f"/customers/{c['id']}/edit",
        csrf,
        {"version": version, "kind": "individual", "name": "张三丰", "phones-0-number": "13800138000"},
    )
    assert saved.status_code == 303
    stale = _post(
        crm, f"/customers/{c['id']}/edit", csrf, {"version": version, "kind": "individual", "name": "张四"}
    )
    assert stale.status_code == 409 and 'data-error-for="_"' in stale.text
    assert session.get(Customer, c["id"]).name == "张三丰"


def test_subscriber_form_follows_the_kind(crm, session):
    c = crm.create(name="李四", phones=[])
    _, csrf = _login(crm, OFFICER, department=crm.north)
    water = crm.client.get(
        f"/customers/{c['id']}/subscribers/new",
        params={"kind": "water"},
        headers={"HX-Request": "true", "HX-Target": "subscriber-form"},
    )
    assert 'data-attribute="meter_no"' in water.text and 'data-attribute="imsi"' not in water.text
    assert water.text.lstrip().startswith("<form")
    bad = _post(
        crm,
        f"/customers/{c['id']}/subscribers/new",
        csrf,
        {"kind": "water", "service_number": "88001234", "attr-meter_no": "", "attr-meter_caliber_mm": "big"},
    )
    assert bad.status_code == 422
    assert (
        'data-error-for="attributes.meter_no"' in bad.text
        and 'data-error-for="attributes.meter_caliber_mm"' in bad.text
    )
    assert (
        session.scalar(select(func.count()).select_from(Subscriber).where(Subscriber.customer_id == c["id"]))
        == 0
    )
    ok = _post(
        crm,
        f"/customers/{c['id']}/subscribers/new",
        csrf,
        {
            "kind": "water",
            "service_number": "88001234",
            "status": "active",
            "attr-meter_no": "SB123456",
            "attr-meter_caliber_mm": "20",
        },
    )
    assert ok.status_code == 303
    page = crm.client.get(f"/customers/{c['id']}")
    assert "88001234" in page.text and "SB123456" in page.text


def test_recording_a_contact_from_the_360_page(crm):
    c = crm.create(name="王五")
    _, csrf = _login(crm, [*AGENT])
    bad = _post(
        crm,
        f"/customers/{c['id']}/contacts",
        csrf,
        {"channel": "pigeon", "direction": "inbound", "summary": "x"},
    )
    assert bad.status_code == 422 and 'data-error-for="channel"' in bad.text
    ok = _post(
        crm,
        f"/customers/{c['id']}/contacts",
        csrf,
        {"channel": "visit", "direction": "inbound", "summary": "到营业厅咨询套餐"},
    )
    assert ok.status_code == 303
    page = crm.client.get(f"/customers/{c['id']}")
    assert "到营业厅咨询套餐" in page.text and "来访" in page.text
    listed = crm.client.get("/customers/contacts")
    assert "到营业厅咨询套餐" in listed.text


def test_configuration_pages(crm):
    _, csrf = _login(crm, ["customers.config.view", "customers.config.edit"])
    kinds = crm.client.get("/customers/kinds")
    assert kinds.status_code == 200 and "智能卡号" in kinds.text
    bad = _post(
        crm, "/customers/kinds/water/attributes", csrf, {"code": "Bad Code", "label": "", "type": "text"}
    )
    assert (
        bad.status_code == 422
        and 'data-error-for="code"' in bad.text
        and 'data-error-for="label"' in bad.text
    )
    assert (
        _post(
            crm,
            "/customers/kinds/water/attributes",
            csrf,
            {"code": "district", "label": "供水片区", "type": "text"},
        ).status_code
        == 303
    )
    systems = crm.client.get("/customers/business-systems")
    assert systems.status_code == 200 and 'id="system-billing"' in systems.text
    bad = _post(
        crm,
        "/customers/business-systems/billing",
        csrf,
        {
            "implementation": "http",
            "base_url": "nowhere",
            "path": "/x",
            "timeout_seconds": "3",
            "retries": "1",
            "failure_threshold": "5",
            "cooldown_seconds": "30",
        },
    )
    assert bad.status_code == 422 and 'data-error-for="base_url"' in bad.text
    assert (
        _post(
            crm,
            "/customers/business-systems/billing",
            csrf,
            {
                "implementation": "demo",
                "base_url": "",
                "path": "/customers/{customer_code}/billing",
                "timeout_seconds": "3",
                "retries": "1",
                "failure_threshold": "5",
                "cooldown_seconds": "30",
            },
        ).status_code
        == 303
    )
    probe = _post(crm, "/customers/business-systems/billing/probe", csrf, {"customer_code": "KH1"})
    assert 'id="probe-result"' in probe.text and "业务系统已响应" in probe.text


def test_menus_follow_permissions(crm):
    _login(crm, AGENT)
    home = crm.client.get("/")
    assert 'data-nav="/customers"' in home.text and 'data-nav="/customers/contacts"' in home.text
    assert 'data-nav="/customers/business-systems"' not in home.text
    _login(crm, [])
    assert 'data-nav="/customers"' not in crm.client.get("/").text
    assert crm.client.get("/customers").status_code == 403
