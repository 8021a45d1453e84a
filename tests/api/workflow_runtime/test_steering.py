"""Steering a running flow: return to an earlier node (退回), suspend and resume (limits pause),
cancel; parallel branches get one task each."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from kefu.core import clock
from kefu.org.models import DataScope
from kefu.workflow.runtime.jobs import check_time_limits

SH = ZoneInfo("Asia/Shanghai")


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(SH)


def _people(world):
    back = world.department("KF-BO")
    initiator = world.person(department=world.department())
    reviewer = world.person(roles=[world.role("backoffice")], department=back)
    l2 = world.person(roles=[world.role("l2", group="second-line")])
    manager = world.person(
        ["workflow.tasks.manage", "workflow.tasks.view", "workflow.tasks.dispatch"], scope=DataScope.ALL
    )
    world.publish("approval", code="complaint")
    return initiator, reviewer, l2, manager


def _to_review(world, initiator, manager) -> dict:
    started = world.start(initiator, "complaint")
    register = world.open_tasks(started["id"], initiator)[0]
    world.call("POST", f"/tasks/{register['id']}/assign", manager, {"user_id": initiator.user.id})
    world.complete(initiator, register["id"])
    return started


def test_return_to_an_earlier_node_goes_back_to_its_handler(world):
    initiator, reviewer, l2, manager = _people(world)
    started = _to_review(world, initiator, manager)
    review = world.open_tasks(started["id"], manager)[0]
    world.complete(reviewer, review["id"], "approved")
    handle = world.open_tasks(started["id"], manager)[0]
    assert handle["node_id"] == "handle"
    # Only nodes the flow passed through can be returned to.
    bad = world.call("POST", f"/instances/{started['id']}/return", manager, {"node_id": "close"}, expect=422)
    assert bad["detail"][0]["loc"] == ["body", "node_id"]
    world.call("POST", f"/instances/{started['id']}/return", initiator, {"node_id": "review"}, expect=403)
    back = world.call(
        "POST", f"/instances/{started['id']}/return", manager, {"node_id": "review", "comment": "check again"}
    )
    tasks = {t["id"]: t for t in back["tasks"]}
    assert tasks[handle["id"]]["status"] == "cancelled"
    again = [t for t in back["tasks"] if t["status"] == "open"]
    assert [(t["node_id"], t["assignee_id"]) for t in again] == [("review", reviewer.user.id)]
    returned = [e for e in back["events"] if e["action"] == "returned"]
    assert returned[0]["node_id"] == "review" and returned[0]["comment"] == "check again"
    assert world.box(l2, "pool") == []
    world.complete(reviewer, again[0]["id"], "approved")
    assert world.open_tasks(started["id"], manager)[0]["node_id"] == "handle"


def test_suspend_pauses_the_limits_and_resume_shifts_them(world):
    initiator, reviewer, _l2, manager = _people(world)
    with clock.freeze(_at(2026, 3, 4, 10, 0)):  # a Wednesday
        started = _to_review(world, initiator, manager)
        review = world.open_tasks(started["id"], manager)[0]
    # PT8H of working time (09:00–12:00, 13:30–18:00): 6.5 h on Wednesday, 1.5 h on Thursday.
    assert _iso(review["due_at"]) == _at(2026, 3, 5, 10, 30)
    assert _iso(review["warn_at"]) == _at(2026, 3, 4, 15, 30)  # warn-at 0.5
    with clock.freeze(_at(2026, 3, 4, 14, 0)):
        paused = world.call(
            "POST", f"/instances/{started['id']}/suspend", manager, {"comment": "customer away"}
        )
        assert paused["status"] == "suspended"
        world.complete(reviewer, review["id"], "approved", expect=409)
        world.call("POST", f"/instances/{started['id']}/suspend", manager, {}, expect=409)
    with clock.freeze(_at(2026, 3, 6, 12, 0)):
        assert check_time_limits().warned == 0  # paused: no warning although 15:30 Wednesday has passed
    with clock.freeze(_at(2026, 3, 9, 9, 0)):  # the next Monday
        resumed = world.call("POST", f"/instances/{started['id']}/resume", manager, {})
    assert resumed["status"] == "running" and resumed["suspended_at"] is None
    task = world.call("GET", f"/tasks/{review['id']}", reviewer)
    # 5.5 h were left at the pause, 1.5 h before the warning: counted again from Monday 09:00.
    assert _iso(task["due_at"]) == _at(2026, 3, 9, 16, 0)
    assert _iso(task["warn_at"]) == _at(2026, 3, 9, 10, 30)
    assert [e["action"] for e in resumed["events"]][-2:] == ["suspended", "resumed"]
    world.call("POST", f"/instances/{started['id']}/resume", manager, {}, expect=409)
    world.complete(reviewer, review["id"], "approved")


def test_cancel_ends_the_flow_and_its_tasks(world):
    initiator, reviewer, _l2, manager = _people(world)
    started = _to_review(world, initiator, manager)
    review = world.open_tasks(started["id"], manager)[0]
    cancelled = world.call("POST", f"/instances/{started['id']}/cancel", manager, {"comment": "withdrawn"})
    assert cancelled["status"] == "cancelled" and cancelled["completed_at"]
    assert all(t["status"] in ("completed", "cancelled") for t in cancelled["tasks"])
    assert world.box(reviewer, "todo") == []
    world.complete(reviewer, review["id"], "approved", expect=409)
    world.call("POST", f"/instances/{started['id']}/cancel", manager, {}, expect=409)


def test_parallel_branches_get_a_task_each_and_join(world):
    billing = world.department("BILLING")
    tech = world.department("TECH")
    b = world.person(department=billing)
    t = world.person(department=tech)
    initiator = world.person()
    world.publish("parallel")
    started = world.start(initiator, "parallel")
    tasks = sorted(started["tasks"], key=lambda x: x["node_id"])
    assert [(x["node_id"], x["assignee_id"], x["department_id"]) for x in tasks] == [
        ("billing", b.user.id, billing.id),
        ("technical", t.user.id, tech.id),
    ]
    world.complete(b, tasks[0]["id"])
    assert [x["node_id"] for x in world.open_tasks(started["id"], initiator)] == ["technical"]
    world.complete(t, tasks[1]["id"])
    close = world.open_tasks(started["id"], initiator)
    # "close" has no assignment rule: nobody qualifies, the task waits unassigned (exception path).
    assert [(x["node_id"], x["assignee_id"], x["candidate_ids"]) for x in close] == [("close", None, [])]
