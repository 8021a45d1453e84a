"""Callback work (回访, TKT-16) over HTTP: candidates by close date and scope, even and sampled
assignment, results reached and not reached, retry, reassign, cancel, refusals, audit and messages,
and the callback page."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.audit.models import AuditLog
from kefu.notices.models import Notification
from kefu.org.config.dictionary import seed_defaults
from kefu.org.models import DataScope, Department
from kefu.tickets.models import CallbackStatus, CallbackTask, Ticket, TicketLog, TicketStatus, TicketType
from kefu.workflow import flows
from tests.api.test_dictionary import selects
from tests.support import Factory, Login, browser_login

API = "/api/v1/tickets/callbacks"
LEADER = ["tickets.callback.view", "tickets.callback.assign"]
CALLER = ["tickets.callback.handle"]
APPROVAL = Path(__file__).resolve().parent.parent / "flows" / "approval.bpmn"
_serials = itertools.count(1)

# 2026-03-01 in Asia/Shanghai (UTC+8): 00:00 local is 2026-02-28 16:00 UTC.
DAY1_NOON = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)  # 12:00 local on 1 March
DAY1_LATE = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)  # 23:30 local on 1 March
DAY2_EARLY = datetime(2026, 3, 1, 16, 10, tzinfo=UTC)  # 00:10 local on 2 March


@dataclass
class Team:
    factory: Factory
    session: Session
    client: TestClient
    team: Department
    other: Department
    ticket_type: TicketType
    leader: Login
    c1: Login
    c2: Login
    c3: Login
    outsider: Login  # a caller of another department
    other_leader: Login

    def ticket(
        self,
        *,
        department: Department | None = None,
        closed_at: datetime = DAY1_NOON,
        status: TicketStatus = TicketStatus.CLOSED,
    ) -> Ticket:
        n = next(_serials)
        ticket = Ticket(
            serial=f"CB-20260301-{n:06d}",
            type_id=self.ticket_type.id,
            channel="phone",
            subject=f"宽带故障 {n}",
            customer_name="张三",
            customer_phone="13800138000",
            status=status,
            department_id=(department or self.team).id,
            closed_at=closed_at if status == TicketStatus.CLOSED else None,
        )
        self.session.add(ticket)
        self.session.flush()
        return ticket

    def call(self, method: str, path: str, who: Login, body: Any = None, *, expect: int = 200) -> Any:
        r = self.client.request(method, API + path, json=body, headers=who.headers)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def assign(self, tickets: list[Ticket], callers: list[Login], *, expect: int = 201, **extra: Any) -> Any:
        body = {"ticket_ids": [t.id for t in tickets], "assignee_ids": [c.user.id for c in callers], **extra}
        return self.call("POST", "/assign", self.leader, body, expect=expect)

    def result(self, task: dict, who: Login, *, expect: int = 200, **body: Any) -> Any:
        return self.call(
            "POST", f"/{task['id']}/result", who, {"version": task["version"], **body}, expect=expect
        )


@pytest.fixture
def team(factory: Factory, session: Session, client: TestClient) -> Team:
    seed_defaults(session)
    admin = factory.actor(factory.user(admin=True))
    flow = flows.create_template(
        session, actor=admin, code="callback_flow", name="回访测试流程", bpmn_xml=APPROVAL.read_text()
    )
    ticket_type = TicketType(code="cb", name="回访测试", prefix="CB", flow_template_id=flow.id)
    session.add(ticket_type)
    home, other = factory.department("Callback team"), factory.department("Elsewhere")
    login = factory.token_login

    def person(perms: list[str], dept: Department, scope: DataScope = DataScope.OWN) -> Login:
        return login(factory.user(perms, scope=scope, department=dept))

    return Team(
        factory,
        session,
        client,
        home,
        other,
        ticket_type,
        leader=person(LEADER, home, DataScope.DEPARTMENT),
        c1=person(CALLER, home),
        c2=person(CALLER, home),
        c3=person(CALLER, home),
        outsider=person(CALLER, other),
        other_leader=person(LEADER, other, DataScope.DEPARTMENT),
    )


def _field(response_json: dict) -> list[str]:
    return [e["loc"][-1] for e in response_json["detail"]]


def _inbox(session: Session, login: Login) -> list[Notification]:
    stmt = select(Notification).where(Notification.user_id == login.user.id, Notification.kind == "callback")
    return list(session.scalars(stmt.order_by(Notification.id)))


def _audit(session: Session, target_id: int) -> list[str]:
    stmt = select(AuditLog.action).where(
        AuditLog.function == "tickets.callback",
        AuditLog.target_type == "ticket_callback",
        AuditLog.target_id == str(target_id),
    )
    return list(session.scalars(stmt.order_by(AuditLog.id)))


# --- candidates -------------------------------------------------------------------------------------


def test_candidates_are_closed_tickets_of_the_days_within_scope(team):
    same_day = team.ticket(closed_at=DAY1_LATE)
    noon = team.ticket(closed_at=DAY1_NOON)
    team.ticket(closed_at=DAY2_EARLY)  # the next local day
    team.ticket(status=TicketStatus.OPEN)
    team.ticket(department=team.other)  # outside the leader's department
    called = team.ticket()
    team.assign([called], [team.c1])

    q = "/candidates?closed_from=2026-03-01&closed_to=2026-03-01"
    found = team.call("GET", q, team.leader)
    assert [c["serial"] for c in found] == [noon.serial, same_day.serial]
    assert all(c["callback_status"] is None for c in found)
    everything = team.call("GET", q + "&only_without_callback=false", team.leader)
    assert [(c["serial"], c["callback_status"]) for c in everything] == [
        (noon.serial, None),
        (called.serial, "pending"),
        (same_day.serial, None),
    ]
    # The other department's leader sees only their own department's ticket.
    assert [c["department_id"] for c in team.call("GET", q, team.other_leader)] == [team.other.id]
    two_days = team.call("GET", "/candidates?closed_from=2026-03-01&closed_to=2026-03-02", team.leader)
    assert len(two_days) == 3

    bad = team.call("GET", "/candidates?closed_from=2026-03-02&closed_to=2026-03-01", team.leader, expect=422)
    assert _field(bad) == ["closed_to"]
    team.call("GET", q, team.c1, expect=403)


# --- assignment -------------------------------------------------------------------------------------


def test_even_assignment_goes_to_the_least_loaded_first_and_tells_each_caller_once(team, session):
    earlier = [team.ticket(), team.ticket()]
    team.assign(earlier, [team.c1])  # c1 has two pending callbacks already
    tickets = [team.ticket() for _ in range(5)]
    created = team.assign(tickets, [team.c1, team.c2, team.c3])

    by_ticket = {t["ticket"]["id"]: t["assignee_id"] for t in created}
    c1, c2, c3 = (c.user.id for c in (team.c1, team.c2, team.c3))
    # c2 and c3 catch up with c1 (two each), then the round goes on in the order given: c1 first.
    assert [by_ticket[t.id] for t in tickets] == [c2, c3, c2, c3, c1]
    assert all(t["status"] == "pending" and t["attempts"] == 0 for t in created)
    mine = team.call("GET", "?box=mine", team.c2)
    assert sorted(t["ticket"]["id"] for t in mine) == sorted([tickets[0].id, tickets[2].id])

    # One message per caller and assignment, pointing at the callback page.
    assert [n.title for n in _inbox(session, team.c1)] == ["回访任务：2 条", "回访任务：1 条"]
    (msg,) = _inbox(session, team.c2)
    assert msg.link == "/tickets/callbacks" and msg.target_type == "ticket_callback"
    assert tickets[0].serial in msg.body and tickets[2].serial in msg.body
    assert msg.sender_id == team.leader.user.id
    # Every callback's creation is audited, under the callback function.
    for task in created:
        assert _audit(session, task["id"]) == ["callback.assign"]
    row = session.scalars(
        select(AuditLog).where(
            AuditLog.target_type == "ticket_callback", AuditLog.target_id == str(created[0]["id"])
        )
    ).one()
    assert row.after["assignee_id"] == c2 and row.target_label == tickets[0].serial


def test_sample_assignment_draws_a_repeatable_share(team):
    tickets = [team.ticket() for _ in range(10)]
    first = team.assign(tickets, [team.c1, team.c2], mode="sample", sample_percent=25, seed=7)
    assert len(first) == 3  # 25 % of 10, rounded up
    drawn = sorted(t["ticket"]["id"] for t in first)
    assert sorted(t["assignee_id"] for t in first) == sorted(
        [team.c1.user.id, team.c1.user.id, team.c2.user.id]
    )
    for task in first:
        team.call("POST", f"/{task['id']}/cancel", team.leader, {})
    again = team.assign(tickets, [team.c1, team.c2], mode="sample", sample_percent=25, seed=7)
    assert sorted(t["ticket"]["id"] for t in again) == drawn
    for task in again:
        team.call("POST", f"/{task['id']}/cancel", team.leader, {})
    # Another seed draws other tickets (and a cancelled callback frees its ticket for the draw).
    other = team.assign(tickets, [team.c1], mode="sample", sample_percent=25, seed=8)
    assert len(other) == 3 and sorted(t["ticket"]["id"] for t in other) != drawn
    tiny = [team.ticket() for _ in range(3)]
    assert len(team.assign(tiny, [team.c1], mode="sample", sample_percent=1, seed=1)) == 1


def test_assignment_refusals(team, session):
    closed, open_ticket, elsewhere = (
        team.ticket(),
        team.ticket(status=TicketStatus.OPEN),
        team.ticket(department=team.other),
    )
    taken = team.ticket()
    team.assign([taken], [team.c1])

    assert _field(team.assign([closed, open_ticket], [team.c1], expect=422)) == ["ticket_ids"]
    refused = team.assign([closed, taken], [team.c1], expect=422)
    assert _field(refused) == ["ticket_ids"] and taken.serial in refused["detail"][0]["msg"]
    assert _field(team.assign([elsewhere], [team.c1], expect=422)) == ["ticket_ids"]  # out of scope
    assert _field(team.assign([], [team.c1], expect=422)) == ["ticket_ids"]
    assert _field(team.assign([closed], [], expect=422)) == ["assignee_ids"]
    assert _field(team.assign([closed], [team.outsider], expect=422)) == ["assignee_ids"]  # other department
    no_rights = team.factory.token_login(team.factory.user(["tickets.callback.view"], department=team.team))
    assert _field(team.assign([closed], [no_rights], expect=422)) == ["assignee_ids"]
    team.c3.user.is_active = False
    session.flush()
    assert _field(team.assign([closed], [team.c3], expect=422)) == ["assignee_ids"]
    assert _field(team.assign([closed], [team.c1], mode="sample", expect=422)) == ["sample_percent"]
    assert _field(team.assign([closed], [team.c1], mode="sample", sample_percent=101, expect=422)) == [
        "sample_percent"
    ]
    assert _field(team.assign([closed], [team.c1], mode="all", expect=422)) == ["mode"]
    body = {"ticket_ids": [closed.id], "assignee_ids": [team.c1.user.id]}
    team.call("POST", "/assign", team.c1, body, expect=403)
    count = select(func.count()).select_from(CallbackTask).where(CallbackTask.ticket_id == closed.id)
    assert session.scalar(count) == 0


# --- results ----------------------------------------------------------------------------------------


def test_reached_callback_records_satisfaction_and_logs_on_the_ticket(team, session):
    ticket = team.ticket()
    (task,) = team.assign([ticket], [team.c1])

    bad = team.result(task, team.c1, reached=True, satisfaction="delighted", expect=422)
    assert bad["detail"][0]["loc"] == ["body", "satisfaction"]
    assert _field(team.result(task, team.c1, reached=True, expect=422)) == ["satisfaction"]
    assert _field(
        team.result(task, team.c1, reached=True, satisfaction="satisfied", result="x" * 4001, expect=422)
    ) == ["result"]
    done = team.result(task, team.c1, reached=True, satisfaction="satisfied", result="客户表示问题已解决")
    assert done["status"] == "done" and done["satisfaction"] == "satisfied" and done["attempts"] == 1
    assert done["completed_at"] is not None and done["version"] == task["version"] + 1

    (log,) = session.scalars(select(TicketLog).where(TicketLog.ticket_id == ticket.id)).all()
    assert log.action == "callback" and log.comment == "客户表示问题已解决" and log.user_id == team.c1.user.id
    assert log.detail["satisfaction"] == "satisfied" and log.detail["reached"] is True
    assert _audit(session, task["id"]) == ["callback.assign", "callback.result"]
    # Finished: a second result, a stale version and a retry are refused.
    team.result(done, team.c1, reached=True, satisfaction="neutral", expect=409)
    team.call("POST", f"/{task['id']}/retry", team.c1, {}, expect=409)


def test_unreached_callback_is_retried_then_reached(team, session):
    (task,) = team.assign([team.ticket()], [team.c1])
    assert _field(team.result(task, team.c1, reached=False, expect=422)) == ["not_reached_reason"]
    assert _field(team.result(task, team.c1, reached=False, not_reached_reason="moon", expect=422)) == [
        "not_reached_reason"
    ]
    missed = team.result(
        task, team.c1, reached=False, not_reached_reason="no_answer", satisfaction="satisfied"
    )
    assert missed["status"] == "unreached" and missed["attempts"] == 1
    assert missed["not_reached_reason"] == "no_answer" and missed["satisfaction"] is None
    # Not pending: no result until it is retried.
    team.result(missed, team.c1, reached=True, satisfaction="satisfied", expect=409)
    again = team.call("POST", f"/{task['id']}/retry", team.c1, {"version": missed["version"]})
    assert again["status"] == "pending"
    team.result(missed, team.c1, reached=True, satisfaction="satisfied", expect=409)  # stale version
    done = team.result(again, team.c1, reached=True, satisfaction="very_satisfied")
    assert done["status"] == "done" and done["attempts"] == 2 and done["not_reached_reason"] is None
    logs = session.scalars(
        select(TicketLog).where(TicketLog.ticket_id == task["ticket"]["id"]).order_by(TicketLog.id)
    ).all()
    assert [(entry.state, entry.detail["reached"]) for entry in logs] == [
        ("unreached", False),
        ("done", True),
    ]
    assert _audit(session, task["id"]) == [
        "callback.assign",
        "callback.result",
        "callback.retry",
        "callback.result",
    ]


def test_only_the_assignee_records_and_scope_hides_the_rest(team, session):
    (task,) = team.assign([team.ticket()], [team.c1])
    url = f"/{task['id']}"
    body = {"reached": True, "satisfaction": "satisfied", "version": task["version"]}
    # Another caller of the same team cannot even see it; nor can the other department's leader.
    team.call("GET", url, team.c2, expect=404)
    team.call("POST", url + "/result", team.c2, body, expect=404)
    team.call("GET", url, team.other_leader, expect=404)
    team.call("POST", url + "/cancel", team.other_leader, {}, expect=404)
    # The team leader sees it but does not handle callbacks (403 at the gate) …
    assert team.call("GET", url, team.leader)["id"] == task["id"]
    team.call("POST", url + "/result", team.leader, body, expect=403)
    # … and a supervisor who may handle callbacks still cannot record someone else's (403).
    supervisor = team.factory.token_login(
        team.factory.user([*LEADER, *CALLER], scope=DataScope.DEPARTMENT, department=team.team)
    )
    team.call("POST", url + "/result", supervisor, body, expect=403)
    team.call("POST", url + "/reassign", team.c1, {"assignee_id": team.c2.user.id}, expect=403)
    team.call("POST", url + "/cancel", team.c1, {}, expect=403)
    assert session.get(CallbackTask, task["id"]).status == CallbackStatus.PENDING


def test_reassign_retry_and_cancel_by_the_team_leader(team, session):
    ticket = team.ticket()
    (task,) = team.assign([ticket], [team.c1])
    url = f"/{task['id']}"
    moved = team.call("POST", url + "/reassign", team.leader, {"assignee_id": team.c2.user.id})
    assert moved["assignee_id"] == team.c2.user.id
    assert len(_inbox(session, team.c2)) == 1
    assert team.call("GET", url, team.c1, expect=404)
    same = team.call("POST", url + "/reassign", team.leader, {"assignee_id": team.c2.user.id}, expect=422)
    assert _field(same) == ["assignee_id"]
    outside = {"assignee_id": team.outsider.user.id}
    assert _field(team.call("POST", url + "/reassign", team.leader, outside, expect=422)) == ["assignee_id"]
    missed = team.result(moved, team.c2, reached=False, not_reached_reason="busy")
    # The leader sends it back to the caller's list; the caller hears of it.
    retried = team.call("POST", url + "/retry", team.leader, {"version": missed["version"]})
    assert retried["status"] == "pending" and len(_inbox(session, team.c2)) == 2
    team.call("POST", url + "/cancel", team.leader, {"version": missed["version"]}, expect=409)
    cancelled = team.call("POST", url + "/cancel", team.leader, {})
    assert cancelled["status"] == "cancelled"
    team.call("POST", url + "/cancel", team.leader, {}, expect=409)
    # A cancelled callback frees the ticket for a new assignment.
    q = "/candidates?closed_from=2026-03-01&closed_to=2026-03-01"
    assert ticket.id in [c["id"] for c in team.call("GET", q, team.leader)]
    assert _audit(session, task["id"]) == [
        "callback.assign",
        "callback.reassign",
        "callback.result",
        "callback.retry",
        "callback.cancel",
    ]


def test_lists_mine_and_all_within_scope(team, engine):
    mine = team.assign([team.ticket(), team.ticket()], [team.c1])
    theirs = team.assign([team.ticket()], [team.c2])
    ids = lambda rows: sorted(r["id"] for r in rows)  # noqa: E731
    assert ids(team.call("GET", "", team.c1)) == ids(mine)
    assert ids(team.call("GET", "?box=all", team.c1)) == ids(mine)  # a caller's "all" is their own
    assert ids(team.call("GET", "?box=all", team.leader)) == ids(mine + theirs)
    assert team.call("GET", "?box=all", team.other_leader) == []
    team.result(mine[0], team.c1, reached=False, not_reached_reason="busy")
    assert ids(team.call("GET", "?box=all&status=unreached", team.leader)) == [mine[0]["id"]]
    assert team.call("GET", "?box=mine", team.leader) == []
    team.call("GET", "", team.factory.token_login(team.factory.user([])), expect=403)

    # The list costs the same number of queries for 3 callbacks as for 13.
    with selects(engine) as few:
        team.call("GET", "?box=all", team.leader)
    team.assign([team.ticket() for _ in range(10)], [team.c1, team.c2, team.c3])
    with selects(engine) as many:
        assert len(team.call("GET", "?box=all", team.leader)) == 13
    assert len(many) == len(few)


# --- the page ---------------------------------------------------------------------------------------


def test_callback_page_records_results_and_assigns(team, client, session):
    ticket = team.ticket()
    (task,) = team.assign([ticket], [team.c1])

    csrf = browser_login(client, team.c1.user.username)
    page = client.get("/tickets/callbacks")
    assert page.status_code == 200 and "回访" in page.text and ticket.serial in page.text
    assert f'action="/tickets/callbacks/{task["id"]}/result"' in page.text and "非常满意" in page.text
    assert 'href="/tickets/callbacks"' in page.text  # in the menu
    form = {"csrf_token": csrf, "version": str(task["version"]), "reached": "1", "result": "很好"}
    bad = client.post(f"/tickets/callbacks/{task['id']}/result", data={**form, "satisfaction": "great"})
    assert bad.status_code == 422 and 'data-error-for="satisfaction"' in bad.text and "很好" in bad.text
    ok = client.post(
        f"/tickets/callbacks/{task['id']}/result",
        data={**form, "satisfaction": "satisfied"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert session.get(CallbackTask, task["id"]).status == CallbackStatus.DONE
    assert ticket.serial in client.get("/tickets/callbacks?tab=done").text
    assert client.get("/tickets/callbacks?tab=assign").status_code == 200  # no panel: falls back
    assert 'id="assign-form"' not in client.get("/tickets/callbacks?tab=assign").text

    client.cookies.clear()
    csrf = browser_login(client, team.leader.user.username)
    fresh = team.ticket()
    panel = client.get("/tickets/callbacks?tab=assign&closed_from=2026-03-01&closed_to=2026-03-01")
    assert panel.status_code == 200 and 'id="assign-form"' in panel.text and fresh.serial in panel.text
    assert ticket.serial not in panel.text  # it has its callback
    assert team.c2.user.name in panel.text and team.outsider.user.name not in panel.text
    data = {"csrf_token": csrf, "closed_from": "2026-03-01", "closed_to": "2026-03-01", "mode": "even"}
    refused = client.post("/tickets/callbacks/assign", data={**data, "ticket_ids": [str(fresh.id)]})
    assert refused.status_code == 422 and 'data-error-for="assignee_ids"' in refused.text
    done = client.post(
        "/tickets/callbacks/assign",
        data={**data, "ticket_ids": [str(fresh.id)], "assignee_ids": [str(team.c2.user.id)]},
        follow_redirects=False,
    )
    assert done.status_code == 303 and "assigned=1" in done.headers["location"]
    created = session.scalars(select(CallbackTask).where(CallbackTask.ticket_id == fresh.id)).one()
    assert created.assignee_id == team.c2.user.id
    everything = client.get("/tickets/callbacks?tab=all")
    assert fresh.serial in everything.text and f"/tickets/callbacks/{created.id}/cancel" in everything.text
    cancelled = client.post(
        f"/tickets/callbacks/{created.id}/cancel", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert cancelled.status_code == 303
    again = client.post(f"/tickets/callbacks/{created.id}/cancel", data={"csrf_token": csrf})
    assert again.status_code == 409
