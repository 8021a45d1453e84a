"""Fixtures for announcements: a small center (a department tree with agents, team leaders, a person
elsewhere and a disabled account), publishers with each data scope, a viewer, and an HTTP helper."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.core import events, security
from kefu.notices.announcement_models import Announcement, AnnouncementRecipient
from kefu.org.models import DataScope, Department, Role, User
from tests.support import Factory, Login

API = "/api/v1/announcements"
MANAGE = "/api/v1/announcements/manage"
PUBLISH = ["notices.announcements.publish"]
VIEW = ["notices.announcements.view"]


@dataclass
class Center:
    factory: Factory
    session: Session
    client: TestClient
    center: Department  # 客服中心
    team_a: Department  # under the center
    team_a1: Department  # under team A
    team_b: Department  # under the center
    it: Department  # elsewhere
    agent_role: Role
    agent_a: Login
    agent_a1: Login
    agent_b: Login
    it_person: Login
    disabled: User
    admin: Login  # publishes with scope "all"
    leader_a: Login  # publishes with scope "subtree", in team A
    leader_b: Login  # publishes with scope "department", in team B
    viewer: Login  # view only, scope "all"
    nobody: Login  # no announcement permission, in IT

    def call(self, method: str, path: str, who: Login, body: Any = None, *, expect: int = 200) -> Any:
        r = self.client.request(method, path, json=body, headers=who.headers)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def create(self, who: Login | None = None, *, expect: int = 201, **body: Any) -> Any:
        data = {"title": "系统割接通知", "body": "<p>今晚 22:00 计费系统割接。</p>", **body}
        return self.call("POST", MANAGE, who or self.admin, data, expect=expect)

    def publish(self, who: Login | None = None, **body: Any) -> Any:
        return self.create(who, publish=True, **body)

    def recipients(self, announcement_id: int) -> set[int]:
        stmt = select(AnnouncementRecipient.user_id).where(
            AnnouncementRecipient.announcement_id == announcement_id
        )
        return set(self.session.scalars(stmt))

    def announcement_count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(Announcement)) or 0

    def recipient_rows(self) -> int:
        return self.session.scalar(select(func.count()).select_from(AnnouncementRecipient)) or 0

    def mine(self, who: Login, **params: Any) -> Any:
        r = self.client.get(API, params=params, headers=who.headers)
        assert r.status_code == 200, r.text
        return r.json()

    def events(self, type_: str, announcement_id: int) -> list[events.Event]:
        return [e for e in events.hub.published if e.type == type_ and e.data.get("id") == announcement_id]


_hash_password = functools.cache(security.hash_password)


@pytest.fixture
def center(session: Session, factory: Factory, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> Center:
    # Eleven people per test: hash their (common) password once, not eleven times (argon2 is slow).
    monkeypatch.setattr(security, "hash_password", _hash_password)
    events.hub.published.clear()  # ids repeat between tests that roll back
    root = factory.department("客服中心")
    team_a = factory.department("一线一组", parent=root)
    team_a1 = factory.department("一线一组夜班", parent=team_a)
    team_b = factory.department("一线二组", parent=root)
    it = factory.department("信息技术部")
    agent_role = factory.role([])

    def agent(dept: Department) -> Login:
        user = factory.user(department=dept)
        user.roles = [agent_role]
        session.flush()
        return factory.token_login(user)

    disabled = factory.user(department=team_a)
    disabled.is_active = False
    session.flush()
    return Center(
        factory=factory,
        session=session,
        client=client,
        center=root,
        team_a=team_a,
        team_a1=team_a1,
        team_b=team_b,
        it=it,
        agent_role=agent_role,
        agent_a=agent(team_a),
        agent_a1=agent(team_a1),
        agent_b=agent(team_b),
        it_person=factory.token_login(factory.user(department=it)),
        disabled=disabled,
        admin=factory.token_login(factory.user(PUBLISH, scope=DataScope.ALL, department=it)),
        leader_a=factory.token_login(factory.user(PUBLISH, scope=DataScope.SUBTREE, department=team_a)),
        leader_b=factory.token_login(factory.user(PUBLISH, scope=DataScope.DEPARTMENT, department=team_b)),
        viewer=factory.token_login(factory.user(VIEW, scope=DataScope.ALL, department=it)),
        nobody=factory.token_login(factory.user([], department=it)),
    )


def ids(*logins: Login) -> set[int]:
    return {login.user.id for login in logins}
