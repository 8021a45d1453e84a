"""The approval flow end to end over HTTP: manual dispatch, auto dispatch to the least-loaded member of
a role, the reject loop, a grab pool, node_handler / node_department rules, the tracking view."""

from __future__ import annotations

from sqlalchemy import select

from kefu.audit.models import AuditLog
from kefu.notices.models import Notification
from kefu.org.models import DataScope
from kefu.workflow.runtime.models import FlowEvent


def _setup(world):
    front = world.department("FRONT")
    back = world.department("KF-BO")
    supervisor = world.person(department=front)
    front.supervisor_id = supervisor.user.id
    backoffice = world.role("backoffice")
    second = world.role("l2", group="second-line")
    initiator = world.person(department=front)
    bo1 = world.person(roles=[backoffice], department=back)
    bo2 = world.person(roles=[backoffice], department=back)
    l2 = world.person(roles=[second])
    dispatcher = world.person(["workflow.tasks.dispatch", "workflow.tasks.view"], scope=DataScope.ALL)
    world.publish("approval", code="complaint")
    return initiator, bo1, bo2, l2, dispatcher, supervisor


def _dispatch_register(world, instance_id, dispatcher, initiator):
    waiting = world.box(dispatcher, "unassigned")
    task = next(t for t in waiting if t["instance_id"] == instance_id)
    assert task["node_id"] == "register" and task["assignee_id"] is None
    assert task["candidate_ids"] == [initiator.user.id] and task["dispatch"] == "manual"
    assigned = world.call("POST", f"/tasks/{task['id']}/assign", dispatcher, {"user_id": initiator.user.id})
    assert assigned["assignee_id"] == initiator.user.id
    return task["id"]


def test_approval_flow_end_to_end(world, session):
    initiator, bo1, bo2, l2, dispatcher, _supervisor = _setup(world)
    # A first flow gives bo1 a review task, so the next review goes to the less loaded bo2.
    first = world.start(initiator, "complaint", subject_id=41)
    world.complete(initiator, _dispatch_register(world, first["id"], dispatcher, initiator))
    assert [t["assignee_id"] for t in world.open_tasks(first["id"], initiator)] == [bo1.user.id]

    started = world.start(initiator, "complaint", subject_id=42)
    assert started["status"] == "running" and started["subject_id"] == 42
    assert world.box(initiator, "todo") == []  # manual dispatch: nobody has it yet
    register = _dispatch_register(world, started["id"], dispatcher, initiator)
    assert [t["id"] for t in world.box(initiator, "todo")] == [register]
    world.complete(initiator, register, comment="registered")

    review = world.open_tasks(started["id"], initiator)[0]
    assert review["node_id"] == "review" and review["assignee_id"] == bo2.user.id
    detail = world.call("GET", f"/tasks/{review['id']}", bo2)
    assert [s["code"] for s in detail["states"]] == ["approved", "rejected"]
    assert detail["due_at"] is not None and detail["warn_at"] is not None
    # An undeclared state is refused naming the field; nothing changes.
    bad = world.complete(bo2, review["id"], "maybe", expect=422)
    assert bad["detail"][0]["loc"] == ["body", "state"]
    # Another candidate cannot complete it.
    world.complete(bo1, review["id"], "approved", expect=403)

    # Reject loop: back to register, dispatched again.
    world.complete(bo2, review["id"], "rejected", comment="incomplete")
    again = _dispatch_register(world, started["id"], dispatcher, initiator)
    world.complete(initiator, again)
    review2 = world.open_tasks(started["id"], initiator)[0]
    assert review2["node_id"] == "review"
    reviewer = bo1 if review2["assignee_id"] == bo1.user.id else bo2
    world.complete(reviewer, review2["id"], "approved")

    # Grab pool: the second-line group and the reviewer's department (node_department of review).
    handle = world.open_tasks(started["id"], initiator)[0]
    assert handle["node_id"] == "handle" and handle["assignee_id"] is None
    assert set(handle["candidate_ids"]) == {l2.user.id, bo1.user.id, bo2.user.id}
    assert [t["id"] for t in world.box(l2, "pool")] == [handle["id"]]
    world.complete(l2, handle["id"], expect=409)  # claim first
    world.call("POST", f"/tasks/{handle['id']}/claim", l2)
    world.call("POST", f"/tasks/{handle['id']}/claim", bo1, expect=409)
    assert world.box(bo1, "pool") == []
    world.complete(l2, handle["id"], comment="fixed")

    # Close goes to whoever handled register (node_handler).
    close = world.open_tasks(started["id"], initiator)[0]
    assert close["node_id"] == "close" and close["assignee_id"] == initiator.user.id
    world.complete(initiator, close["id"])

    done = world.call("GET", f"/instances/{started['id']}", initiator)
    assert done["status"] == "completed" and done["completed_at"]
    assert done["path"] == [
        "start",
        "register",
        "review",
        "decision",
        "register",
        "review",
        "decision",
        "handle",
        "close",
        "end",
    ]
    completions = [e for e in done["events"] if e["action"] == "completed"]
    assert [e["node_id"] for e in completions] == [
        "register",
        "review",
        "register",
        "review",
        "handle",
        "close",
    ]
    assert completions[1]["state"] == "rejected" and completions[1]["comment"] == "incomplete"
    assert all(e["duration_seconds"] is not None and e["overdue"] is False for e in completions)
    assert {e["action"] for e in done["events"]} >= {
        "started",
        "assigned",
        "claimed",
        "completed",
        "finished",
    }
    assert [t["node_id"] for t in world.box(initiator, "done")] == [
        "close",
        "register",
        "register",
        "register",
    ]

    session.expire_all()
    links = session.scalars(select(Notification.link).where(Notification.user_id == bo2.user.id)).all()
    assert f"/workflow/tasks/{review['id']}" in links
    pool_notes = session.scalars(select(Notification).where(Notification.user_id == l2.user.id)).all()
    assert pool_notes and pool_notes[0].link == f"/workflow/tasks/{handle['id']}"
    actions = set(session.scalars(select(AuditLog.action).where(AuditLog.function == "workflow.tasks")))
    assert {"workflow.start", "task.assign", "task.complete", "task.claim"} <= actions
    assert session.scalar(select(FlowEvent).where(FlowEvent.action == "finished")) is not None


