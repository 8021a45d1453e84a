"""Organisation API: CRUD, validation naming the field, data scope, and no privilege escalation."""

from sqlalchemy import func, select

from kefu.audit.models import AuditLog
from kefu.org.models import DataScope, Department, User


def _audit_count(session):
    return session.scalar(select(func.count()).select_from(AuditLog))


def test_department_tree_moves_and_refuses_cycles(client, factory, session):
    admin = factory.token_login(factory.user(admin=True))
    h = admin.headers
    a = client.post("/api/v1/org/departments", json={"code": "HQ", "name": "总部"}, headers=h).json()
    b = client.post(
        "/api/v1/org/departments", json={"code": "CS", "name": "客服中心", "parent_id": a["id"]}, headers=h
    ).json()
    c = client.post(
        "/api/v1/org/departments", json={"code": "CS1", "name": "一组", "parent_id": b["id"]}, headers=h
    ).json()
    assert c["path"] == f"/{a['id']}/{b['id']}/{c['id']}/"
    cycle = client.patch(f"/api/v1/org/departments/{b['id']}", json={"parent_id": c["id"]}, headers=h)
    assert cycle.status_code == 422 and cycle.json()["detail"][0]["loc"] == ["body", "parent_id"]
    moved = client.patch(f"/api/v1/org/departments/{b['id']}", json={"parent_id": None}, headers=h)
    assert moved.status_code == 200
    session.expire_all()
    assert session.get(Department, c["id"]).path == f"/{b['id']}/{c['id']}/"
    busy = client.delete(f"/api/v1/org/departments/{b['id']}", headers=h)
    assert busy.status_code == 409


def test_duplicate_code_is_422_and_writes_nothing(client, factory, session):
    h = factory.token_login(factory.user(admin=True)).headers
    assert (
        client.post("/api/v1/org/departments", json={"code": "X1", "name": "甲"}, headers=h).status_code
        == 201
    )
    before = _audit_count(session)
    r = client.post("/api/v1/org/departments", json={"code": "X1", "name": "乙"}, headers=h)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "code"]
    assert r.json()["detail"][0]["msg"] == "已被使用"
    assert session.scalar(select(func.count()).select_from(Department).where(Department.name == "乙")) == 0
    assert _audit_count(session) == before


def test_missing_field_is_422_naming_it(client, factory):
    h = factory.token_login(factory.user(admin=True)).headers
    r = client.post("/api/v1/org/users", json={"name": "No account"}, headers=h)
    assert r.status_code == 422
    assert ["body", "username"] in [d["loc"] for d in r.json()["detail"]]


def test_roles_only_grant_what_the_group_allows(client, factory):
    h = factory.token_login(factory.user(admin=True)).headers
    g = client.post(
        "/api/v1/org/groups", json={"code": "cs", "name": "客服", "functions": ["admin.users"]}, headers=h
    ).json()
    bad = client.post(
        "/api/v1/org/roles",
        json={"group_id": g["id"], "code": "lead", "name": "班长", "permissions": ["admin.roles.edit"]},
        headers=h,
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "permissions"]
    ok = client.post(
        "/api/v1/org/roles",
        json={
            "group_id": g["id"],
            "code": "lead",
            "name": "班长",
            "permissions": ["admin.users.view"],
            "data_scope": "department",
        },
        headers=h,
    )
    assert ok.status_code == 201, ok.text


def test_user_scope_hides_other_departments(client, factory):
    north, south = factory.department("北区"), factory.department("南区")
    lead = factory.user(
        ["admin.users.view", "admin.users.edit"], scope=DataScope.DEPARTMENT, department=north
    )
    mine = factory.user(department=north)
    theirs = factory.user(department=south)
    h = factory.token_login(lead).headers
    listed = {u["id"] for u in client.get("/api/v1/org/users", headers=h).json()}
    assert mine.id in listed and theirs.id not in listed
    assert client.get(f"/api/v1/org/users/{theirs.id}", headers=h).status_code == 404
    assert client.get(f"/api/v1/org/users/{mine.id}", headers=h).status_code == 200
    assert client.patch(f"/api/v1/org/users/{theirs.id}", json={"name": "x"}, headers=h).status_code == 404
    moved = client.patch(f"/api/v1/org/users/{mine.id}", json={"department_id": south.id}, headers=h)
    assert moved.status_code == 422 and moved.json()["detail"][0]["loc"] == ["body", "department_id"]


def test_subtree_scope_reaches_sub_departments(client, factory):
    top = factory.department("总部")
    child = factory.department("一组", parent=top)
    lead = factory.user(["admin.users.view"], scope=DataScope.SUBTREE, department=top)
    deep = factory.user(department=child)
    h = factory.token_login(lead).headers
    assert client.get(f"/api/v1/org/users/{deep.id}", headers=h).status_code == 200


def test_nobody_grants_permissions_they_do_not_hold(client, factory, session):
    hr = factory.user(["admin.users.view", "admin.users.create", "admin.users.edit"])
    admin_role = factory.role(all_permissions=True)
    h = factory.token_login(hr).headers
    r = client.post(
        "/api/v1/org/users", json={"username": "mallory", "name": "M", "role_ids": [admin_role.id]}, headers=h
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "role_ids"]
    assert session.scalar(select(User).where(User.username == "mallory")) is None


def test_created_user_gets_a_temporary_password_and_can_sign_in(client, factory):
    h = factory.token_login(factory.user(admin=True)).headers
    r = client.post("/api/v1/org/users", json={"username": "li.si", "name": "李四"}, headers=h)
    assert r.status_code == 201
    temporary = r.json()["temporary_password"]
    login = client.post("/api/v1/auth/login", json={"username": "li.si", "password": temporary})
    assert login.status_code == 200 and login.json()["must_change_password"] is True
    reset = client.post(f"/api/v1/org/users/{r.json()['id']}/reset-password", headers=h)
    assert reset.status_code == 200
    assert (
        client.post("/api/v1/auth/login", json={"username": "li.si", "password": temporary}).status_code
        == 401
    )
