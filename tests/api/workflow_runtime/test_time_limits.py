"""Time limits in working time (WF-7) on a frozen clock: warnings, the three escalations, BPMN timers.
Every run of the job is repeated to show it is idempotent."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from kefu.core import clock
from kefu.notices.models import Notification
from kefu.org.models import DataScope
from kefu.workflow.runtime.jobs import check_time_limits

SH = ZoneInfo("Asia/Shanghai")


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(SH)


def _titles(session, user_id: int) -> list[str]:
    session.expire_all()
    stmt = select(Notification.title).where(Notification.user_id == user_id).order_by(Notification.id)
    return list(session.scalars(stmt))


def _run(at: datetime):
    with clock.freeze(at):
        outcome = check_time_limits()
        again = check_time_limits()
    assert (again.warned, again.escalated, again.timers_fired) == (0, 0, 0)
    return outcome


def test_limit_across_the_national_day_holiday(world, session):
    center = world.department()
    back = world.department("KF-BO", parent=center)
    boss = world.person(department=center)
    back.supervisor_id = boss.user.id
    reviewer = world.person(roles=[world.role("backoffice")], department=back)
    initiator = world.person(department=world.department())
    dispatcher = world.person(["workflow.tasks.dispatch", "workflow.tasks.view"], scope=DataScope.ALL)
    world.publish("approval", code="complaint")
    with clock.freeze(_at(2026, 9, 30, 16, 0)):
        started = world.start(initiator, "complaint")
        register = world.open_tasks(started["id"], initiator)[0]
        world.call("POST", f"/tasks/{register['id']}/assign", dispatcher, {"user_id": initiator.user.id})
        world.complete(initiator, register["id"])
    review = world.open_tasks(started["id"], initiator)[0]
    # chinese_calendar: 1–7 October 2026 are the National Day holiday, Thursday 8 October is a workday.
    # PT8H from Wednesday 30 September 16:00: 2 h that day, then 09:00–12:00 and 13:30–16:30 on the 8th.
    assert _iso(review["due_at"]) == _at(2026, 10, 8, 16, 30)
    assert _iso(review["warn_at"]) == _at(2026, 10, 8, 11, 0)  # warn-at 0.5: four working hours
    assert _run(_at(2026, 10, 7, 23, 59)).warned == 0  # the whole holiday passes without a warning
    assert _run(_at(2026, 10, 8, 11, 0)).warned == 1
    assert _titles(session, reviewer.user.id)[-1].startswith("任务即将超时")
    assert _run(_at(2026, 10, 8, 16, 29)).escalated == 0
    assert _run(_at(2026, 10, 8, 16, 30)).escalated == 1
    assert _titles(session, reviewer.user.id)[-1].startswith("任务已超时")
    assert _titles(session, boss.user.id)[-1].startswith("任务已超时")  # the handler's supervisor
    task = world.call("GET", f"/tasks/{review['id']}", reviewer)
    assert task["warned_at"] and task["escalated_at"] and task["status"] == "open"
    world.complete(reviewer, review["id"], "approved")
    history = world.call("GET", f"/instances/{started['id']}", initiator)["events"]
    assert [e["action"] for e in history if e["task_id"] == review["id"]][-3:] == [
        "warned",
        "escalated",
        "completed",
    ]
    completed = next(e for e in history if e["action"] == "completed" and e["task_id"] == review["id"])
    assert completed["overdue"] is True


def test_reassign_then_path_escalation(world, session):
    dept = world.department()
    boss = world.person(department=dept)
    dept.supervisor_id = boss.user.id
    agent = world.role("agent")
    a1, a2 = world.person(roles=[agent]), world.person(roles=[agent])
    initiator = world.person(department=dept)
    world.publish("limits")
    t0 = _at(2026, 3, 2, 9, 0)  # a Monday
    with clock.freeze(t0):
        started = world.start(initiator, "limits")
    triage = started["tasks"][0]
    assert triage["assignee_id"] == a1.user.id  # equal load: the lower user id
    assert _iso(triage["due_at"]) == t0 + timedelta(hours=2)
    assert _run(t0 + timedelta(hours=1)).warned == 1
    assert _run(t0 + timedelta(hours=2)).escalated == 1
    moved = world.call("GET", f"/tasks/{triage['id']}", a2)
    assert moved["assignee_id"] == a2.user.id  # reassigned, the late handler excluded
    world.complete(a1, triage["id"], expect=403)
    with clock.freeze(t0 + timedelta(hours=2, minutes=10)):
        world.complete(a2, triage["id"])
    fix = world.open_tasks(started["id"], initiator)[0]
    assert fix["node_id"] == "fix" and fix["assignee_id"] == a1.user.id
    # PT1H from 11:10 in working time: 50 minutes before lunch, 10 after it.
    assert _iso(fix["due_at"]) == _at(2026, 3, 2, 13, 40)
    assert _run(_at(2026, 3, 2, 13, 39)).escalated == 0
    assert _run(_at(2026, 3, 2, 13, 40)).escalated == 1
    detail = world.call("GET", f"/instances/{started['id']}", initiator)
    fixed = next(t for t in detail["tasks"] if t["id"] == fix["id"])
    assert fixed["status"] == "completed" and fixed["state"] == "late" and fixed["completed_by_id"] is None
    supervise = [t for t in detail["tasks"] if t["status"] == "open"]
    assert [(t["node_id"], t["assignee_id"]) for t in supervise] == [("supervise", boss.user.id)]
    actions = [e["action"] for e in detail["events"]]
    assert actions.count("escalated") == 2 and "reassigned" in actions


def test_bpmn_timers_fire_on_the_frozen_clock(world):
    initiator = world.person()
    world.publish("boundary_timer", code="visit")
    t0 = _at(2026, 3, 2, 9, 0)
    with clock.freeze(t0):
        started = world.start(initiator, "visit", data={"wait_for": "PT30M"})
        world.complete(initiator, started["tasks"][0]["id"])
    detail = world.call("GET", f"/instances/{started['id']}", initiator)
    assert _iso(detail["next_timer_at"]) == t0 + timedelta(hours=1)
    assert _run(t0 + timedelta(minutes=30)).timers_fired == 0
    assert _run(t0 + timedelta(hours=1)).timers_fired == 1
    nodes = sorted(t["node_id"] for t in world.open_tasks(started["id"], initiator))
    assert nodes == ["remind", "visit_site"]
    assert _iso(
        world.call("GET", f"/instances/{started['id']}", initiator)["next_timer_at"]
    ) == t0 + timedelta(hours=2)
    # A suspended flow's timers wait.
    manager = world.person(["workflow.tasks.manage"], scope=DataScope.ALL)
    world.call("POST", f"/instances/{started['id']}/suspend", manager, {})
    assert _run(t0 + timedelta(hours=3)).timers_fired == 0
    world.call("POST", f"/instances/{started['id']}/resume", manager, {})
    assert _run(t0 + timedelta(hours=3)).timers_fired == 1
    tasks = world.call("GET", f"/instances/{started['id']}", initiator)["tasks"]
    assert sorted(t["node_id"] for t in tasks if t["status"] == "open") == ["escalate", "remind"]
    assert [t["status"] for t in tasks if t["node_id"] == "visit_site"] == ["cancelled"]


def test_whole_flow_limit_counts_days_in_working_days(world):
    initiator = world.person()
    world.publish("parallel")
    with clock.freeze(_at(2026, 3, 2, 9, 0)):  # a Monday
        started = world.start(initiator, "parallel", limit="P1D")
        bad = world.call(
            "POST",
            "/instances",
            initiator,
            {"template_code": "parallel", "subject_type": "sample", "subject_id": 2, "limit": "eight hours"},
            expect=422,
        )
    # One working day is the calendar's day: 09:00–12:00 and 13:30–18:00.
    assert _iso(started["due_at"]) == _at(2026, 3, 2, 18, 0)
    assert bad["detail"][0]["loc"] == ["body", "limit"]
