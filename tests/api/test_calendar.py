"""The business calendar through HTTP (ORG-9): days, overrides, holiday entry, working hours, the
uncovered-year warning, working-time sums, permissions, audit rows and the calendar page.

2026 Spring Festival in the statutory table: days off Sun 15 – Mon 23 February, make-up workdays
Sat 14 and Sat 28 February. Standard hours: 09:00–12:00 and 13:30–18:00 (7.5 h).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import chinese_calendar  # type: ignore[import-untyped]
import pytest
from sqlalchemy import select

from kefu.audit.models import AuditLog
from kefu.core import clock, events
from kefu.org.calendar import service
from kefu.org.calendar.models import HolidayOverride
from tests.support import browser_login

SH = ZoneInfo("Asia/Shanghai")
VIEW, EDIT = "admin.calendar.view", "admin.calendar.edit"


def _library_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


# The first year from 2027 on that the installed library lacks (2027 with chinesecalendar 1.11), so the
# warning tests keep their meaning after an upgrade.
UNCOVERED = next(year for year in count(2027) if not _library_covers(year))


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
    # The process cache outlives each test's rolled-back transaction.
    service.invalidate()
    yield
    service.invalidate()


@pytest.fixture
def editor(factory):  # type: ignore[no-untyped-def]
    return factory.token_login(factory.user([VIEW, EDIT]))


def sh(*args: int) -> str:
    return datetime(*args, tzinfo=SH).isoformat()  # type: ignore[misc]


def add(client, headers, start: str, minutes: int) -> str:  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/calendar/add-working-time",
        json={"start": start, "duration_minutes": minutes},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return r.json()["end"]


def between(client, headers, start: str, end: str) -> float:  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/calendar/working-time-between", json={"start": start, "end": end}, headers=headers
    )
    assert r.status_code == 200, r.text
    return r.json()["minutes"]


def audit_actions(session, user_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        session.scalars(select(AuditLog.action).where(AuditLog.actor_id == user_id).order_by(AuditLog.id))
    )


def has(day: dict, **expected: object) -> bool:  # type: ignore[type-arg]
    return {k: day[k] for k in expected} == expected


def days(client, headers, start: str, end: str) -> dict[str, dict]:  # type: ignore[no-untyped-def,type-arg]
    r = client.get("/api/v1/calendar/days", params={"start": start, "end": end}, headers=headers)
    assert r.status_code == 200, r.text
    return {d["day"]: d for d in r.json()}


def test_spring_festival_2026_with_an_override_from_the_database(client, session, editor):  # type: ignore[no-untyped-def]
    h = editor.headers
    seen = days(client, h, "2026-02-13", "2026-03-01")
    assert seen["2026-02-14"] | {"working_minutes": 0} == {
        "day": "2026-02-14",
        "workday": True,
        "source": "statutory",
        "name": "Spring Festival",
        "kind": "makeup",
        "working_minutes": 0,
        "note": "",
    }
    assert seen["2026-02-14"]["working_minutes"] == 450
    assert all(seen[f"2026-02-{d}"]["kind"] == "holiday" for d in range(15, 24))
    assert has(seen["2026-02-24"], workday=True, source="statutory", kind="workday", name=None)
    assert seen["2026-02-28"]["kind"] == "makeup"
    assert has(seen["2026-03-01"], kind="rest", workday=False, name=None, source="statutory")

    # Fri 17:00 + 1 h on Friday + a full make-up Saturday + 1 h → Tuesday after the festival, 10:00.
    assert add(client, h, sh(2026, 2, 13, 17), 60 + 450 + 60) == sh(2026, 2, 24, 10)
    assert between(client, h, sh(2026, 2, 13, 9), sh(2026, 2, 27, 9)) == 5 * 450

    r = client.put(
        "/api/v1/calendar/overrides/2026-02-24", json={"workday": False, "name": "Site day"}, headers=h
    )
    assert r.status_code == 200, r.text
    # The cached calendar was rebuilt after the change: the site's day off is skipped.
    assert add(client, h, sh(2026, 2, 13, 17), 60 + 450 + 60) == sh(2026, 2, 25, 10)
    assert between(client, h, sh(2026, 2, 13, 9), sh(2026, 2, 27, 9)) == 4 * 450
    assert days(client, h, "2026-02-24", "2026-02-24")["2026-02-24"] == {
        "day": "2026-02-24",
        "workday": False,
        "source": "override",
        "name": "Site day",
        "kind": "holiday",
        "working_minutes": 0,
        "note": "",
    }
    # The same answers from the service the workflow engine calls.
    end = service.add_working_time(session, datetime(2026, 2, 13, 17, tzinfo=SH), timedelta(minutes=570))
    assert end == datetime(2026, 2, 25, 10, tzinfo=SH)


def test_overrides_beat_the_statutory_table_and_are_audited(client, session, editor):  # type: ignore[no-untyped-def]
    h = editor.headers
    # The make-up Saturday becomes a day off: Friday's remaining hour runs on after the festival.
    r = client.put(
        "/api/v1/calendar/overrides/2026-02-14", json={"workday": False, "note": "no make-up"}, headers=h
    )
    assert r.status_code == 200, r.text
    assert r.json()["workday"] is False
    day = days(client, h, "2026-02-14", "2026-02-14")["2026-02-14"]
    assert (day["workday"], day["source"], day["name"], day["note"]) == (
        False,
        "override",
        "Spring Festival",
        "no make-up",
    )
    assert add(client, h, sh(2026, 2, 13, 17), 120) == sh(2026, 2, 24, 10)

    # A statutory holiday made a workday.
    r = client.put(
        "/api/v1/calendar/overrides/2026-10-07", json={"workday": True, "name": "On duty"}, headers=h
    )
    assert r.status_code == 200
    day = days(client, h, "2026-10-07", "2026-10-07")["2026-10-07"]
    assert (day["workday"], day["source"], day["kind"]) == (True, "override", "workday")

    listed = client.get("/api/v1/calendar/overrides", params={"year": 2026}, headers=h).json()
    assert [o["day"] for o in listed] == ["2026-02-14", "2026-10-07"]

    assert client.delete("/api/v1/calendar/overrides/2026-02-14", headers=h).status_code == 204
    assert client.delete("/api/v1/calendar/overrides/2026-02-14", headers=h).status_code == 404
    assert days(client, h, "2026-02-14", "2026-02-14")["2026-02-14"]["source"] == "statutory"
    assert add(client, h, sh(2026, 2, 13, 17), 120) == sh(2026, 2, 14, 10)

    assert audit_actions(session, editor.user.id)[-3:] == [
        "calendar.override.set",
        "calendar.override.set",
        "calendar.override.remove",
    ]
    row = session.scalars(select(AuditLog).where(AuditLog.action == "calendar.override.remove")).one()
    assert row.function == "admin.calendar"
    assert row.before == {"day": "2026-02-14", "workday": False, "name": "", "note": "no make-up"}


def test_a_change_made_by_another_process_arrives_by_event_or_age(client, session, editor, monkeypatch):  # type: ignore[no-untyped-def]
    h = editor.headers
    assert add(client, h, sh(2026, 3, 2, 9), 60) == sh(2026, 3, 2, 10)  # now cached
    # Another process enters an override: this process's cache does not know yet.
    session.add(HolidayOverride(day=date(2026, 3, 2), workday=False, name="elsewhere"))
    session.flush()
    assert add(client, h, sh(2026, 3, 2, 9), 60) == sh(2026, 3, 2, 10)
    service.on_event(events.Event(type="notification.created"))  # unrelated events change nothing
    assert add(client, h, sh(2026, 3, 2, 9), 60) == sh(2026, 3, 2, 10)
    service.on_event(events.Event(type=service.CALENDAR_CHANGED))
    assert add(client, h, sh(2026, 3, 2, 9), 60) == sh(2026, 3, 3, 10)

    session.add(HolidayOverride(day=date(2026, 3, 3), workday=False))
    session.flush()
    assert add(client, h, sh(2026, 3, 2, 9), 60) == sh(2026, 3, 3, 10)
    monkeypatch.setattr(service, "CACHE_SECONDS", 0.0)  # a missed event: the cache ages out
    assert add(client, h, sh(2026, 3, 2, 9), 60) == sh(2026, 3, 4, 10)


HOLIDAYS_2027 = {
    "year": UNCOVERED,
    "holidays": [
        {"name": "New Year's Day", "start": f"{UNCOVERED}-01-01", "end": f"{UNCOVERED}-01-03"},
        {
            "name": "Spring Festival",
            "start": f"{UNCOVERED}-02-06",
            "end": f"{UNCOVERED}-02-14",
            "makeup_workdays": [f"{UNCOVERED}-01-31", f"{UNCOVERED}-02-20"],
        },
    ],
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end": f"{UNCOVERED}-01-31"}, "holidays.1.end"),  # ends before it starts
        ({"start": f"{UNCOVERED}-01-03", "end": f"{UNCOVERED}-01-05"}, "holidays.1.start"),  # overlaps
        ({"makeup_workdays": [f"{UNCOVERED}-05-01"]}, "holidays.1.makeup_workdays"),  # far from its holiday
        ({"makeup_workdays": [f"{UNCOVERED}-02-07"]}, "holidays.1.makeup_workdays"),  # inside the holiday
        (
            {"start": f"{UNCOVERED + 1}-02-06", "end": f"{UNCOVERED + 1}-02-14"},
            "holidays.1.start",
        ),  # other year
    ],
)
def test_holiday_entry_is_all_or_nothing(client, session, editor, change, field):  # type: ignore[no-untyped-def]
    h = editor.headers
    bad = {
        **HOLIDAYS_2027,
        "holidays": [HOLIDAYS_2027["holidays"][0], {**HOLIDAYS_2027["holidays"][1], **change}],
    }
    r = client.post("/api/v1/calendar/holidays", json=bad, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", field]
    assert client.get("/api/v1/calendar/overrides", params={"year": UNCOVERED}, headers=h).json() == []
    assert "calendar.holidays.enter" not in audit_actions(session, editor.user.id)

    r = client.post("/api/v1/calendar/holidays", json=HOLIDAYS_2027, headers=h)
    assert r.status_code == 201, r.text
    assert len(r.json()) == 3 + 9 + 2
    seen = days(client, h, f"{UNCOVERED}-01-30", f"{UNCOVERED}-02-21")
    assert has(seen[f"{UNCOVERED}-01-31"], workday=True, source="override", name="Spring Festival")
    assert seen[f"{UNCOVERED}-02-08"]["name"] == "Spring Festival"
    assert not seen[f"{UNCOVERED}-02-08"]["workday"]
    assert seen[f"{UNCOVERED}-02-15"]["source"] == "weekday"
    assert audit_actions(session, editor.user.id)[-1] == "calendar.holidays.enter"


def test_holiday_entry_can_replace_the_year(client, editor):  # type: ignore[no-untyped-def]
    h = editor.headers
    client.put(f"/api/v1/calendar/overrides/{UNCOVERED}-06-01", json={"workday": False}, headers=h)
    r = client.post("/api/v1/calendar/holidays", json={**HOLIDAYS_2027, "replace_year": True}, headers=h)
    assert r.status_code == 201, r.text
    listed = client.get("/api/v1/calendar/overrides", params={"year": UNCOVERED}, headers=h).json()
    assert f"{UNCOVERED}-06-01" not in [o["day"] for o in listed]
    assert len(listed) == 14


def test_uncovered_year_warning(client, session, factory, editor):  # type: ignore[no-untyped-def]
    h = editor.headers
    assert _library_covers(UNCOVERED - 1)
    viewer = factory.actor(factory.user([VIEW]))
    with clock.freeze(datetime(UNCOVERED - 1, 8, 1, tzinfo=SH)):
        assert client.get("/api/v1/calendar/warning", headers=h).json() == {"warning": None}
    with clock.freeze(datetime(UNCOVERED - 1, 11, 22, 10, tzinfo=SH)):
        warning = client.get("/api/v1/calendar/warning", headers=h).json()["warning"]
        assert warning and str(UNCOVERED) in warning
        assert service.calendar_warning_for(session, factory.actor(editor.user)) == warning
        assert service.calendar_warning_for(session, viewer) is None
    with clock.freeze(datetime(UNCOVERED, 3, 1, tzinfo=SH)):
        # Still missing once the year has begun: the message now speaks of the current year.
        current = client.get("/api/v1/calendar/warning", headers=h).json()["warning"]
        assert current and str(UNCOVERED) in current and current != warning

    r = client.put(
        f"/api/v1/calendar/overrides/{UNCOVERED}-01-01", json={"workday": False, "name": "元旦"}, headers=h
    )
    assert r.status_code == 200
    with clock.freeze(datetime(UNCOVERED - 1, 11, 22, 10, tzinfo=SH)):
        assert client.get("/api/v1/calendar/warning", headers=h).json() == {"warning": None}
        assert service.calendar_warning_for(session, factory.actor(editor.user)) is None
    with clock.freeze(datetime(UNCOVERED, 3, 1, tzinfo=SH)):
        assert client.get("/api/v1/calendar/warning", headers=h).json() == {"warning": None}


@pytest.mark.parametrize(
    ("weekday", "spans", "field"),
    [
        (0, [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "14:00"}], "spans"),
        (0, [{"start": "25:00", "end": "26:00"}], "spans.0.start"),
        (0, [{"start": "09:00", "end": "12:00"}, {"start": "14:00", "end": "13:00"}], "spans.1.end"),
        (0, [{"start": "09:00", "end": "24:30"}], "spans.0.end"),
        (7, [{"start": "09:00", "end": "12:00"}], "weekday"),
    ],
)
def test_working_hours_validation(client, session, editor, weekday, spans, field):  # type: ignore[no-untyped-def]
    h = editor.headers
    r = client.put(f"/api/v1/calendar/hours/{weekday}", json={"spans": spans}, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", field]
    hours = client.get("/api/v1/calendar/hours", headers=h).json()
    assert hours["configured"] is False
    assert "calendar.hours.replace" not in audit_actions(session, editor.user.id)


def test_working_hours_replace_one_weekday(client, session, editor):  # type: ignore[no-untyped-def]
    h = editor.headers
    monday = sh(2026, 3, 2, 8)
    assert add(client, h, monday, 60) == sh(2026, 3, 2, 10)
    spans = [{"start": "13:00", "end": "17:00"}, {"start": "08:00", "end": "12:00"}]
    r = client.put("/api/v1/calendar/hours/0", json={"spans": spans}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["configured"] is True
    assert body["weekdays"][0] == {
        "weekday": 0,
        "spans": sorted(spans, key=lambda s: s["start"]),
        "minutes": 480,
    }
    # The other weekdays keep the standard hours they had.
    assert body["weekdays"][1]["spans"] == [
        {"start": "09:00", "end": "12:00"},
        {"start": "13:30", "end": "18:00"},
    ]
    assert add(client, h, monday, 60) == sh(2026, 3, 2, 9)
    # A night desk until midnight on Tuesdays.
    r = client.put(
        "/api/v1/calendar/hours/1", json={"spans": [{"start": "18:00", "end": "24:00"}]}, headers=h
    )
    assert r.status_code == 200
    assert r.json()["weekdays"][1]["spans"] == [{"start": "18:00", "end": "24:00"}]
    assert add(client, h, sh(2026, 3, 3, 23), 120) == sh(2026, 3, 4, 10)
    row = session.scalars(select(AuditLog).where(AuditLog.action == "calendar.hours.replace")).first()
    assert row is not None and row.before == {"spans": ["09:00–12:00", "13:30–18:00"]}


def test_arithmetic_input_is_checked(client, editor):  # type: ignore[no-untyped-def]
    h = editor.headers
    naive = client.post(
        "/api/v1/calendar/add-working-time",
        json={"start": "2026-03-02T09:00:00", "duration_minutes": 5},
        headers=h,
    )
    assert naive.status_code == 422
    far = client.post(
        "/api/v1/calendar/working-time-between",
        json={"start": sh(2026, 1, 1), "end": sh(2099, 1, 1)},
        headers=h,
    )
    assert far.status_code == 422 and far.json()["detail"][0]["loc"] == ["body", "end"]
    r = client.get("/api/v1/calendar/days", params={"start": "2026-03-02", "end": "2026-03-01"}, headers=h)
    assert r.status_code == 422


ROUTES = [
    ("get", "/api/v1/calendar/days?start=2026-01-01&end=2026-01-31", None, False),
    ("get", "/api/v1/calendar/warning", None, False),
    ("get", "/api/v1/calendar/overrides", None, False),
    ("get", "/api/v1/calendar/hours", None, False),
    ("post", "/api/v1/calendar/add-working-time", {"start": sh(2026, 3, 2, 9), "duration_minutes": 5}, False),
    (
        "post",
        "/api/v1/calendar/working-time-between",
        {"start": sh(2026, 3, 2), "end": sh(2026, 3, 3)},
        False,
    ),
    ("put", "/api/v1/calendar/overrides/2026-03-02", {"workday": False}, True),
    ("delete", "/api/v1/calendar/overrides/2026-03-02", None, True),
    ("post", "/api/v1/calendar/holidays", HOLIDAYS_2027, True),
    ("put", "/api/v1/calendar/hours/0", {"spans": [{"start": "09:00", "end": "17:00"}]}, True),
]


@pytest.mark.parametrize(("method", "path", "body", "mutates"), ROUTES)
def test_routes_need_permission(client, session, factory, method, path, body, mutates):  # type: ignore[no-untyped-def]
    nobody = factory.token_login(factory.user(["admin.shifts.view"]))
    viewer = factory.token_login(factory.user([VIEW]))
    kwargs = {"json": body} if body is not None else {}
    r = client.request(method, path, headers=nobody.headers, **kwargs)
    assert r.status_code == 403, r.text
    r = client.request(method, path, headers=viewer.headers, **kwargs)
    assert (r.status_code == 403) is mutates, r.text
    assert session.scalar(select(AuditLog.id).where(AuditLog.function == "admin.calendar")) is None


def test_calendar_page(client, session, factory):  # type: ignore[no-untyped-def]
    user = factory.user([VIEW, EDIT])
    csrf = browser_login(client, user.username)
    hx = {"HX-Request": "true", "X-CSRF-Token": csrf}
    page = client.get("/admin/calendar?year=2026")
    assert page.status_code == 200
    assert 'data-day="2026-02-14" data-kind="makeup" data-source="statutory"' in page.text
    assert 'data-day="2026-02-16" data-kind="holiday"' in page.text
    assert 'href="/admin/calendar"' in page.text  # the menu entry
    assert 'id="holidays-form"' in page.text and 'id="hours-0"' in page.text

    editor = client.get("/admin/calendar/day/2026-02-16", headers={"HX-Request": "true"})
    assert editor.status_code == 200 and 'id="save-day"' in editor.text and "<html" not in editor.text
    saved = client.post(
        "/admin/calendar/day/2026-02-16", data={"workday": "1", "name": "", "note": ""}, headers=hx
    )
    assert saved.status_code == 200, saved.text
    assert 'hx-swap-oob="true"' in saved.text
    assert 'data-day="2026-02-16" data-kind="workday" data-source="override"' in saved.text
    assert 'id="remove-day"' in saved.text
    assert audit_actions(session, user.id)[-1] == "calendar.override.set"

    bad = client.post("/admin/calendar/hours/2", data={"spans": "09:00-12:00, 11:00-13:00"}, headers=hx)
    assert bad.status_code == 422 and 'class="invalid-feedback"' in bad.text and 'id="hours-2"' in bad.text
    good = client.post("/admin/calendar/hours/2", data={"spans": "08:30-12:00，13:00-17:30"}, headers=hx)
    assert good.status_code == 200 and 'value="08:30-12:00, 13:00-17:30"' in good.text

    form = {"csrf_token": csrf, "year": str(UNCOVERED), "name_0": "元旦", "start_0": f"{UNCOVERED}-01-01"}
    form |= {"end_0": f"{UNCOVERED}-01-03", "name_3": "春节", "start_3": f"{UNCOVERED}-02-10"}
    form |= {"end_3": f"{UNCOVERED}-02-06"}
    rejected = client.post("/admin/calendar/holidays", data=form)
    assert rejected.status_code == 422
    # The message stands under the row's "last day off" field.
    assert re.search(
        rf'name="end_3" value="{UNCOVERED}-02-06">\s*<div class="invalid-feedback">', rejected.text
    )
    assert client.get("/api/v1/calendar/overrides", params={"year": UNCOVERED}).json() == []
    form |= {"end_3": f"{UNCOVERED}-02-16", "makeup_3": f"{UNCOVERED}-02-07 {UNCOVERED}-02-20"}
    entered = client.post("/admin/calendar/holidays", data=form, follow_redirects=False)
    assert entered.status_code == 303, entered.text
    assert len(client.get("/api/v1/calendar/overrides", params={"year": UNCOVERED}).json()) == 3 + 7 + 2


def test_calendar_page_permissions(client, factory):  # type: ignore[no-untyped-def]
    viewer = factory.user([VIEW])
    csrf = browser_login(client, viewer.username)
    page = client.get("/admin/calendar")
    assert page.status_code == 200
    assert 'id="holidays-form"' not in page.text and 'id="save-day"' not in page.text
    denied = client.post("/admin/calendar/day/2026-02-16", data={"workday": "1", "csrf_token": csrf})
    assert denied.status_code == 403
    client.post("/logout", data={"csrf_token": csrf})
    outsider = factory.user(["admin.shifts.view"])
    browser_login(client, outsider.username)
    assert client.get("/admin/calendar").status_code == 403
    assert 'href="/admin/calendar"' not in client.get("/").text


def test_calendar_page_shows_the_uncovered_year_warning(client, factory):  # type: ignore[no-untyped-def]
    with clock.freeze(datetime(UNCOVERED - 1, 11, 22, 10, tzinfo=SH)):
        browser_login(client, factory.user([VIEW]).username)
        page = client.get("/admin/calendar")
        assert page.status_code == 200
        assert f"尚未录入 {UNCOVERED} 年的节假日安排" in page.text  # zh_CN is the default language
        assert 'id="shown-year">' + str(UNCOVERED - 1) in page.text
