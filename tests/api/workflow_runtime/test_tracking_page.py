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
        session, version=version, subject_type="ticket", subject_id=7, data={}, actor=actor
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
        session, version=version, subject_type="ticket", subject_id=8, data={}, actor=actor
    )
    session.flush()
    stranger = factory.user(["workflow.tasks.view"], scope="own")
    browser_login(client, stranger.username)
    assert client.get(f"/workflow/instances/{instance.id}").status_code == 404