def test_scope_and_permissions(world):
    initiator, *_, dispatcher, _supervisor = _setup(world)
    started = world.start(initiator, "complaint")
    register = world.open_tasks(started["id"], initiator)[0]
    outsider = world.person()
    # Outside one's scope: missing and hidden look the same.
    world.call("GET", f"/tasks/{register['id']}", outsider, expect=404)
    world.call("GET", f"/instances/{started['id']}", outsider, expect=404)
    assert world.box(outsider, "all") == []
    # A department-scoped viewer sees the tasks of their department (the initiator's, while unassigned).
    viewer = world.person(
        ["workflow.tasks.view"], department=initiator.user.department, scope=DataScope.DEPARTMENT
    )
    assert world.call("GET", f"/tasks/{register['id']}", viewer)["id"] == register["id"]
    assert [t["id"] for t in world.box(viewer, "all")] == [register["id"]]
    # A subtree-scoped viewer above the initiator's department sees it too; one beside it does not.
    above = world.department()
    initiator.user.department.parent_id = above.id
    initiator.user.department.path = f"{above.path}{initiator.user.department_id}/"
    world.session.flush()
    boss = world.person(["workflow.tasks.view"], department=above, scope=DataScope.SUBTREE)
    beside = world.person(["workflow.tasks.view"], department=world.department(), scope=DataScope.SUBTREE)
    assert world.call("GET", f"/instances/{started['id']}", boss)["id"] == started["id"]
    world.call("GET", f"/tasks/{register['id']}", beside, expect=404)
    # Without the permission at all: 403.
    nobody = world.factory.token_login(world.factory.user([]))
    world.call("GET", "/tasks", nobody, expect=403)
    world.call(
        "POST", f"/tasks/{register['id']}/assign", initiator, {"user_id": initiator.user.id}, expect=403
    )
    world.call("POST", f"/instances/{started['id']}/cancel", initiator, {}, expect=403)
    # A dispatcher may not hand a task to an inactive user; the field is named.
    gone = world.factory.user([])
    gone.is_active = False
    world.session.flush()
    r = world.call("POST", f"/tasks/{register['id']}/assign", dispatcher, {"user_id": gone.id}, expect=422)
    assert r["detail"][0]["loc"] == ["body", "user_id"]
    # Starting needs a published flow; data names of the runtime are refused.
    r = world.call(
        "POST",
        "/instances",
        initiator,
        {"template_code": "nope", "subject_type": "sample", "subject_id": 1},
        expect=422,
    )
    assert r["detail"][0]["loc"] == ["body", "template_code"]
    r = world.call(
        "POST",
        "/instances",
        initiator,
        {
            "template_code": "complaint",
            "subject_type": "sample",
            "subject_id": 1,
            "data": {"kefu_state": "x"},
        },
        expect=422,
    )
    assert r["detail"][0]["loc"] == ["body", "data"]
    listed = world.call("GET", "/instances?subject_type=sample&subject_id=1", initiator)
    assert [i["id"] for i in listed] == [started["id"]]
