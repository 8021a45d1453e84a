"""The agent desk page: log in, say ready, a call rings with its screen pop, answer, refused actions
shown beside their control — the same services as the API, through the page routes."""

from __future__ import annotations

from tests.api.callcenter.conftest import CALLER
from tests.support import browser_login


def test_the_desk_from_login_to_a_popped_call(cc):
    client = cc.client
    csrf = browser_login(client, cc.alice.user.username)
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    page = client.get("/callcenter/desk")
    assert page.status_code == 200 and 'id="login-form"' in page.text and 'value="8001"' in page.text
    panel = client.post(
        "/callcenter/desk/login", data={"extension": "8001", "queue_ids": str(cc.queue.id)}, headers=headers
    )
    assert panel.status_code == 200 and 'data-agent-state="not_ready"' in panel.text
    refused = client.post("/callcenter/desk/not-ready", data={"reason": "nap"}, headers=headers)
    assert refused.status_code == 422 and 'data-error-for="reason"' in refused.text
    panel = client.post("/callcenter/desk/ready", headers=headers)
    assert 'data-agent-state="ready"' in panel.text and 'id="dial-form"' in panel.text
    cc.event("new_call", "page-1", None, queue="hotline", ivr={"account": "A001"}, **{"from": CALLER})
    cc.event("ringing", "page-1", None, agent="8001")
    panel = client.get("/callcenter/desk/panel")
    assert 'data-agent-state="ringing"' in panel.text and 'id="answer-button"' in panel.text
    assert "王芳" in panel.text and 'data-ivr="account"' in panel.text
    assert f"/tickets/new?channel=phone&amp;customer_id={cc.customer_id}" in panel.text
    call_pk = panel.text.split('data-call="')[1].split('"')[0]
    panel = client.post("/callcenter/desk/answer", data={"call": call_pk}, headers=headers)
    assert 'data-call-state="talking"' in panel.text and 'id="hangup-button"' in panel.text
    assert "contact_id=" in panel.text  # the contact record exists now: the ticket will link it
    refused = client.post("/callcenter/desk/logout", headers=headers)
    assert refused.status_code == 409 and 'data-error-for="_"' in refused.text
    panel = client.post("/callcenter/desk/hangup", data={"call": call_pk}, headers=headers)
    assert 'data-agent-state="wrap_up"' in panel.text and 'id="recent-calls"' in panel.text


def test_the_desk_is_for_agents_only(cc):
    browser_login(cc.client, cc.south_lead.user.username)
    assert cc.client.get("/callcenter/desk").status_code == 200  # the leads hold the agent right
    other = cc.factory.user(["customers.customer.view"])
    cc.client.cookies.clear()
    browser_login(cc.client, other.username)
    assert cc.client.get("/callcenter/desk").status_code == 403
