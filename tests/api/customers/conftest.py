"""Fixtures for customers: the dictionaries and subscriber kinds, two branches, people with the rights
a call center gives them, and helpers to call the API and make valid identity numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kefu.customers import identity, presets
from kefu.org.config.dictionary import seed_defaults
from kefu.org.models import DataScope, Department
from tests.support import Factory, Login

API = "/api/v1/customers"
OFFICER = [
    "customers.customer.view",
    "customers.customer.create",
    "customers.customer.edit",
    "customers.customer.delete",
]
AGENT = [
    "customers.customer.view",
    "customers.customer.create",
    "customers.contact.view",
    "customers.contact.create",
]


def resident_id(born: date = date(1985, 6, 15), seq: int = 123, area: str = "110105") -> str:
    first17 = f"{area}{born:%Y%m%d}{seq:03d}"
    return first17 + identity.resident_id_check(first17)


def uscc(body: str = "91110108MA01ABCD1") -> str:
    return body + identity.uscc_check(body)


@dataclass
class Crm:
    factory: Factory
    session: Session
    client: TestClient
    north: Department
    south: Department
    officer: Login  # all customers, every operation
    agent: Login  # the call center: view all, record contacts
    branch: Login  # the north branch's back office: its own customers only
    nobody: Login
    config: Login

    def call(
        self, method: str, path: str, who: Login, body: Any = None, *, expect: int = 200, **params: Any
    ) -> Any:
        r = self.client.request(method, API + path, json=body, headers=who.headers, params=params or None)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def create(self, who: Login | None = None, *, expect: int = 201, **body: Any) -> Any:
        data = {"name": "张三", "phones": [{"number": "13800138000"}], **body}
        return self.call("POST", "", who or self.officer, data, expect=expect)


@pytest.fixture
def crm(client: TestClient, factory: Factory, session: Session) -> Crm:
    seed_defaults(session)
    presets.seed_default_kinds(session)
    north, south = factory.department("北区营业部"), factory.department("南区营业部")
    return Crm(
        factory=factory,
        session=session,
        client=client,
        north=north,
        south=south,
        officer=factory.token_login(factory.user(OFFICER, department=north)),
        agent=factory.token_login(factory.user(AGENT, department=south)),
        branch=factory.token_login(factory.user(OFFICER, scope=DataScope.DEPARTMENT, department=north)),
        nobody=factory.token_login(factory.user([])),
        config=factory.token_login(factory.user(["customers.config.view", "customers.config.edit"])),
    )


def errors_of(response_json: dict[str, Any]) -> dict[str, str]:
    return {".".join(str(p) for p in d["loc"][1:]): d["msg"] for d in response_json["detail"]}


def make_ticket(
    crm: Crm,
    *,
    subject: str = "宽带无法上网",
    customer_id: int | None = None,
    phone: str = "",
    creator: Login | None = None,
    closed: bool = False,
) -> Any:
    """A ticket row (no flow running: enough for lists, links and the 360 view)."""
    from pathlib import Path

    from sqlalchemy import select

    from kefu.tickets.models import Ticket, TicketStatus, TicketType
    from kefu.workflow import flows
    from kefu.workflow.models import FlowTemplate

    ticket_type = crm.session.scalar(select(TicketType).where(TicketType.code == "crm_test"))
    if ticket_type is None:
        admin = crm.factory.user(admin=True)
        template = crm.session.scalar(select(FlowTemplate).where(FlowTemplate.code == "crm_test"))
        if template is None:
            xml = (Path(__file__).parent.parent / "flows" / "approval.bpmn").read_text()
            template = flows.create_template(
                crm.session, actor=crm.factory.actor(admin), code="crm_test", name="crm", bpmn_xml=xml
            )
        ticket_type = TicketType(code="crm_test", name="测试", prefix="CT", flow_template_id=template.id)
        crm.session.add(ticket_type)
        crm.session.flush()
    count = crm.session.query(Ticket).count()
    ticket = Ticket(
        serial=f"CT-20261122-{count + 1:06d}",
        type_id=ticket_type.id,
        channel="phone",
        subject=subject,
        customer_id=customer_id,
        customer_phone=phone,
        creator_id=creator.user.id if creator else None,
        status=TicketStatus.CLOSED if closed else TicketStatus.OPEN,
    )
    crm.session.add(ticket)
    crm.session.flush()
    return ticket
