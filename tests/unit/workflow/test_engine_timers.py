"""Timers run on kefu's clock: armed when reached, fired only by `fire_due_timers(now)`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kefu.core import clock
from kefu.workflow.engine.scripting import parse_due_date

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
def visit(ticket):
    """The visit flow at `visit_site`, reached at T0 (frozen clock)."""
    with clock.freeze(T0):
        t = ticket("boundary_timer", {"wait_for": "PT30M"})
        t.complete("accept")
        yield t


def test_boundary_timers_are_armed_on_kefus_clock(visit):
    assert visit.instance().waiting_timers() == [("reminder", T0 + H), ("deadline", T0 + 2 * H)]
    assert visit.apply(lambda i: i.fire_due_timers(T0 + 0.5 * H)) == []
    assert visit.ready_nodes() == ["visit_site"]


def test_the_wall_clock_never_fires_a_timer():
    """Frozen years in the past: every due time has long passed on the wall clock, yet nothing fires."""
    from tests.unit.workflow.conftest import Ticket, flow_xml

    from kefu.workflow.engine.runtime import Engine
    from kefu.workflow.engine.spec import parse

    past = datetime(2001, 1, 1, tzinfo=UTC)
    with clock.freeze(past):
        t = Ticket(Engine(), parse(flow_xml("boundary_timer")).spec_json, {"wait_for": "PT1S"})
        t.complete("accept")
        for _ in range(3):
            assert t.ready_nodes() == ["visit_site"]
        assert t.instance().waiting_timers()[0] == ("reminder", past + H)


def test_non_interrupting_reminder_then_interrupting_deadline(visit):
    assert visit.apply(lambda i: i.fire_due_timers(T0 + H)) == ["reminder"]
    assert visit.ready_nodes() == ["remind", "visit_site"]
    assert visit.instance().waiting_timers() == [("deadline", T0 + 2 * H)]
    assert visit.apply(lambda i: i.fire_due_timers(T0 + 3 * H)) == ["deadline"]
    assert visit.ready_nodes() == ["escalate", "remind"]
    visit.complete("escalate")
    assert not visit.instance().is_completed  # the reminder's path is still open
    visit.complete("remind")
    instance = visit.instance()
    assert instance.is_completed
    assert {"reminder", "remind", "reminded_end", "deadline", "escalate", "escalated_end"} <= set(
        instance.history()
    )
    assert "visit_site" not in instance.history()


def test_finishing_in_time_drops_the_boundary_timers_and_arms_the_next_one(visit):
    with clock.freeze(T0 + 0.25 * H):
        visit.complete("visit_site")
        assert visit.instance().waiting_timers() == [("cool_down", T0 + 0.75 * H)]
    assert visit.ready_nodes() == []
    assert visit.apply(lambda i: i.fire_due_timers(T0 + 0.7 * H)) == []
    assert visit.apply(lambda i: i.fire_due_timers(T0 + 0.75 * H)) == ["cool_down"]
    visit.complete("callback")
    instance = visit.instance()
    assert instance.is_completed and instance.waiting_timers() == []
    assert "deadline" not in instance.history()


def test_return_before_a_task_with_pending_timers_drops_and_rearms_them(visit):
    visit.apply(lambda i: i.return_to("accept"))
    instance = visit.instance()
    assert instance.waiting_timers() == []
    assert visit.ready_nodes() == ["accept"]
    assert visit.apply(lambda i: i.fire_due_timers(T0 + 10 * H)) == []
    with clock.freeze(T0 + 5 * H):
        visit.complete("accept")
    assert visit.instance().waiting_timers() == [("reminder", T0 + 6 * H), ("deadline", T0 + 7 * H)]


def test_return_to_the_timed_task_itself_restarts_its_timers(visit):
    visit.apply(lambda i: i.fire_due_timers(T0 + H))
    visit.complete("remind")
    with clock.freeze(T0 + 1.5 * H):
        visit.complete("visit_site")
        visit.apply(lambda i: i.return_to("visit_site"))
    assert visit.ready_nodes() == ["visit_site"]
    assert visit.instance().waiting_timers() == [("reminder", T0 + 2.5 * H), ("deadline", T0 + 3.5 * H)]


def test_timer_dates_without_a_zone_are_in_the_deployment_zone():
    assert parse_due_date("2026-03-02T17:00:00") == T0  # 17:00 in Shanghai
    assert parse_due_date("2026-03-02T09:00:00+00:00") == T0
    with pytest.raises(ValueError):
        parse_due_date(42)


def test_subprocess_with_its_own_timer_and_returns_in_and_out(ticket):
    with clock.freeze(T0):
        t = ticket("subprocess")
        t.complete("triage")
        t.complete("dispatch")
    assert t.instance().waiting_timers() == [("fix_deadline", T0 + 24 * H)]
    assert t.apply(lambda i: i.fire_due_timers(T0 + 25 * H)) == ["fix_deadline"]
    assert t.ready_nodes() == ["fix", "nag"]
    t.complete("fix", "unreachable")
    assert t.ready_nodes() == ["dispatch", "nag"]
    with clock.freeze(T0 + 30 * H):
        t.complete("dispatch")
    same = t.instance()
    same.return_to("triage")  # leaves the subprocess: its tasks and armed timer go with it
    assert same.waiting_timers() == [] and [r.node_id for r in same.ready_tasks()] == ["triage"]
    assert same.fire_due_timers(T0 + 100 * H) == []
    t.state = same.dump()
    t.complete("triage")
    t.complete("dispatch")
    t.complete("fix", "fixed")
    assert t.ready_nodes() == ["confirm"]
    t.complete("confirm")
    instance = t.instance()
    assert instance.is_completed
    assert instance.history()[-6:] == ["fix", "fix_outcome", "field_end", "field", "confirm", "end"]
    assert instance.history().count("triage") == 2 and "nag" not in instance.history()
