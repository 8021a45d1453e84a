"""The tracking view (WF-8): diagram markers for the path, the current node and overdue tasks."""

import json
import re
from datetime import timedelta
from pathlib import Path

from kefu.core import clock
from kefu.workflow import flows
from kefu.workflow.runtime import service as runtime
from tests.support import browser_login

APPROVAL = (Path(__file__).parents[1] / "flows" / "approval.bpmn").read_text()


def test_tracking_page_marks_path_current_and_late_nodes(client, factory, session):
    admin = factory.user(admin=True)
    actor = factory.actor(admin)
    template = flows.create_template(session, actor=actor, code="trk", name="跟踪", bpmn_xml=APPROVAL)
    version = flows.publish(session, actor=actor, version=template.versions[0])
    instance = runtime.start_instance(
        session, version=version, subject_type="sample", subject_id=7, data={}, actor=actor
    )
    first = instance.tasks[0]
    runtime.assign_task(session, task=first, user_id=admin.id, comment="", actor=actor)
    runtime.complete_task(session, task=first, state="done", comment="登记完成", data={}, actor=actor)
    session.flush()
    with clock.freeze(clock.now() + timedelta(days=30)):
        browser_login(client, admin.username)
        page = client.get(f"/workflow/instances/{instance.id}")
    assert page.status_code == 200, page.text[:500]
    markers = json.loads(re.search(r"data-markers='([^']+)'", page.text).group(1))
    assert "register" in markers["done"]
    assert markers["current"] == ["review"]
    assert markers["late"] == ["review"]  # its 8 working hours are long gone 30 days later
    assert "登记完成" in page.text and "节点处理记录" in page.text


def test_tracking_page_is_scoped(client, factory, session):
    admin = factory.user(admin=True)
    actor = factory.actor(admin)
    template = flows.create_template(session, actor=actor, code="trk2", name="跟踪", bpmn_xml=APPROVAL)
    version = flows.publish(session, actor=actor, version=template.versions[0])
    instance = runtime.start_instance(
        session, version=version, subject_type="sample", subject_id=8, data={}, actor=actor
    )
    session.flush()
    stranger = factory.user(["workflow.tasks.view"], scope="own")
    browser_login(client, stranger.username)
    assert client.get(f"/workflow/instances/{instance.id}").status_code == 404


def test_steering_from_the_tracking_page(client, factory, session):
    from kefu.workflow.runtime.models import FlowInstance

    admin = factory.user(admin=True)
    actor = factory.actor(admin)
    template = flows.create_template(session, actor=actor, code="trk3", name="跟踪", bpmn_xml=APPROVAL)
    version = flows.publish(session, actor=actor, version=template.versions[0])
    instance = runtime.start_instance(
        session, version=version, subject_type="sample", subject_id=9, data={}, actor=actor
    )
    first = instance.tasks[0]
    other = factory.user()
    session.flush()
    csrf = browser_login(client, admin.username)
    base = f"/workflow/instances/{instance.id}"
    r = client.post(f"{base}/tasks/{first.id}/assign", data={"csrf_token": csrf, "user_id": other.id})
    assert r.status_code == 200 and 'id="steer-error"' not in r.text  # followed the redirect
    session.refresh(first)
    assert first.assignee_id == other.id
    assert client.post(f"{base}/suspend", data={"csrf_token": csrf}).status_code == 200
    session.refresh(instance)
    assert instance.status == "suspended"
    twice = client.post(f"{base}/suspend", data={"csrf_token": csrf})
    assert twice.status_code == 409 and 'id="steer-error"' in twice.text
    assert client.post(f"{base}/resume", data={"csrf_token": csrf}).status_code == 200
    assert client.post(f"{base}/cancel", data={"csrf_token": csrf, "comment": "客户撤诉"}).status_code == 200
    session.expire_all()
    assert session.get(FlowInstance, instance.id).status == "cancelled"
    assert client.post(f"{base}/nonsense", data={"csrf_token": csrf}).status_code == 404


def test_steering_needs_the_manage_right(client, factory, session):
    admin = factory.user(admin=True)
    actor = factory.actor(admin)
    template = flows.create_template(session, actor=actor, code="trk4", name="跟踪", bpmn_xml=APPROVAL)
    version = flows.publish(session, actor=actor, version=template.versions[0])
    instance = runtime.start_instance(
        session, version=version, subject_type="sample", subject_id=10, data={}, actor=actor
    )
    session.flush()
    viewer = factory.user(["workflow.tasks.view"])
    csrf = browser_login(client, viewer.username)
    page = client.get(f"/workflow/instances/{instance.id}")
    assert page.status_code == 200 and 'id="steer"' not in page.text
    assert (
        client.post(f"/workflow/instances/{instance.id}/cancel", data={"csrf_token": csrf}).status_code == 403
    )
