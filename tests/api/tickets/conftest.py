"""Fixtures for tickets: dictionaries, an organisation with agents, a team leader and handlers, a
ticket type on the standard flow with a form template and a case template, and an HTTP helper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kefu.org.config.dictionary import seed_defaults
from kefu.org.models import DataScope, Department
from kefu.tickets import presets
from kefu.tickets.models import CaseTemplate, FormTemplate, TemplateStatus, TicketType
from tests.support import Factory, Login

API = "/api/v1/tickets"
AGENT = ["tickets.ticket.create", "tickets.ticket.handle", "tickets.ticket.urge", "tickets.ticket.track"]
HANDLER = ["tickets.ticket.handle"]
LEADER = [*AGENT, "tickets.ticket.view", "tickets.ticket.dispatch", "tickets.ticket.manage"]

ELEMENTS = [
    {"code": "contact_phone", "label": "联系电话", "type": "phone", "required": True},
    {"code": "area", "label": "区域", "type": "choice", "options": [["east", "东区"], ["west", "西区"]]},
    {
        "code": "amount",
        "label": "金额",
        "type": "number",
        "validation": "value <= 10000",
        "validation_message": "At most 10000",
    },
]


@dataclass
class Desk:
    factory: Factory
    session: Session
    client: TestClient
    front: Department
    back: Department
    other: Department
    leader: Login
    agent: Login
    h1: Login
    h2: Login
    o1: Login
    ticket_type: TicketType
    case_template: CaseTemplate

    def call(self, method: str, path: str, who: Login, body: Any = None, *, expect: int = 200) -> Any:
        r = self.client.request(method, API + path, json=body, headers=who.headers)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def register(self, who: Login | None = None, *, expect: int = 201, **body: Any) -> Any:
        data = {
            "type_id": self.ticket_type.id,
            "channel": "phone",
            "subject": "宽带无法上网",
            "customer_name": "张三",
            "customer_phone": "13800138000",
            "fields": {"contact_phone": "13800138000"},
            **body,
        }
        return self.call("POST", "", who or self.agent, data, expect=expect)

    def act(
        self, ticket: dict, action: str, who: Login, body: dict | None = None, *, expect: int = 200
    ) -> Any:
        payload = {"version": ticket["version"], **(body or {})}
        return self.call("POST", f"/{ticket['id']}/{action}", who, payload, expect=expect)

    def get(self, ticket_id: int, who: Login, *, expect: int = 200) -> Any:
        return self.call("GET", f"/{ticket_id}", who, expect=expect)


@pytest.fixture
def desk(factory: Factory, session: Session, client: TestClient) -> Desk:
    seed_defaults(session)
    admin = factory.user(admin=True)
    admin_actor = factory.actor(admin)
    front = factory.department("Front desk")
    back = factory.department("Back office")
    other = factory.department("Field service")
    leader = factory.user(LEADER, scope=DataScope.DEPARTMENT, department=front)
    front.supervisor_id = leader.id
    agent = factory.user(AGENT, scope=DataScope.OWN, department=front)
    h1 = factory.user(HANDLER, scope=DataScope.OWN, department=back)
    h2 = factory.user(HANDLER, scope=DataScope.OWN, department=back)
    o1 = factory.user(HANDLER, scope=DataScope.OWN, department=other)
    form = FormTemplate(code="consult", name="咨询投诉单", status=TemplateStatus.ACTIVE, elements=ELEMENTS)
    session.add(form)
    session.flush()
    ticket_type = presets.standard_type(
        session, actor=admin_actor, department_id=back.id, form_template_id=form.id
    )
    case = CaseTemplate(
        code="no_internet",
        name="宽带无法上网",
        type_id=ticket_type.id,
        subject="宽带无法上网",
        description="客户反映宽带无法上网，已指导重启光猫无效。",
        priority="urgent",
        nature="fault",
        fields={"area": "east"},
    )
    session.add(case)
    session.flush()
    login = factory.token_login
    return Desk(
        factory,
        session,
        client,
        front,
        back,
        other,
        login(leader),
        login(agent),
        login(h1),
        login(h2),
        login(o1),
        ticket_type,
        case,
    )
