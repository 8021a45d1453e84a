"""The task pages: boxes, the action area (claim, complete with a state), errors beside the field."""

from __future__ import annotations

from kefu.org.models import DataScope
from tests.support import browser_login


def test_task_pages_claim_and_complete(world, client):
    pool = world.role("l2", group="second-line")
    reviewer = world.person(roles=[world.role("backoffice")], department=world.department("KF-BO"))
    grabber = world.person(roles=[pool])
    initiator = world.person()
    dispatcher = world.person(["workflow.tasks.dispatch"], scope=DataScope.ALL)
    world.publish("approval", code="complaint")
    started = world.start(initiator, "complaint")
    register = world.open_tasks(started["id"], initiator)[0]
    world.call("POST", f"/tasks/{register['id']}/assign", dispatcher, {"user_id": initiator.user.id})
    world.complete(initiator, register["id"])
    review = world.open_tasks(started["id"], initiator)[0]

    csrf = browser_login(client, reviewer.user.username)
    listing = client.get("/workflow/tasks")
    assert listing.status_code == 200 and "我的待办" in listing.text
    assert f"/workflow/tasks/{review['id']}" in listing.text
    page = client.get(f"/workflow/tasks/{review['id']}")
    assert page.status_code == 200 and 'id="complete-form"' in page.text and "Approved" in page.text
    bad = client.post(f"/workflow/tasks/{review['id']}/complete", data={"csrf_token": csrf, "state": "maybe"})
    assert bad.status_code == 422 and 'data-error-for="state"' in bad.text
    done = client.post(
        f"/workflow/tasks/{review['id']}/complete",
        data={"csrf_token": csrf, "state": "approved", "comment": "同意"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    handle = world.open_tasks(started["id"], initiator)[0]
    assert handle["node_id"] == "handle"

    client.cookies.clear()
    csrf = browser_login(client, grabber.user.username)
    assert 'id="claim-form"' in client.get(f"/workflow/tasks/{handle['id']}").text
    claimed = client.post(
        f"/workflow/tasks/{handle['id']}/claim", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert claimed.status_code == 303
    again = client.post(f"/workflow/tasks/{handle['id']}/claim", data={"csrf_token": csrf})
    assert again.status_code == 409 and "您已签收此任务" in again.text  # taken already (by themselves)
    assert client.get(f"/workflow/tasks/{register['id']}").status_code == 404  # not theirs, not in scope
