"""System parameters (ORG-8): list, read, change with history and audit, typed validation, pages."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kefu.audit.models import AuditLog
from kefu.org.config import parameters
from kefu.org.config.models import ParameterHistory, SystemParameter
from tests.api.test_dictionary import selects
from tests.support import browser_login

API = "/api/v1/parameters"
LOCKOUT = "security.lockout_threshold"


@pytest.fixture
def editor(factory):
    return factory.token_login(factory.user(["admin.parameters.view", "admin.parameters.edit"]))


@pytest.fixture
def yes_no_parameter(monkeypatch):
    """A yes/no parameter for the duration of one test (none is declared yet)."""
    param = parameters.Parameter(
        key="test.flag", label="Test flag", kind=bool, default=False, group="site", help="Only for tests."
    )
    monkeypatch.setitem(parameters.REGISTRY, param.key, param)
    return param


def error_field(response) -> str:
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]["loc"][-1]


def test_list_shows_every_declared_parameter(client, editor):
    r = client.get(API, headers=editor.headers)
    assert r.status_code == 200, r.text
    rows = {p["key"]: p for p in r.json()}
    assert set(rows) == set(parameters.REGISTRY)
    lockout = rows[LOCKOUT]
    assert lockout["value"] == 5 and lockout["default"] == 5 and lockout["kind"] == "int"
    assert (lockout["minimum"], lockout["maximum"]) == (1, 50)
    assert lockout["label"] == "登录失败锁定次数" and lockout["group_label"] == "安全"
    assert lockout["updated_at"] is None and lockout["updated_by"] == ""
    assert rows["site.default_locale"]["choices"] == ["zh_CN", "en"]
    groups = [p["group"] for p in r.json()]
    assert groups == sorted(groups, key=groups.index)  # each group's members are listed together


def test_change_keeps_history_and_audit(client, editor, session):
    h = editor.headers
    r = client.put(f"{API}/{LOCKOUT}", json={"value": 7}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["value"] == 7 and r.json()["updated_by"] == editor.user.name
    assert r.json()["updated_at"] is not None
    assert client.put(f"{API}/{LOCKOUT}", json={"value": "9"}, headers=h).json()["value"] == 9
    assert client.get(f"{API}/{LOCKOUT}", headers=h).json()["value"] == 9
    assert parameters.get(session, parameters.LOCKOUT_THRESHOLD) == 9

    history = client.get(f"{API}/{LOCKOUT}/history", headers=h).json()
    assert [(e["old_value"], e["new_value"]) for e in history] == [(7, 9), (5, 7)]
    assert history[0]["changed_by_name"] == editor.user.name

    audits = session.scalars(
        select(AuditLog).where(AuditLog.action == "parameter.change").order_by(AuditLog.id)
    ).all()
    assert [(a.target_id, a.before, a.after) for a in audits] == [
        (LOCKOUT, {"value": 5}, {"value": 7}),
        (LOCKOUT, {"value": 7}, {"value": 9}),
    ]
    assert audits[0].actor_id == editor.user.id and audits[0].function == "admin.parameters"


def test_list_query_count_does_not_grow(client, editor, engine):
    with selects(engine) as before:
        client.get(API, headers=editor.headers)
    for key, value in [(LOCKOUT, 6), ("security.lockout_minutes", 30), ("site.name", "热线")]:
        assert client.put(f"{API}/{key}", json={"value": value}, headers=editor.headers).status_code == 200
    with selects(engine) as after:
        assert [p["updated_by"] for p in client.get(API, headers=editor.headers).json()].count(
            editor.user.name
        ) == 3
    assert len(after) == len(before)


@pytest.mark.parametrize(
    ("key", "body"),
    [
        (LOCKOUT, {"value": 0}),
        (LOCKOUT, {"value": 51}),
        (LOCKOUT, {"value": "abc"}),
        (LOCKOUT, {"value": 2.5}),
        (LOCKOUT, {"value": True}),
        (LOCKOUT, {}),
        ("site.default_locale", {"value": "fr"}),
        ("site.name", {"value": "   "}),
        ("site.name", {"value": "x" * 201}),
        ("test.flag", {"value": "maybe"}),
    ],
)
def test_bad_values_name_the_field_and_change_nothing(client, editor, session, yes_no_parameter, key, body):
    assert error_field(client.put(f"{API}/{key}", json=body, headers=editor.headers)) == "value"
    assert session.scalar(select(func.count()).select_from(SystemParameter)) == 0
    assert session.scalar(select(func.count()).select_from(ParameterHistory)) == 0
    assert session.scalar(select(func.count()).where(AuditLog.action == "parameter.change")) == 0


def test_yes_no_and_choice_parameters(client, editor, yes_no_parameter):
    h = editor.headers
    assert client.put(f"{API}/test.flag", json={"value": True}, headers=h).json()["value"] is True
    assert client.put(f"{API}/test.flag", json={"value": "off"}, headers=h).json()["value"] is False
    assert client.put(f"{API}/site.default_locale", json={"value": "en"}, headers=h).json()["value"] == "en"


def test_permissions_and_unknown_keys(client, factory, editor):
    viewer = factory.token_login(factory.user(["admin.parameters.view"]))
    nobody = factory.token_login(factory.user(["admin.dictionary.view"]))
    assert client.get(API, headers=viewer.headers).status_code == 200
    assert client.get(f"{API}/{LOCKOUT}/history", headers=viewer.headers).status_code == 200
    assert client.put(f"{API}/{LOCKOUT}", json={"value": 6}, headers=viewer.headers).status_code == 403
    assert client.get(API, headers=nobody.headers).status_code == 403
    assert client.get(f"{API}/{LOCKOUT}", headers=nobody.headers).status_code == 403
    assert client.get(API).status_code == 401
    assert client.get(f"{API}/no.such", headers=editor.headers).status_code == 404
    assert client.get(f"{API}/no.such/history", headers=editor.headers).status_code == 404
    assert client.put(f"{API}/no.such", json={"value": 1}, headers=editor.headers).status_code == 404


@pytest.fixture
def page_editor(client, factory):
    user = factory.user(["admin.parameters.view", "admin.parameters.edit"])
    return browser_login(client, user.username)


def test_parameter_pages_render_in_chinese(client, page_editor, yes_no_parameter):
    r = client.get("/admin/parameters")
    assert r.status_code == 200, r.text[:1000]
    assert '<html lang="zh-CN">' in r.text and "系统参数" in r.text and "登录失败锁定次数" in r.text
    assert f'data-key="{LOCKOUT}"' in r.text and "从未修改" in r.text
    r = client.get(f"/admin/parameters/{LOCKOUT}")
    assert r.status_code == 200
    assert 'type="number"' in r.text and 'min="1"' in r.text and 'max="50"' in r.text
    assert 'type="checkbox"' in client.get("/admin/parameters/test.flag").text
    assert "<select" in client.get("/admin/parameters/site.default_locale").text


def test_bad_page_post_reshows_the_form_with_the_message(client, page_editor, session):
    r = client.post(f"/admin/parameters/{LOCKOUT}", data={"csrf_token": page_editor, "value": "99"})
    assert r.status_code == 422
    assert 'data-error-for="value"' in r.text and "不能大于 50" in r.text and 'value="99"' in r.text
    r = client.post(f"/admin/parameters/{LOCKOUT}", data={"csrf_token": page_editor, "value": "five"})
    assert r.status_code == 422 and "请输入整数" in r.text
    assert session.scalar(select(func.count()).select_from(ParameterHistory)) == 0

    r = client.post(
        f"/admin/parameters/{LOCKOUT}", data={"csrf_token": page_editor, "value": "8"}, follow_redirects=False
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert 'id="parameter-saved"' in page.text and 'value="8"' in page.text
    assert 'id="parameter-history"' in page.text


def test_unticked_checkbox_means_no(client, page_editor, session, yes_no_parameter):
    r = client.post("/admin/parameters/test.flag", data={"csrf_token": page_editor, "value": "true"})
    assert r.status_code == 200  # followed the redirect
    assert parameters.get(session, yes_no_parameter) is True
    client.post("/admin/parameters/test.flag", data={"csrf_token": page_editor})
    assert parameters.get(session, yes_no_parameter) is False


def test_parameter_pages_need_permission(client, factory):
    viewer = factory.user(["admin.parameters.view"])
    csrf = browser_login(client, viewer.username)
    r = client.get(f"/admin/parameters/{LOCKOUT}")
    assert r.status_code == 200 and 'id="parameter-form"' in r.text and "disabled" in r.text
    assert (
        client.post(f"/admin/parameters/{LOCKOUT}", data={"csrf_token": csrf, "value": "6"}).status_code
        == 403
    )
