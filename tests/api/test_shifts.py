"""Shifts and the roster through HTTP (ORG-9): night shifts across midnight, department scope,
assigning over ranges, copying a week, permissions, audit rows and the pages."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from kefu.audit.models import AuditLog
from kefu.org.calendar import service
from kefu.org.models import DataScope
from tests.support import browser_login

SH = ZoneInfo("Asia/Shanghai")
VIEW, EDIT = "admin.shifts.view", "admin.shifts.edit"


@pytest.fixture(scope="session")
def app(app):  # type: ignore[no-untyped-def]
    """The app with the calendar routers, until the application registers them itself."""
    from kefu.org.calendar import api, pages, roster_api, roster_pages

    if "/api/v1/calendar/days" not in {getattr(r, "path", "") for r in app.routes}:
        for module in (api, roster_api, pages, roster_pages):
            app.include_router(module.router)
    return app


@pytest.fixture(autouse=True)
def fresh_calendar():  # type: ignore[no-untyped-def]
    service.invalidate()
    yield
    service.invalidate()


@pytest.fixture
def admin(factory):  # type: ignore[no-untyped-def]
    return factory.token_login(factory.user([VIEW, EDIT], scope=DataScope.ALL))


def make_shift(client, headers, code: str, start: str, end: str, **extra: object) -> dict:  # type: ignore[no-untyped-def,type-arg]
    body = {"code": code, "name": f"Shift {code}", "start": start, "end": end, **extra}
    r = client.post("/api/v1/shifts", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def actions(session, user_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    """The user's audited shift and roster changes, oldest first."""
    stmt = select(AuditLog.action).where(AuditLog.actor_id == user_id, AuditLog.function == "admin.shifts")
    return list(session.scalars(stmt.order_by(AuditLog.id)))


