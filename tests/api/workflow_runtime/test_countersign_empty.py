"""A countersign (会签) whose rules name nobody today stops the step that leads into it (WF-5, WF-9).

Before, such a countersign completed at once with no votes and the gateway after it took its
default (here: back to "prepare"), so a refund was decided that nobody had looked at. Now the step
fails with 409 naming the countersign, and nothing of it is written.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from kefu.audit.models import AuditLog
from kefu.core import clock
from kefu.notices.models import Notification
from kefu.workflow.models import FlowVersion
from kefu.workflow.runtime.jobs import check_time_limits
from kefu.workflow.runtime.models import FlowEvent, FlowInstance, FlowTask

from .conftest import flow_xml

TO_SIGN = {'sourceRef="start" targetRef="prepare"': 'sourceRef="start" targetRef="sign"'}
REFUSAL_ZH = "会签“Countersign”没有参与人"
REFUSAL_EN = "The countersign Countersign has no participants"
NO_RULE = "A countersign needs at least one assignment rule (kefu:assign) to name its participants."


def _counts(session) -> tuple[int, int, int, int]:
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(FlowInstance)),
        session.scalar(select(func.count()).select_from(FlowTask)),
        session.scalar(select(func.count()).select_from(FlowEvent)),
        session.scalar(select(func.count()).select_from(AuditLog)),
    )


def _start_body() -> dict:
    return {"template_code": "refund", "subject_type": "sample", "subject_id": 1, "data": {}}


def test_completing_into_a_countersign_nobody_can_sign_is_refused(world, session):
    leaders = world.role("leader")  # the role of the countersign's rule exists, but nobody holds it
    initiator = world.person()
    world.publish("countersign", code="refund")
    started = world.start(initiator, "refund")
    prepare = world.open_tasks(started["id"], initiator)[0]
    instance = session.get(FlowInstance, started["id"])
    state_before = instance.state_json
    counts = _counts(session)

    refused = world.complete(initiator, prepare["id"], expect=409)

    assert refused["code"] == "conflict"
    assert refused["detail"].startswith(REFUSAL_ZH), refused["detail"]
    # Nothing is half-written: the preceding task stays open, no history, no audit, same state.
    assert _counts(session) == counts
    session.refresh(instance)
    assert instance.state_json == state_before and instance.status == "running"
    detail = world.call("GET", f"/instances/{started['id']}", initiator)
    assert [(t["node_id"], t["status"]) for t in detail["tasks"]] == [("prepare", "open")]
    assert [e["action"] for e in detail["events"]] == ["started", "assigned"]

    # Once someone holds the role, the same step goes through and the countersign waits for them.
    leader = world.person(roles=[leaders])
    world.complete(initiator, prepare["id"])
    signs = [t for t in world.open_tasks(started["id"], initiator) if t["node_id"] == "sign"]
    assert [t["assignee_id"] for t in signs] == [leader.user.id]


def test_starting_straight_into_a_countersign_nobody_can_sign_is_refused(world, session):
    initiator = world.person()
    initiator.user.locale = "en"
    session.flush()
    world.publish("countersign", TO_SIGN, code="refund")
    counts = _counts(session)
    refused = world.call("POST", "/instances", initiator, _start_body(), expect=409)
    assert refused["detail"].startswith(REFUSAL_EN), refused["detail"]
    assert _counts(session) == counts


def test_a_countersign_without_assignment_rules_is_refused_at_publish(client, factory, session):
    admin = factory.token_login(factory.user(admin=True))
    admin.user.locale = "en"
    session.flush()
    xml = flow_xml("countersign", {'<kefu:assign kind="role" ref="leader"/>': ""})
    created = client.post(
        "/api/v1/workflow/templates",
        json={"code": "refund", "name": "refund", "bpmn_xml": xml},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    version_id = created.json()["versions"][0]["id"]
    refused = client.post(f"/api/v1/workflow/versions/{version_id}/publish", headers=admin.headers)
    assert refused.status_code == 422, refused.text
    assert [(d["loc"], d["msg"]) for d in refused.json()["detail"]] == [
        (["body", "bpmn_xml", "sign"], NO_RULE)
    ]
    session.expire_all()
    assert session.get(FlowVersion, version_id).status == "draft"


LATE = {
    '<bpmn:userTask id="prepare" name="Prepare refund"><bpmn:extensionElements><kefu:node>': (
        '<bpmn:userTask id="prepare" name="Prepare refund"><bpmn:extensionElements>'
        '<kefu:node limit="PT1H" escalation="path" escalation-state="done">'
        '<kefu:state code="done" label="Done" next="sign"/>'
    )
}
BLOCKED_TITLE = "超时升级受阻：Prepare refund"


def _blocked(session) -> tuple[list[tuple[int, str, str]], list[str]]:
    """The "escalation blocked" messages (recipient, title, body) and audit actions so far."""
    session.expire_all()
    sent = session.execute(
        select(Notification.user_id, Notification.title, Notification.body)
        .where(Notification.title.startswith("超时升级受阻"))
        .order_by(Notification.user_id)
    ).tuples()
    audits = session.scalars(select(AuditLog.action).where(AuditLog.action == "task.escalate_blocked"))
    return list(sent), list(audits)


def test_an_escalation_path_into_a_countersign_nobody_can_sign_waits_and_is_reported_once(world, session):
    """The time-limit job takes the escalation path of "prepare" only when the countersign has
    someone to ask; until then the task stays open and the job tries again every minute. The first
    refusal is told to the task's people and the responsible supervisor, and recorded once."""
    leaders = world.role("leader")  # nobody holds it yet
    team = world.department()
    boss = world.person(department=world.department())
    team.supervisor_id = boss.user.id
    initiator = world.person(department=team)
    world.publish("countersign", LATE, code="refund")
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday
    with clock.freeze(t0):
        started = world.start(initiator, "refund")
    counts = _counts(session)

    with clock.freeze(t0 + timedelta(hours=2)):
        outcome = check_time_limits()
    assert (outcome.warned, outcome.escalated, outcome.failed) == (1, 0, 1)
    instances, tasks, events, audits = _counts(session)
    # The warning, and the report of the refusal: one event and one audit row; no task changed.
    assert (instances, tasks, events, audits) == (counts[0], counts[1], counts[2] + 2, counts[3] + 1)
    detail = world.call("GET", f"/instances/{started['id']}", initiator)
    assert [(t["node_id"], t["status"], t["escalated_at"]) for t in detail["tasks"]] == [
        ("prepare", "open", None)
    ]
    assert [e["action"] for e in detail["events"]] == ["started", "assigned", "warned", "blocked"]
    assert detail["events"][-1]["comment"].startswith(REFUSAL_ZH)
    sent, audit_rows = _blocked(session)
    assert [(user, title) for user, title, _ in sent] == sorted(
        [(initiator.user.id, BLOCKED_TITLE), (boss.user.id, BLOCKED_TITLE)]
    )
    body = sent[0][2]
    assert body.startswith("流程“countersign”（sample:1）") and REFUSAL_ZH in body, body
    assert audit_rows == ["task.escalate_blocked"]

    # A minute later the job tries again, refused again, and tells nobody again.
    with clock.freeze(t0 + timedelta(hours=2, minutes=1)):
        again = check_time_limits()
    assert (again.escalated, again.failed) == (0, 1)
    assert _counts(session) == (instances, tasks, events, audits)
    assert _blocked(session) == (sent, audit_rows)

    # Once someone holds the role, the next run takes the path into the countersign.
    leader = world.person(roles=[leaders])
    session.flush()
    with clock.freeze(t0 + timedelta(hours=2, minutes=2)):
        later = check_time_limits()
    assert (later.escalated, later.failed) == (1, 0)
    detail = world.call("GET", f"/instances/{started['id']}", initiator)
    assert [(t["node_id"], t["status"], t["assignee_id"]) for t in detail["tasks"]] == [
        ("prepare", "completed", initiator.user.id),
        ("sign", "open", leader.user.id),
    ]
    assert [e["action"] for e in detail["events"]][3:6] == ["blocked", "escalated", "completed"]
    assert _blocked(session) == (sent, audit_rows)
