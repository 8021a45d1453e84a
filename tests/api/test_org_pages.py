"""Administration pages render for an administrator and re-show forms with field errors."""

import pytest

from kefu.org.models import Department, User
from tests.support import browser_login


@pytest.fixture
def admin_csrf(client, factory):
    admin = factory.user(admin=True)
    return browser_login(client, admin.username)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/departments",
        "/admin/users",
        "/admin/users/new",
        "/admin/roles",
        "/admin/ip-rules",
        "/admin/tokens",
        "/inbox",
        "/",
        "/account/password",
    ],
)
def test_admin_pages_render_in_chinese(client, admin_csrf, path):
    r = client.get(path)
    assert r.status_code == 200, r.text[:2000]
    assert '<html lang="zh-CN">' in r.text


def test_department_form_keeps_input_and_names_the_field(client, admin_csrf, session):
    r = client.post(
        "/admin/departments", data={"csrf_token": admin_csrf, "code": "bad code!", "name": "客服一部"}
    )
    assert r.status_code == 422
    assert 'data-error-for="code"' in r.text
    assert 'value="客服一部"' in r.text
    assert session.query(Department).filter_by(name="客服一部").count() == 0


def test_create_department_and_user_through_pages(client, admin_csrf, session):
    r = client.post(
        "/admin/departments",
        data={"csrf_token": admin_csrf, "code": "CS1", "name": "客服一部"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    dept = session.query(Department).filter_by(code="CS1").one()
    r = client.post(
        "/admin/users",
        data={
            "csrf_token": admin_csrf,
            "username": "agent007",
            "name": "张三",
            "department_id": str(dept.id),
            "is_active": "on",
        },
    )
    assert r.status_code == 201, r.text[:1000]
    assert 'id="notice"' in r.text
    user = session.query(User).filter_by(username="agent007").one()
    assert user.must_change_password and user.department_id == dept.id


def test_page_post_without_csrf_is_refused(client, admin_csrf, session):
    r = client.post("/admin/departments", data={"code": "CS9", "name": "x"})
    assert r.status_code == 403
    assert session.query(Department).filter_by(code="CS9").count() == 0
