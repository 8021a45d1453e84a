"""What one step writes: the history of the step in one insert, no history read on a first visit,
and the new task's message pushed after the commit with the id of its row."""

from __future__ import annotations

from sqlalchemy import event, select

from kefu.core import events
from kefu.notices.models import Notification
from kefu.notices.service import NOTIFICATION_CREATED
from kefu.workflow.runtime import service
from kefu.workflow.runtime.models import EventAction, FlowEvent, FlowTask
from tests.api.workflow_runtime.test_approval import _dispatch_register, _setup


def _statements(session, fn) -> list[str]:
    engine = session.get_bind().engine
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def _history(session, instance_id: int) -> list[tuple[EventAction, int | None, str]]:
    stmt = select(FlowEvent.action, FlowEvent.task_id, FlowEvent.node_id).where(
        FlowEvent.instance_id == instance_id
    )
    return list(session.execute(stmt.order_by(FlowEvent.id)).tuples())


def test_completing_the_only_task_writes_the_history_in_one_insert(world, session):
    initiator, bo1, bo2, _l2, dispatcher, _supervisor = _setup(world)
    started = world.start(initiator, "complaint", subject_id=7)
    register_id = _dispatch_register(world, started["id"], dispatcher, initiator)
    task = session.get(FlowTask, register_id)
    actor = world.factory.actor(initiator.user)

    def step() -> None:
        service.complete_task(session, task=task, state=None, comment="ok", data={}, actor=actor)
        session.flush()

    seen = _statements(session, step)
    inserts = [s for s in seen if s.startswith("INSERT INTO flow_event")]
    # PostgreSQL takes both rows in one ordered multi-row insert; SQLite, in process, one by one.
    assert len(inserts) == (1 if session.get_bind().dialect.name == "postgresql" else 2)
    # The next node is visited for the first time: nobody handled it before, nothing to look up;
    # the register task was the only open one: no read of the open tasks either.
    assert not [s for s in seen if s.startswith("SELECT") and "FROM flow_event" in s]
    assert not [s for s in seen if s.startswith("SELECT flow_task.id")]
    review = session.scalars(
        select(FlowTask).where(FlowTask.instance_id == started["id"], FlowTask.node_id == "review")
    ).one()
    assert review.assignee_id in (bo1.user.id, bo2.user.id)
    assert _history(session, started["id"])[-2:] == [
        (EventAction.COMPLETED, register_id, "register"),
        (EventAction.ASSIGNED, review.id, "review"),
    ]


def test_the_new_task_message_is_pushed_with_its_row_id(world, session):
    initiator, _bo1, _bo2, _l2, dispatcher, _supervisor = _setup(world)
    started = world.start(initiator, "complaint", subject_id=8)
    register_id = _dispatch_register(world, started["id"], dispatcher, initiator)
    events.hub.published.clear()
    world.complete(initiator, register_id)
    review = world.open_tasks(started["id"], initiator)[0]
    row = session.scalars(
        select(Notification).where(
            Notification.target_type == "flow_task", Notification.target_id == str(review["id"])
        )
    ).one()
    assert row.user_id == review["assignee_id"]
    pushed = [e for e in events.hub.published if e.type == NOTIFICATION_CREATED]
    assert [(e.data["id"], e.audience, e.data["title"]) for e in pushed] == [
        (row.id, (row.user_id,), row.title)
    ]


def test_a_node_entered_again_in_the_same_step_goes_back_to_its_handler(world, session):
    # "fix" loops to itself on "again": the one who just handled it keeps it, however busy they are,
    # although the history of this very step is written only at the step's end.
    loop = {
        '<kefu:state code="late" label="Too late" next="supervise"/>': (
            '<kefu:state code="late" label="Too late" next="supervise"/>'
            '<kefu:state code="again" label="Again" next="fix"/>'
        ),
        '<bpmn:userTask id="supervise"': (
            '<bpmn:sequenceFlow id="again_flow" sourceRef="decide" targetRef="fix">'
            '<bpmn:conditionExpression>kefu_state == "again"</bpmn:conditionExpression>'
            "</bpmn:sequenceFlow>"
            '<bpmn:userTask id="supervise"'
        ),
    }
    agent = world.role("agent")
    people = {p.user.id: p for p in (world.person(roles=[agent]), world.person(roles=[agent]))}
    initiator = world.person()
    world.publish("limits", loop, code="loop")
    started = world.start(initiator, "loop", subject_id=1)
    [triage] = world.open_tasks(started["id"], initiator)
    world.complete(people[triage["assignee_id"]], triage["id"])
    [fix] = world.open_tasks(started["id"], initiator)
    handler = people[fix["assignee_id"]]
    # The handler is now much busier than the other agent.
    other = world.start(initiator, "loop", subject_id=2)
    for n in range(3):
        session.add(
            FlowTask(
                instance_id=other["id"],
                task_id=f"busy-{n}",
                node_id="triage",
                name="Triage",
                status="open",
                assignee_id=handler.user.id,
            )
        )
    session.flush()
    world.complete(handler, fix["id"], "again")
    [again] = world.open_tasks(started["id"], initiator)
    assert again["node_id"] == "fix" and again["id"] != fix["id"]
    assert again["assignee_id"] == handler.user.id
