"""The demo organisation: every account signs in and sees exactly the menu its role allows."""

import re

import pytest

from kefu import demo

BASE = {"/", "/inbox", "/announcements"}
DESK = {"/tickets", "/tickets/new", "/tickets/callbacks", "/tickets/search", "/tickets/acceptance"}
TICKET_SETUP = {
    "/admin/tickets/cases",
    "/admin/tickets/categories",
    "/admin/tickets/forms",
    "/admin/tickets/types",
}
KNOWLEDGE = {"/knowledge", "/knowledge/questions"}
CUSTOMERS = {"/customers", "/customers/contacts", "/customers/new"}
CALL_CENTER = {"/callcenter/desk"}
CALL_CENTER_LEAD = CALL_CENTER | {"/callcenter/monitor", "/callcenter/wallboard", "/callcenter/stats"}
CALL_CENTER_LEAD |= {"/callcenter/campaigns"}
MESSAGING_AGENT = {"/messaging/send", "/messaging/log", "/messaging/dnd"}
MESSAGING_LEAD = MESSAGING_AGENT | {"/messaging/templates", "/messaging/blacklist", "/messaging/batches"}
EXPECTED = {
    "agent01": BASE | DESK | KNOWLEDGE | CUSTOMERS | CALL_CENTER | MESSAGING_AGENT,
    "backoffice01": BASE | KNOWLEDGE | CUSTOMERS | {"/tickets", "/tickets/search", "/tickets/acceptance"},
    "kbeditor01": BASE
    | KNOWLEDGE
    | {"/knowledge/categories", "/knowledge/manage", "/knowledge/review", "/messaging/templates"},
    "leader01": BASE
    | DESK
    | TICKET_SETUP
    | KNOWLEDGE
    | CUSTOMERS
    | CALL_CENTER_LEAD
    | MESSAGING_LEAD
    | {"/knowledge/manage", "/knowledge/review"}
    | {"/admin/users", "/admin/shifts", "/admin/roster", "/announcements/manage"},
    "auditor01": BASE | {"/audit", "/audit/errors"},
}


@pytest.fixture
def seeded(session):
    accounts = demo.seed(session)
    session.flush()
    return accounts


def _menu(html: str) -> set[str]:
    return set(re.findall(r'data-nav="([^"]+)"', html))


def test_seed_is_idempotent(session, seeded):
    assert demo.seed(session) == seeded


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_demo_account_sees_its_menu(client, seeded, username):
    client.get("/login")
    r = client.post(
        "/login",
        data={
            "username": username,
            "password": demo.DEMO_PASSWORD,
            "csrf_token": client.cookies.get("kefu_login_csrf"),
            "next": "/",
        },
    )
    assert r.status_code == 200, r.text[:500]
    assert _menu(r.text) == EXPECTED[username]


def test_demo_admin_sees_every_admin_screen(client, seeded):
    client.get("/login")
    r = client.post(
        "/login",
        data={
            "username": "admin",
            "password": demo.DEMO_PASSWORD,
            "csrf_token": client.cookies.get("kefu_login_csrf"),
            "next": "/",
        },
    )
    menu = _menu(r.text)
    for path in sorted(menu):
        assert client.get(path).status_code == 200, path
    assert {
        "/admin/users",
        "/admin/roles",
        "/admin/departments",
        "/admin/ip-rules",
        "/admin/tokens",
        "/admin/dictionary",
        "/admin/parameters",
        "/admin/calendar",
        "/audit",
    } <= menu
