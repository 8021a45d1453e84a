"""Routing to a handling department, accept (签收), transfer (转办) to a person or a department,
hand-back (退办) along the transfers and then to the previous node, and re-entry to the last handler."""

from __future__ import annotations

from sqlalchemy import select

from kefu.notices.models import Notification
from kefu.workflow.runtime.models import EventAction, FlowEvent


def _people(world):
    front = world.department("FRONT")
    back = world.department("BACK")
    other = world.department("OTHER")
    initiator = world.person(department=front)
    b1 = world.person(department=back)
    b2 = world.person(department=back)
    o1 = world.person(department=other)
    world.publish("handling")
    return initiator, b1, b2, o1, back, other


def _handle(world, instance_id, who):
    return next(t for t in world.open_tasks(instance_id, who) if t["node_id"] == "handle")


def test_transfer_and_hand_back_walk_back_the_chain(world, session):
    initiator, b1, b2, o1, back, other = _people(world)
    started = world.start(initiator, "handling", handling_department_id=back.id)
    task = _handle(world, started["id"], initiator)
    assert (
        task["assignee_id"] == b1.user.id
    )  # least loaded member of the handling department (ties: lowest id)

    world.call("POST", f"/tasks/{task['id']}/claim", b1)  # accept (签收)
    world.call("POST", f"/tasks/{task['id']}/claim", b1, expect=409)
    # A reason is required; a person or a department, not both.
    bad = world.call("POST", f"/tasks/{task['id']}/transfer", b1, {"user_id": b2.user.id}, expect=422)
    assert bad["detail"][0]["loc"] == ["body", "comment"]
    both = {"user_id": b2.user.id, "department_id": other.id, "comment": "x"}
    world.call("POST", f"/tasks/{task['id']}/transfer", b1, both, expect=422)
    # A candidate who does not hold the task cannot transfer it; an outsider does not even see it.
    world.call(
        "POST", f"/tasks/{task['id']}/transfer", b2, {"user_id": o1.user.id, "comment": "x"}, expect=403
    )
    world.call(
        "POST", f"/tasks/{task['id']}/transfer", o1, {"user_id": b2.user.id, "comment": "x"}, expect=404
    )

    moved = world.call(
        "POST", f"/tasks/{task['id']}/transfer", b1, {"user_id": b2.user.id, "comment": "yours"}
    )
    assert moved["assignee_id"] == b2.user.id and moved["status"] == "open"
    moved = world.call(
        "POST", f"/tasks/{task['id']}/transfer", b2, {"department_id": other.id, "comment": "not ours"}
    )
    assert moved["assignee_id"] == o1.user.id and moved["department_id"] == other.id
    instance = world.call("GET", f"/instances/{started['id']}", initiator)
    assert instance["handling_department_id"] == other.id

    # Hand-back walks the chain: o1 → b2 → b1, then nobody is left before b1 on this task.
    back1 = world.call("POST", f"/tasks/{task['id']}/hand-back", o1, {"comment": "wrong area"})
    assert back1["assignee_id"] == b2.user.id
    back2 = world.call("POST", f"/tasks/{task['id']}/hand-back", b2, {"comment": "back to you"})
    assert back2["assignee_id"] == b1.user.id
    world.call("POST", f"/tasks/{task['id']}/hand-back", b2, {"comment": "x"}, expect=404)
    # The first node has no earlier node: nothing to hand back to.
    world.call("POST", f"/tasks/{task['id']}/hand-back", b1, {"comment": "x"}, expect=409)

    actions = [
        a
        for a in session.scalars(
            select(FlowEvent.action).where(FlowEvent.task_id == task["id"]).order_by(FlowEvent.id)
        )
    ]
    assert actions.count(EventAction.TRANSFERRED) == 2 and actions.count(EventAction.HANDED_BACK) == 2
    # Each new holder was told, with a link.
    told = session.scalars(select(Notification.user_id).where(Notification.target_id == str(task["id"])))
    assert {b2.user.id, o1.user.id, b1.user.id} <= set(told)


def test_review_fail_goes_back_to_the_last_handler_and_hand_back_returns_to_the_previous_node(world):
    initiator, b1, b2, _o1, back, _other = _people(world)
    # b1 gets the first flow's task, so a least-loaded choice would now pick b2.
    first = world.start(initiator, "handling", subject_id=1, handling_department_id=back.id)
    assert _handle(world, first["id"], initiator)["assignee_id"] == b1.user.id
    started = world.start(initiator, "handling", subject_id=2, handling_department_id=back.id)
    task = _handle(world, started["id"], initiator)
    assert task["assignee_id"] == b2.user.id
    world.complete(b2, task["id"])
    review = next(t for t in world.open_tasks(started["id"], initiator) if t["node_id"] == "review")
    world.complete(initiator, review["id"], "fail", comment="not enough")
    again = _handle(world, started["id"], initiator)
    assert again["assignee_id"] == b2.user.id  # back to who handled it, not to the less loaded b1
    world.complete(b2, again["id"])
    review = next(t for t in world.open_tasks(started["id"], initiator) if t["node_id"] == "review")
    # The reviewer hands back: the flow returns to the handle node and its last handler.
    world.call("POST", f"/tasks/{review['id']}/hand-back", initiator, {"comment": "look again"})
    assert _handle(world, started["id"], initiator)["assignee_id"] == b2.user.id


def test_transfer_is_refused_on_a_suspended_flow_and_for_an_unknown_department(world):
    initiator, b1, _b2, _o1, back, _other = _people(world)
    world.call(
        "POST",
        "/instances",
        initiator,
        {
            "template_code": "handling",
            "subject_type": "sample",
            "subject_id": 3,
            "handling_department_id": 999999,
        },
        expect=422,
    )
    started = world.start(initiator, "handling", handling_department_id=back.id)
    task = _handle(world, started["id"], initiator)
    bad = world.call(
        "POST", f"/tasks/{task['id']}/transfer", b1, {"department_id": 999999, "comment": "x"}, expect=422
    )
    assert bad["detail"][0]["loc"] == ["body", "department_id"]
