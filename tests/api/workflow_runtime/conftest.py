"""Fixtures for the workflow runtime: published flows, people with roles, an HTTP helper."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kefu.org.models import DataScope, Department, Role, User
from kefu.workflow import flows
from kefu.workflow.models import FlowVersion
from tests.support import Factory, Login

HERE = Path(__file__).parent
FLOW_FILES = {"approval": HERE.parent / "flows" / "approval.bpmn"} | {
    p.stem: p for p in (HERE / "flows").glob("*.bpmn")
}
HANDLER = ["workflow.tasks.handle", "workflow.tasks.start"]
API = "/api/v1/workflow"


@pytest.fixture(scope="session")
def app(app: FastAPI) -> FastAPI:
    """The app with the runtime's routes (a no-op once the routers are registered in kefu.app)."""
    from kefu.workflow.runtime import api, pages

    paths = {getattr(r, "path", "") for r in app.routes}
    if f"{API}/tasks" not in paths:
        app.include_router(api.router)
    if "/workflow/tasks" not in paths:
        app.include_router(pages.router)
    return app


def flow_xml(name: str, replace: Mapping[str, str] | None = None) -> str:
    text = FLOW_FILES[name].read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return text


@dataclass
class World:
    factory: Factory
    session: Session
    client: TestClient

    def __post_init__(self) -> None:
        self.admin = self.factory.user(admin=True)
        self.admin_actor = self.factory.actor(self.admin)

    def publish(
        self, name: str, replace: Mapping[str, str] | None = None, *, code: str | None = None
    ) -> FlowVersion:
        template = flows.create_template(
            self.session,
            actor=self.admin_actor,
            code=code or name,
            name=name,
            bpmn_xml=flow_xml(name, replace),
        )
        version = flows.publish(self.session, actor=self.admin_actor, version=template.versions[0])
        self.session.flush()
        return version

    def department(self, code: str | None = None, *, parent: Department | None = None) -> Department:
        dept = self.factory.department(parent=parent)
        if code:
            dept.code = code
        self.session.flush()
        return dept

    def role(self, code: str, permissions: list[str] | None = None, *, group: str | None = None) -> Role:
        role = self.factory.role(permissions or HANDLER, scope=DataScope.OWN)
        role.code = code
        if group:
            role.group.code = group
        self.session.flush()
        return role

    def person(
        self,
        permissions: list[str] | None = None,
        *,
        roles: list[Role] = (),  # type: ignore[assignment]
        department: Department | None = None,
        scope: DataScope = DataScope.OWN,
    ) -> Login:
        user: User = self.factory.user(permissions or HANDLER, scope=scope, department=department)
        if roles:
            user.roles = [*user.roles, *roles]
            self.session.flush()
        return self.factory.token_login(user)

    # --- HTTP -----------------------------------------------------------------------------------------

    def call(self, method: str, path: str, who: Login, body: Any = None, *, expect: int = 200) -> Any:
        r = self.client.request(method, API + path, json=body, headers=who.headers)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def start(
        self, who: Login, code: str, *, data: dict | None = None, subject_id: int = 1, **extra: Any
    ) -> Any:
        body = {"template_code": code, "subject_type": "sample", "subject_id": subject_id, "data": data or {}}
        return self.call("POST", "/instances", who, {**body, **extra}, expect=201)

    def box(self, who: Login, box: str = "todo") -> list[dict]:
        return self.call("GET", f"/tasks?box={box}", who)

    def open_tasks(self, instance_id: int, who: Login) -> list[dict]:
        detail = self.call("GET", f"/instances/{instance_id}", who)
        return [t for t in detail["tasks"] if t["status"] in ("open", "claimed")]

    def complete(
        self, who: Login, task_id: int, state: str | None = None, *, expect: int = 200, **body: Any
    ) -> Any:
        return self.call("POST", f"/tasks/{task_id}/complete", who, {"state": state, **body}, expect=expect)


@pytest.fixture
def world(factory: Factory, session: Session, client: TestClient) -> World:
    return World(factory, session, client)
