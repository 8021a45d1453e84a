"""Accounts: login, lockout, sessions, CSRF, passwords, API tokens, IP restriction (ORG-3, ORG-4)."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from kefu.audit.models import AuditLog
from kefu.core import clock
from kefu.org.models import IpRule
from tests.support import PASSWORD, browser_login


def _login(client, username, password=PASSWORD):
    client.get("/login")
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": client.cookies.get("kefu_login_csrf"),
            "next": "/inbox",
        },
        follow_redirects=False,
    )


def _actions(session, user_id):
    return [
        a.action
        for a in session.scalars(
            select(AuditLog).where(AuditLog.target_id == str(user_id), AuditLog.target_type == "app_user")
        )
    ]


def test_login_success_redirects_to_next_and_audits(client, factory, session):
    user = factory.user()
    r = _login(client, user.username)
    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    assert "auth.login" in _actions(session, user.id)


def test_wrong_password_shows_same_message_as_unknown_account(client, factory):
    user = factory.user()
    wrong = _login(client, user.username, "nope-nope-1")
    unknown = _login(client, "nobody-here", "nope-nope-1")
    assert wrong.status_code == unknown.status_code == 401
    assert "账号或密码错误" in wrong.text and "账号或密码错误" in unknown.text


def test_lockout_after_repeated_failures(client, factory, session):
    user = factory.user()
    for _ in range(5):
        assert _login(client, user.username, "wrong-pass-1").status_code == 401
    session.refresh(user)
    assert user.locked_until is not None
    locked = _login(client, user.username)  # even the right password is refused while locked
    assert locked.status_code == 403
    assert "锁定" in locked.text
    assert "auth.locked" in _actions(session, user.id)
    with clock.freeze(clock.now() + timedelta(minutes=16)):
        assert _login(client, user.username).status_code == 303


def test_login_form_without_csrf_is_refused(client, factory):
    user = factory.user()
    r = client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": "x"})
    assert r.status_code == 403


def test_cookie_session_needs_csrf_for_api_writes_but_tokens_do_not(client, factory):
    user = factory.user(["notices.messages.send"])
    csrf = browser_login(client, user.username)
    body = {"to_user_ids": [user.id], "title": "hi"}
    assert client.post("/api/v1/notifications/send", json=body).status_code == 403
    assert (
        client.post("/api/v1/notifications/send", json=body, headers={"X-CSRF-Token": csrf}).status_code
        == 201
    )
    login = factory.token_login(user)
    fresh = TestClient(client.app, client=("127.0.0.1", 1))
    assert fresh.post("/api/v1/notifications/send", json=body, headers=login.headers).status_code == 201


def test_session_idle_timeout_and_logout(client, factory):
    user = factory.user()
    csrf = browser_login(client, user.username)
    assert client.get("/api/v1/me").status_code == 200
    with clock.freeze(clock.now() + timedelta(minutes=121)):
        assert client.get("/api/v1/me").status_code == 401
        csrf = browser_login(client, user.username)
        r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 303
        assert client.get("/api/v1/me").status_code == 401


def test_pages_redirect_to_login_and_api_says_401(client):
    r = client.get("/admin/users", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert client.get("/api/v1/me").status_code == 401


def test_first_login_forces_password_change_with_policy(client, factory, session):
    user = factory.user()
    user.must_change_password = True
    session.flush()
    r = _login(client, user.username)
    assert r.headers["location"] == "/account/password"
    assert client.get("/admin/users", follow_redirects=False).headers["location"] == "/account/password"
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["must_change_password"] is True
    home = client.get("/account/password")
    import re

    csrf = re.search(r'data-csrf="([^"]+)"', home.text).group(1)
    weak = client.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": PASSWORD,
            "new_password": "short",
            "confirm_password": "short",
        },
    )
    assert weak.status_code == 422 and "至少" in weak.text
    ok = client.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": PASSWORD,
            "new_password": "N3w-secret-pass",
            "confirm_password": "N3w-secret-pass",
        },
    )
    assert ok.status_code == 200 and 'id="password-done"' in ok.text
    session.refresh(user)
    assert not user.must_change_password


def test_api_password_change_names_the_field(client, factory):
    user = factory.user()
    login = factory.token_login(user)
    r = client.post(
        "/api/v1/me/password",
        json={"current_password": "wrong", "new_password": "N3w-secret-pass"},
        headers=login.headers,
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "current_password"]


def test_revoked_and_expired_tokens_are_refused(client, factory, session):
    admin = factory.user(admin=True)
    login = factory.token_login(admin)
    created = client.post(
        "/api/v1/org/tokens", json={"user_id": admin.id, "name": "pbx"}, headers=login.headers
    )
    assert created.status_code == 201
    token = created.json()["token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert (
        client.delete(f"/api/v1/org/tokens/{created.json()['id']}", headers=login.headers).status_code == 204
    )
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_ip_restriction_refuses_with_page_and_audit(app, factory, session):
    user = factory.user()
    admin = factory.user(admin=True)
    session.add(IpRule(scope="global", cidr="10.8.0.0/16"))
    session.flush()
    outside = TestClient(app, client=("192.0.2.7", 1000))
    r = _login(outside, user.username)
    assert r.status_code == 403
    assert "192.0.2.7" in r.text
    assert session.scalar(select(AuditLog).where(AuditLog.action == "access.ip_refused")) is not None
    inside = TestClient(app, client=("10.8.3.4", 1000))
    assert _login(inside, user.username).status_code == 303
    # Per-user rules narrow further.
    session.add(IpRule(scope="user", user_id=user.id, cidr="10.8.9.0/24"))
    session.flush()
    assert inside.get("/api/v1/me").status_code == 403
    assert _login(TestClient(app, client=("10.8.9.9", 1)), user.username).status_code == 303
    # An admin cannot add a rule that shuts themselves out.
    login = factory.token_login(admin)
    r = TestClient(app, client=("10.8.1.1", 1)).post(
        "/api/v1/org/ip-rules",
        json={"scope": "user", "user_id": admin.id, "cidr": "10.9.0.0/16"},
        headers=login.headers,
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "cidr"]


def test_disabled_user_cannot_log_in_and_loses_sessions(client, factory, session, app):
    user = factory.user()
    admin = factory.user(admin=True)
    browser_login(client, user.username)
    login = factory.token_login(admin)
    admin_client = TestClient(app, client=("127.0.0.1", 2))
    r = admin_client.patch(f"/api/v1/org/users/{user.id}", json={"is_active": False}, headers=login.headers)
    assert r.status_code == 200
    assert client.get("/api/v1/me").status_code == 401
    assert _login(client, user.username).status_code == 401
    session.refresh(user)
    assert user.is_active is False


def test_language_preference_follows_the_user(client, factory):
    user = factory.user()
    h = factory.token_login(user).headers
    bad = client.patch("/api/v1/me", json={"locale": "fr"}, headers=h)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "locale"]
    assert client.patch("/api/v1/me", json={"locale": "en"}, headers=h).status_code == 200
    r = client.get("/api/v1/me/password-nope", headers=h)  # any API error answers in the user's language
    assert r.status_code in (404, 405)
    browser_login(client, user.username)
    page = client.get("/inbox")
    assert '<html lang="en">' in page.text and "Messages" in page.text
