"""Fixtures for messaging: an agent who sends, an administrator of templates, lists and gateways,
two business types, a customer, and a real SMTP server and SMS gateway to deliver to."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kefu.customers import presets
from kefu.org.config.dictionary import seed_defaults
from kefu.org.models import DataScope, Department
from kefu.tickets.models import BusinessCategory
from tests.support import Factory, Login

API = "/api/v1/messaging"
SENDER = ["messaging.message.send", "messaging.message.view", "customers.customer.view"]
ADMIN = [
    "messaging.template.view",
    "messaging.template.edit",
    "messaging.dnd.view",
    "messaging.dnd.edit",
    "messaging.blacklist.view",
    "messaging.blacklist.edit",
    "messaging.config.view",
    "messaging.config.edit",
    "messaging.message.view",
]
MOBILE = "13800138000"


class SmtpSink:
    """An aiosmtpd handler keeping every message; answers a chosen code for chosen addresses."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Any:
    sink = SmtpSink()
    with socket.socket() as probe:  # aiosmtpd needs a concrete port (it connects to it to start)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, controller.port
    finally:
        controller.stop()


@dataclass
class SmsGateway:
    """A real HTTP server standing for the operator's SMS gateway."""

    port: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    answers: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # consumed in order

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/send"


@pytest.fixture
def sms_gateway() -> Any:
    gateway = SmsGateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            gateway.received.append(json.loads(self.rfile.read(length)))
            gateway.headers.append(dict(self.headers))
            status, body = (
                gateway.answers.pop(0) if gateway.answers else (200, {"id": f"G{len(gateway.received)}"})
            )
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    gateway.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Messaging:
    factory: Factory
    session: Session
    client: TestClient
    north: Department
    south: Department
    agent: Login  # sends; sees the whole send log
    north_agent: Login  # sends; sees the north department's messages only
    own_agent: Login  # sends; sees only what they sent
    admin: Login
    nobody: Login
    fees: BusinessCategory  # 费用通知
    promotions: BusinessCategory  # 业务推广
    promo_child: BusinessCategory  # 业务推广 / 宽带提速
    customer_id: int

    def call(
        self, method: str, path: str, who: Login, body: Any = None, *, expect: int = 200, **params: Any
    ) -> Any:
        r = self.client.request(method, API + path, json=body, headers=who.headers, params=params or None)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def configure(self, channel: str, **values: Any) -> Any:
        return self.call("PUT", f"/gateways/{channel}", self.admin, values)

    def sms(self, who: Login | None = None, *, expect: int = 201, **body: Any) -> Any:
        data = {"channel": "sms", "to": MOBILE, "body": "您好，您的宽带已恢复。", **body}
        return self.call("POST", "/messages", who or self.agent, data, expect=expect)


def errors_of(response_json: dict[str, Any]) -> dict[str, str]:
    return {".".join(str(p) for p in d["loc"][1:]): d["msg"] for d in response_json["detail"]}


def _category(
    session: Session, code: str, name: str, parent: BusinessCategory | None = None
) -> BusinessCategory:
    category = BusinessCategory(code=code, name=name, parent_id=parent.id if parent else None)
    session.add(category)
    session.flush()
    category.path = (parent.path if parent else "/") + f"{category.id}/"
    session.flush()
    return category


@pytest.fixture
def msg(client: TestClient, factory: Factory, session: Session) -> Messaging:
    from kefu.customers.models import Customer, CustomerKind, CustomerPhone

    seed_defaults(session)
    presets.seed_default_kinds(session)
    north, south = factory.department("北区营业部"), factory.department("南区营业部")
    customer = Customer(kind=CustomerKind.INDIVIDUAL, name="张三", code="KH000001", tier="vip1")
    customer.phones = [CustomerPhone(number="138 0013 8000", e164="+8613800138000", is_primary=True)]
    session.add(customer)
    fees = _category(session, "fee", "费用通知")
    promotions = _category(session, "promo", "业务推广")
    session.flush()
    return Messaging(
        factory=factory,
        session=session,
        client=client,
        north=north,
        south=south,
        agent=factory.token_login(factory.user(SENDER, department=south)),
        north_agent=factory.token_login(factory.user(SENDER, scope=DataScope.DEPARTMENT, department=north)),
        own_agent=factory.token_login(factory.user(SENDER, scope=DataScope.OWN, department=north)),
        admin=factory.token_login(factory.user(ADMIN, department=south)),
        nobody=factory.token_login(factory.user([])),
        fees=fees,
        promotions=promotions,
        promo_child=_category(session, "promo_bb", "宽带提速", promotions),
        customer_id=customer.id,
    )