def test_shift_definitions_and_a_night_shift_across_midnight(client, session, factory, admin):  # type: ignore[no-untyped-def]
    h = admin.headers
    day = make_shift(client, h, "D", "09:00", "18:00", colour="#198754")
    night = make_shift(client, h, "N", "22:00", "06:00")
    assert (day["crosses_midnight"], night["crosses_midnight"]) == (False, True)
    for body, field in [
        ({"code": "n", "name": "Dup", "start": "08:00", "end": "09:00"}, "code"),  # codes ignore case
        ({"code": "X", "name": "Zero", "start": "08:00", "end": "08:00"}, "end"),
        ({"code": "Y", "name": "Colour", "start": "08:00", "end": "09:00", "colour": "red"}, "colour"),
        ({"code": "Z", "name": "Late", "start": "24:00", "end": "09:00"}, "start"),
    ]:
        r = client.post("/api/v1/shifts", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"][0]["loc"] == ["body", field]

    agent = factory.user()
    r = client.post(
        "/api/v1/roster/assign",
        json={"user_ids": [agent.id], "shift_id": night["id"], "start": "2026-03-02", "end": "2026-03-03"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    first = r.json()["entries"][0]
    assert (first["day"], first["starts_at"], first["ends_at"]) == (
        "2026-03-02",
        "2026-03-02T22:00:00+08:00",
        "2026-03-03T06:00:00+08:00",
    )

    def on_duty(at: datetime) -> list[str]:
        r = client.get("/api/v1/roster/on-duty", params={"at": at.isoformat()}, headers=h)
        assert r.status_code == 200, r.text
        return [e["day"] for e in r.json() if e["user_id"] == agent.id]

    assert on_duty(datetime(2026, 3, 3, 2, tzinfo=SH)) == ["2026-03-02"]  # last night's shift
    assert on_duty(datetime(2026, 3, 3, 12, tzinfo=SH)) == []
    assert on_duty(datetime(2026, 3, 3, 23, tzinfo=SH)) == ["2026-03-03"]
    assert on_duty(datetime(2026, 3, 4, 6, tzinfo=SH)) == []  # the shift ends at 06:00, exclusive

    assert client.delete(f"/api/v1/shifts/{night['id']}", headers=h).status_code == 409
    r = client.patch(f"/api/v1/shifts/{night['id']}", json={"enabled": False, "end": "07:00"}, headers=h)
    assert r.status_code == 200 and r.json()["enabled"] is False and r.json()["end"] == "07:00"
    assert [s["code"] for s in client.get("/api/v1/shifts?enabled_only=true", headers=h).json()] == ["D"]
    assert client.delete(f"/api/v1/shifts/{day['id']}", headers=h).status_code == 204
    assert client.get(f"/api/v1/shifts/{day['id']}", headers=h).status_code == 404
    assert actions(session, admin.user.id) == [
        "shift.create",
        "shift.create",
        "roster.assign",
        "shift.update",
        "shift.delete",
    ]
    update = session.scalars(select(AuditLog).where(AuditLog.action == "shift.update")).one()
    assert (update.before, update.after) == (
        {"end": "06:00", "enabled": True},
        {"end": "07:00", "enabled": False},
    )


def test_a_department_leader_rosters_only_their_department(client, session, factory, admin):  # type: ignore[no-untyped-def]
    ours, theirs = factory.department("Hotline"), factory.department("Billing")
    leader_user = factory.user([VIEW, EDIT], scope=DataScope.DEPARTMENT, department=ours)
    leader = factory.token_login(leader_user)
    mine, other = factory.user(department=ours), factory.user(department=theirs)
    shift = make_shift(client, admin.headers, "D", "09:00", "18:00")
    assign = {"shift_id": shift["id"], "start": "2026-03-02", "end": "2026-03-06"}

    ok = client.post("/api/v1/roster/assign", json={**assign, "user_ids": [mine.id]}, headers=leader.headers)
    assert ok.status_code == 201, ok.text
    assert ok.json()["created"] == 5
    denied = client.post(
        "/api/v1/roster/assign", json={**assign, "user_ids": [other.id]}, headers=leader.headers
    )
    assert denied.status_code == 404
    both = client.post(
        "/api/v1/roster/assign", json={**assign, "user_ids": [mine.id, other.id]}, headers=leader.headers
    )
    assert both.status_code == 404
    put = client.put(
        f"/api/v1/roster/users/{other.id}/days/2026-03-02",
        json={"shift_ids": [shift["id"]]},
        headers=leader.headers,
    )
    assert put.status_code == 404
    clear = {"user_ids": [other.id], "start": "2026-03-02", "end": "2026-03-06"}
    assert client.post("/api/v1/roster/clear", json=clear, headers=leader.headers).status_code == 404
    copy = {"department_id": theirs.id, "source_start": "2026-03-02", "target_start": "2026-03-09"}
    assert client.post("/api/v1/roster/copy-week", json=copy, headers=leader.headers).status_code == 404
    week = {"start": "2026-03-02", "end": "2026-03-08"}
    assert (
        client.get(
            "/api/v1/roster", params={**week, "department_id": theirs.id}, headers=leader.headers
        ).status_code
        == 404
    )
    own = client.get("/api/v1/roster", params=week, headers=leader.headers)  # defaults to my department
    assert own.status_code == 200, own.text
    assert {u["id"] for u in own.json()["users"]} == {mine.id, leader_user.id}
    assert {e["user_id"] for e in own.json()["entries"]} == {mine.id}
    # Shift definitions are shared by all departments: a department-scoped leader cannot change them.
    body = {"code": "E", "name": "Early", "start": "07:00", "end": "15:00"}
    assert client.post("/api/v1/shifts", json=body, headers=leader.headers).status_code == 403
    assert (
        client.patch(f"/api/v1/shifts/{shift['id']}", json={"name": "x"}, headers=leader.headers).status_code
        == 403
    )
    assert client.get("/api/v1/shifts", headers=leader.headers).status_code == 200
    # The administrator sees the other department; its user has nothing rostered.
    theirs_view = client.get(
        "/api/v1/roster", params={**week, "department_id": theirs.id}, headers=admin.headers
    )
    assert [u["id"] for u in theirs_view.json()["users"]] == [other.id]
    assert theirs_view.json()["entries"] == []
    assert actions(session, leader_user.id) == ["roster.assign"]


def test_assign_set_day_clear_and_copy_week(client, session, factory, admin):  # type: ignore[no-untyped-def]
    h = admin.headers
    dept = factory.department("Hotline")
    a, b = factory.user(department=dept), factory.user(department=dept)
    day, night = make_shift(client, h, "D", "09:00", "18:00"), make_shift(client, h, "N", "22:00", "06:00")
    # Workdays only, by the business calendar: the make-up Saturday 14 Feb counts, the festival does not.
    r = client.post(
        "/api/v1/roster/assign",
        json={
            "user_ids": [a.id, b.id],
            "shift_id": day["id"],
            "start": "2026-02-09",
            "end": "2026-02-22",
            "only_workdays": True,
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    assert sorted({e["day"] for e in r.json()["entries"]}) == [f"2026-02-{d:02d}" for d in range(9, 15)]
    assert r.json()["created"] == 12
    again = client.post(
        "/api/v1/roster/assign",
        json={"user_ids": [a.id], "shift_id": day["id"], "start": "2026-02-09", "end": "2026-02-10"},
        headers=h,
    )
    assert again.json()["created"] == 0  # already there

    r = client.put(
        f"/api/v1/roster/users/{a.id}/days/2026-02-10", json={"shift_ids": [night["id"]]}, headers=h
    )
    assert r.status_code == 200 and [e["shift_code"] for e in r.json()] == ["N"]
    r = client.put(f"/api/v1/roster/users/{a.id}/days/2026-02-10", json={"shift_ids": [999999]}, headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "shift_ids"]
    far = client.put(
        f"/api/v1/roster/users/{a.id}/days/9999-12-31", json={"shift_ids": [night["id"]]}, headers=h
    )
    assert far.status_code == 422 and far.json()["detail"][0]["loc"] == ["body", "day"]

    r = client.post(
        "/api/v1/roster/copy-week",
        json={"department_id": dept.id, "source_start": "2026-02-09", "target_start": "2026-02-16"},
        headers=h,
    )
    assert r.status_code == 200 and r.json() == {"copied": 12}
    copied = client.get(
        "/api/v1/roster",
        params={"department_id": dept.id, "start": "2026-02-16", "end": "2026-02-22"},
        headers=h,
    ).json()
    assert sorted(
        (e["user_id"], e["day"], e["shift_code"]) for e in copied["entries"] if e["day"] == "2026-02-17"
    ) == sorted([(a.id, "2026-02-17", "N"), (b.id, "2026-02-17", "D")])
    assert [d["kind"] for d in copied["days"]][:2] == ["holiday", "holiday"]

    r = client.post(
        "/api/v1/roster/clear",
        json={"user_ids": [b.id], "start": "2026-02-01", "end": "2026-02-28", "shift_id": day["id"]},
        headers=h,
    )
    assert r.status_code == 200 and r.json() == {"removed": 12}
    bad = client.post(
        "/api/v1/roster/assign",
        json={"user_ids": [a.id], "shift_id": day["id"], "start": "2026-03-02", "end": "2026-03-01"},
        headers=h,
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "end"]
    assert actions(session, admin.user.id)[2:] == [
        "roster.assign",
        "roster.assign",
        "roster.set_day",
        "roster.copy_week",
        "roster.clear",
    ]


def test_listing_the_roster_costs_the_same_queries_for_more_people(client, session, factory, engine, admin):  # type: ignore[no-untyped-def]
    h = admin.headers
    shift = make_shift(client, h, "D", "09:00", "18:00")
    small, large = factory.department(), factory.department()
    people = {
        small.id: [factory.user(department=small)],
        large.id: [factory.user(department=large) for _ in range(6)],
    }
    for users in people.values():
        body = {
            "user_ids": [u.id for u in users],
            "shift_id": shift["id"],
            "start": "2026-03-02",
            "end": "2026-03-08",
        }
        assert client.post("/api/v1/roster/assign", json=body, headers=h).status_code == 201

    def queries(dept_id: int) -> int:
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            r = client.get(
                "/api/v1/roster",
                params={"department_id": dept_id, "start": "2026-03-02", "end": "2026-03-08"},
                headers=h,
            )
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert r.status_code == 200 and len(r.json()["entries"]) == 7 * len(people[dept_id])
        return len(statements)

    queries(small.id)  # warm the process caches (the business calendar)
    assert queries(large.id) == queries(small.id)


SHIFT_ROUTES = [
    ("get", "/api/v1/shifts", None, False),
    ("get", "/api/v1/shifts/1", None, False),
    ("post", "/api/v1/shifts", {"code": "Q", "name": "Q", "start": "09:00", "end": "10:00"}, True),
    ("patch", "/api/v1/shifts/1", {"name": "Q"}, True),
    ("delete", "/api/v1/shifts/1", None, True),
    ("get", "/api/v1/roster?start=2026-03-02&end=2026-03-08&department_id=1", None, False),
    ("get", "/api/v1/roster/on-duty", None, False),
    (
        "post",
        "/api/v1/roster/assign",
        {"user_ids": [1], "shift_id": 1, "start": "2026-03-02", "end": "2026-03-02"},
        True,
    ),
    ("post", "/api/v1/roster/clear", {"user_ids": [1], "start": "2026-03-02", "end": "2026-03-02"}, True),
    ("put", "/api/v1/roster/users/1/days/2026-03-02", {"shift_ids": []}, True),
    (
        "post",
        "/api/v1/roster/copy-week",
        {"department_id": 1, "source_start": "2026-03-02", "target_start": "2026-03-09"},
        True,
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "mutates"), SHIFT_ROUTES)
def test_routes_need_permission(client, session, factory, method, path, body, mutates):  # type: ignore[no-untyped-def]
    nobody = factory.token_login(factory.user(["admin.calendar.edit"]))
    viewer = factory.token_login(factory.user([VIEW]))
    kwargs = {"json": body} if body is not None else {}
    assert client.request(method, path, headers=nobody.headers, **kwargs).status_code == 403
    assert (client.request(method, path, headers=viewer.headers, **kwargs).status_code == 403) is mutates
    assert session.scalar(select(AuditLog.id).where(AuditLog.function == "admin.shifts")) is None


def test_shift_and_roster_pages(client, session, factory):  # type: ignore[no-untyped-def]
    dept = factory.department("Hotline")
    user = factory.user([VIEW, EDIT], department=dept)
    agent = factory.user(department=dept)
    csrf = browser_login(client, user.username)
    assert client.get("/admin/shifts").status_code == 200
    bad = client.post(
        "/admin/shifts",
        data={
            "csrf_token": csrf,
            "code": "N",
            "name": "Night",
            "start": "22:00",
            "end": "22:00",
            "colour": "#000000",
            "enabled": "1",
        },
    )
    assert bad.status_code == 422 and 'class="invalid-feedback"' in bad.text
    made = client.post(
        "/admin/shifts",
        data={
            "csrf_token": csrf,
            "code": "N",
            "name": "Night",
            "start": "22:00",
            "end": "06:00",
            "colour": "#000000",
            "enabled": "1",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    page = client.get("/admin/shifts")
    assert 'data-shift="N"' in page.text and 'href="/admin/roster"' in page.text
    shift_id = client.get("/api/v1/shifts").json()[0]["id"]

    roster = client.get("/admin/roster", params={"week": "2026-02-18"})
    assert roster.status_code == 200
    assert f'data-user="{agent.username}"' in roster.text
    assert (
        'data-day="2026-02-16"' in roster.text and 'data-day="2026-02-22"' in roster.text
    )  # Monday to Sunday
    cell = client.post(
        f"/admin/roster/cell/{agent.id}/2026-02-17",
        data={"shift_id": str(shift_id)},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert cell.status_code == 200 and f'<option value="{shift_id}" selected>' in cell.text
    copied = client.post(
        "/admin/roster/copy-week",
        data={"csrf_token": csrf, "department_id": str(dept.id), "week": "2026-02-23"},
        follow_redirects=False,
    )
    assert copied.status_code == 303
    week = client.get(
        "/api/v1/roster", params={"department_id": dept.id, "start": "2026-02-23", "end": "2026-03-01"}
    ).json()
    assert [(e["user_id"], e["day"]) for e in week["entries"]] == [(agent.id, "2026-02-24")]
    missing = client.post(
        "/admin/roster/assign",
        data={
            "csrf_token": csrf,
            "department_id": str(dept.id),
            "week": "2026-02-23",
            "shift_id": str(shift_id),
            "start": "2026-02-23",
            "end": "2026-02-27",
        },
    )
    assert missing.status_code == 422 and 'id="assign-error"' in missing.text
    assigned = client.post(
        "/admin/roster/assign",
        data={
            "csrf_token": csrf,
            "department_id": str(dept.id),
            "week": "2026-02-23",
            "shift_id": str(shift_id),
            "start": "2026-02-23",
            "end": "2026-02-27",
            "user_ids": [str(agent.id)],
            "action": "assign",
        },
        follow_redirects=False,
    )
    assert assigned.status_code == 303
    assert actions(session, user.id) == [
        "shift.create",
        "roster.set_day",
        "roster.copy_week",
        "roster.assign",
    ]


def test_roster_page_of_a_viewer_is_read_only(client, factory):  # type: ignore[no-untyped-def]
    dept = factory.department()
    viewer = factory.user([VIEW], scope=DataScope.DEPARTMENT, department=dept)
    csrf = browser_login(client, viewer.username)
    page = client.get("/admin/roster")
    assert (
        page.status_code == 200
        and 'id="roster-grid"' in page.text
        and '<select class="form-select form-select-sm" name="shift_id"' not in page.text
    )
    assert (
        client.post(
            f"/admin/roster/cell/{viewer.id}/2026-03-02", data={"shift_id": "", "csrf_token": csrf}
        ).status_code
        == 403
    )
