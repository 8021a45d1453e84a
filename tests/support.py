"""Test helpers: users with exactly the permissions a test needs, and signed-in clients."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kefu.core import security
from kefu.core.permissions import Actor, build_actor, function_of
from kefu.org import auth_service
from kefu.org.models import DataScope, Department, Role, User, UserGroup

PASSWORD = "Passw0rd!kefu"
_seq = itertools.count(1)


@dataclass
class Login:
    user: User
    headers: dict[str, str]  # bearer token
    token: str


class Factory:
    def __init__(self, session: Session) -> None:
        self.session = session

    def department(self, name: str | None = None, *, parent: Department | None = None) -> Department:
        n = next(_seq)
        dept = Department(
            code=f"D{n}", name=name or f"Department {n}", parent_id=parent.id if parent else None
        )
        self.session.add(dept)
        self.session.flush()
        dept.path = (parent.path if parent else "/") + f"{dept.id}/"
        self.session.flush()
        return dept

    def role(
        self,
        permissions: list[str] | None = None,
        *,
        scope: DataScope = DataScope.ALL,
        all_permissions: bool = False,
    ) -> Role:
        n = next(_seq)
        perms = permissions or []
        group = UserGroup(code=f"G{n}", name=f"Group {n}", functions=sorted({function_of(p) for p in perms}))
        self.session.add(group)
        self.session.flush()
        role = Role(
            group_id=group.id,
            code=f"R{n}",
            name=f"Role {n}",
            permissions=perms,
            data_scope=scope,
            all_permissions=all_permissions,
        )
        self.session.add(role)
        self.session.flush()
        return role

    def user(
        self,
        permissions: list[str] | None = None,
        *,
        scope: DataScope = DataScope.ALL,
        department: Department | None = None,
        username: str | None = None,
        admin: bool = False,
        password: str = PASSWORD,
    ) -> User:
        n = next(_seq)
        user = User(
            username=username or f"user{n}",
            name=f"User {n}",
            department_id=department.id if department else None,
            password_hash=security.hash_password(password),
            must_change_password=False,
        )
        if permissions or admin:
            user.roles = [self.role(permissions, scope=scope, all_permissions=admin)]
        self.session.add(user)
        self.session.flush()
        self.session.refresh(user)
        return user

    def actor(self, user: User) -> Actor:
        return build_actor(self.session, user)

    def token_login(self, user: User) -> Login:
        plain, _ = auth_service.create_token(
            self.session, user=user, name="test", expires_at=None, actor=self.actor(user)
        )
        self.session.flush()
        return Login(user=user, headers={"Authorization": f"Bearer {plain}"}, token=plain)


def browser_login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; returns the session's CSRF token."""
    page = client.get("/login")
    assert page.status_code == 200, page.text
    csrf = client.cookies.get("kefu_login_csrf")
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    me = client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    home = client.get("/")
    import re

    m = re.search(r'data-csrf="([^"]+)"', home.text)
    assert m, home.text[:500]
    return m.group(1)
