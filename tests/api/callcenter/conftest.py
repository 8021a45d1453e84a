"""Fixtures for the call center: a PBX integration user, agents in a queue, a supervisor per
department, a known customer, and helpers to report CTI events at given times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kefu.callcenter.models import CallQueue, QueueMember
from kefu.customers import presets
from kefu.org.config.dictionary import seed_defaults
from kefu.org.models import DataScope, Department
from tests.support import Factory, Login

API = "/api/v1/callcenter"
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
AGENT = [
    "callcenter.agent.use",
    "customers.customer.view",
    "customers.customer.create",
    "customers.contact.view",
    "customers.contact.create",
]
CALLER = "13800138000"


@dataclass
class CallCenter:
    factory: Factory
    session: Session
    client: TestClient
    north: Department
    south: Department
    pbx: Login
    alice: Login  # agent in the north, extension 8001
    bob: Login  # agent in the north, extension 8002
    carol: Login  # agent in the south, extension 8003, not in the queue
    north_lead: Login  # calls and monitor of the north department
    south_lead: Login
    queue: CallQueue
    customer_id: int

    def call(
        self, method: str, path: str, who: Login, body: Any = None, *, expect: int = 200, **params: Any
    ) -> Any:
        r = self.client.request(method, API + path, json=body, headers=who.headers, params=params or None)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def event(
        self, kind: str, call_id: str, at: float | None = 0, *, expect: int = 200, **fields: Any
    ) -> Any:
        """Report `kind` for `call_id`, `at` seconds after T0 (None: no timestamp, i.e. now)."""
        body = {"event": kind, "call_id": call_id, **fields}
        if at is not None:
            body["timestamp"] = (T0 + timedelta(seconds=at)).isoformat()
        return self.call("POST", "/cti/events", self.pbx, body, expect=expect)

    def ready(self, who: Login, queue: bool = True) -> None:
        self.call("POST", "/agent/login", who, {"queue_ids": [self.queue.id]} if queue else {})
        self.call("POST", "/agent/ready", who)


@pytest.fixture
def cc(client: TestClient, factory: Factory, session: Session) -> CallCenter:
    seed_defaults(session)
    presets.seed_default_kinds(session)
    north, south = factory.department("北区客服"), factory.department("南区客服")
    officer = factory.user(["customers.customer.view", "customers.customer.create"], department=north)

    def agent(department: Department, extension: str) -> Login:
        user = factory.user(AGENT, department=department, scope=DataScope.ALL)
        user.phone_ext = extension
        session.flush()
        return factory.token_login(user)

    alice, bob, carol = agent(north, "8001"), agent(north, "8002"), agent(south, "8003")
    queue = CallQueue(code="hotline", name="服务热线", department_id=north.id, wrap_up_seconds=20)
    session.add(queue)
    session.flush()
    session.add_all([QueueMember(queue_id=queue.id, user_id=a.user.id) for a in (alice, bob)])
    session.flush()
    crm = factory.token_login(officer)
    r = client.post(
        "/api/v1/customers",
        json={"name": "王芳", "phones": [{"number": CALLER}]},
        headers=crm.headers,
    )
    assert r.status_code == 201, r.text
    lead_perms = ["callcenter.calls.view", "callcenter.monitor.view", "callcenter.agent.use"]
    return CallCenter(
        factory=factory,
        session=session,
        client=client,
        north=north,
        south=south,
        pbx=factory.token_login(factory.user(["callcenter.cti.report"])),
        alice=alice,
        bob=bob,
        carol=carol,
        north_lead=factory.token_login(
            factory.user(lead_perms, department=north, scope=DataScope.DEPARTMENT)
        ),
        south_lead=factory.token_login(
            factory.user(lead_perms, department=south, scope=DataScope.DEPARTMENT)
        ),
        queue=queue,
        customer_id=r.json()["id"],
    )
