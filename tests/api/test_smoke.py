from kefu.notices import service as notices
from tests.support import browser_login


def test_login_home_and_inbox(client, factory, session):
    user = factory.user(["notices.messages.send"])
    csrf = browser_login(client, user.username)
    notices.notify(session, user_ids=[user.id], title="Hello")
    session.flush()
    r = client.get("/inbox")
    assert r.status_code == 200
    assert "Hello" in r.text
    r = client.post("/api/v1/notifications/read", json={}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    assert r.json() == {"changed": 1, "unread": 0}
