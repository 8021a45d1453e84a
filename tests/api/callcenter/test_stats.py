"""Call statistics (CC-9): a day of real CTI event sequences — answered with hold, abandoned in the
queue, missed, outbound, transferred, ended in the IVR, another department's call, and two calls
whose UTC date is not their local date — replayed at known times and checked exactly per local hour,
local day, queue and agent; data scope; validation; CSV and Excel export."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from kefu.audit.models import AuditLog
from kefu.callcenter import agents, stats
from kefu.callcenter.models import CallQueue
from kefu.core import clock
from kefu.org.models import DataScope
from tests.api.callcenter.conftest import CALLER, T0
from tests.api.callcenter.test_cti import ANSWERED, replay
from tests.support import browser_login

DAY = "2026-11-20"  # T0 is 09:00 of this day in Shanghai
HOUR = 3600

# (call id, events as (kind, seconds after T0, fields)) in the order the PBX reports them.
CALLS = [
    # 09:00 answered by alice after 21 s in the queue, 30 s on hold: talk 270, wrap-up 20.
    ("A", ANSWERED),
    # 09:10 the caller hangs up while it rings at alice, 37 s after queueing: abandoned.
    (
        "B",
        [
            ("new_call", 600, {"from": "02087654321"}),
            ("queued", 615, {"queue": "hotline"}),
            ("ringing", 630, {"agent": "8001"}),
            ("hangup", 652, {"cause": "cancel"}),
        ],
    ),
    # 10:00 nobody takes it; the PBX gives up after 295 s: missed.
    (
        "C",
        [
            ("new_call", HOUR, {"from": CALLER}),
            ("queued", HOUR + 5, {"queue": "hotline"}),
            ("hangup", HOUR + 300, {"cause": "noAnswer"}),
        ],
    ),
    # 10:01 alice calls the customer: talk 60, wrap-up 30 (no queue: the default).
    (
        "D",
        [
            ("new_call", HOUR + 100, {"direction": "out", "from": "8001", "to": CALLER}),
            ("answer", HOUR + 110, {"agent": "8001"}),
            ("hangup", HOUR + 170, {"cause": "normalClearing"}),
        ],
    ),
    # 11:00 alice answers after 14 s and transfers to bob, who finishes: talk 386, wrap-ups 20 + 20.
    (
        "E",
        [
            ("new_call", 2 * HOUR, {"from": CALLER, "queue": "hotline"}),
            ("ringing", 2 * HOUR + 10, {"agent": "8001"}),
            ("answer", 2 * HOUR + 14, {"agent": "8001"}),
            ("transfer", 2 * HOUR + 120, {"agent": "8001", "to_agent": "8002"}),
            ("answer", 2 * HOUR + 126, {"agent": "8002"}),
            ("hangup", 2 * HOUR + 400, {"cause": "normalClearing"}),
        ],
    ),
    # 11:05 served by the IVR alone: self-service.
    ("F", [("new_call", 2 * HOUR + 300, {"from": CALLER}), ("hangup", 2 * HOUR + 360, {})]),
    # 11:10 the south's queue: carol (not logged in) answers after 10 s, talks 90; no wrap-up.
    (
        "G",
        [
            ("new_call", 2 * HOUR + 600, {"from": CALLER, "queue": "south"}),
            ("ringing", 2 * HOUR + 605, {"agent": "8003"}),
            ("answer", 2 * HOUR + 610, {"agent": "8003"}),
            ("hangup", 2 * HOUR + 700, {"cause": "normalClearing"}),
        ],
    ),
    # 07:00 of the next local day, still 2026-11-20 in UTC: answered after 10 s, talk 100, wrap 20.
    (
        "H",
        [
            ("new_call", 22 * HOUR, {"from": CALLER, "queue": "hotline"}),
            ("ringing", 22 * HOUR + 5, {"agent": "8001"}),
            ("answer", 22 * HOUR + 10, {"agent": "8001"}),
            ("hangup", 22 * HOUR + 110, {"cause": "normalClearing"}),
        ],
    ),
    # 00:30 local, still 2026-11-19 in UTC: the caller gives up after 10 s in the queue.
    (
        "I",
        [
            ("new_call", -8.5 * HOUR, {"from": CALLER, "queue": "hotline"}),
            ("hangup", -8.5 * HOUR + 10, {"cause": "cancel"}),
        ],
    ),
]

ZERO = {
    "inbound": 0,
    "outbound": 0,
    "offered": 0,
    "answered": 0,
    "abandoned": 0,
    "missed": 0,
    "self_service": 0,
    "outbound_answered": 0,
    "answered_in_threshold": 0,
    "handled": 0,
    "avg_wait": None,
    "avg_answer_speed": None,
    "avg_talk": None,
    "avg_hold": None,
    "avg_handle": None,
    "service_level": None,
    "abandon_rate": None,
}


def figures(**values):
    return {**ZERO, **values}


# The whole local day 2026-11-20: calls I, A, B, C, D, E, F, G.
DAY_TOTAL = figures(
    inbound=7,
    outbound=1,
    offered=6,  # I, A, B, C, E, G
    answered=3,  # A, E, G
    abandoned=2,  # I, B
    missed=1,  # C
    self_service=1,  # F
    outbound_answered=1,  # D
    answered_in_threshold=2,  # E (14 s), G (10 s); A waited 21 s
    handled=4,  # A, D, E, G
    avg_wait=64.5,  # (10 + 21 + 37 + 295 + 14 + 10) / 6
    avg_answer_speed=15.0,  # (21 + 14 + 10) / 3
    avg_talk=201.5,  # (270 + 60 + 386 + 90) / 4
    avg_hold=7.5,  # 30 / 4
    avg_handle=231.5,  # (806 talk + 30 hold + 90 wrap-up: 20 + 30 + 20 + 20 + 0) / 4
    service_level=0.3333,
    abandon_rate=0.3333,
)


def flat(row):
    return {k: row["figures"][k] for k in ZERO}


@pytest.fixture
def day(cc):
    """The calls above, replayed; every wrap-up is over when the statistics are read."""
    south = CallQueue(code="south", name="南区热线", department_id=cc.south.id)
    cc.session.add(south)
    cc.session.flush()
    with clock.freeze(T0):
        cc.ready(cc.alice)
        cc.ready(cc.bob)
    for call_id, events in CALLS:
        replay(cc, call_id, events)
    agents.finish_wrap_ups(cc.session, T0 + timedelta(days=2))
    boss = cc.factory.user(["callcenter.calls.view", "callcenter.calls.export"], scope=DataScope.ALL)
    cc.boss = cc.factory.token_login(boss)
    cc.south_queue = south
    return cc


def get_stats(cc, who, expect=200, **params):
    return cc.call("GET", "/stats", who, expect=expect, **params)


def test_a_day_by_hour(day):
    got = get_stats(day, day.boss, date_from=DAY, group_by="hour")
    assert got["time_zone"] == "Asia/Shanghai"
    rows = got["rows"]
    assert [r["key"] for r in rows] == [f"{DAY} {h:02d}:00" for h in range(24)]
    assert rows[0]["start"].startswith("2026-11-19T16:00:00")  # local midnight in UTC
    by_hour = {int(r["key"][-5:-3]): flat(r) for r in rows}
    assert by_hour[0] == figures(
        inbound=1, offered=1, abandoned=1, avg_wait=10.0, service_level=0.0, abandon_rate=1.0
    )
    assert by_hour[9] == figures(
        inbound=2,
        offered=2,
        answered=1,
        abandoned=1,
        handled=1,
        avg_wait=29.0,
        avg_answer_speed=21.0,
        avg_talk=270.0,
        avg_hold=30.0,
        avg_handle=320.0,
        service_level=0.0,
        abandon_rate=0.5,
    )
    assert by_hour[10] == figures(
        inbound=1,
        outbound=1,
        offered=1,
        missed=1,
        outbound_answered=1,
        handled=1,
        avg_wait=295.0,
        avg_talk=60.0,
        avg_hold=0.0,
        avg_handle=90.0,
        service_level=0.0,
        abandon_rate=0.0,
    )
    assert by_hour[11] == figures(
        inbound=3,
        offered=2,
        answered=2,
        self_service=1,
        answered_in_threshold=2,
        handled=2,
        avg_wait=12.0,
        avg_answer_speed=12.0,
        avg_talk=238.0,
        avg_hold=0.0,
        avg_handle=258.0,  # (386 + 90 talk + 20 + 20 wrap-up) / 2
        service_level=1.0,
        abandon_rate=0.0,
    )
    assert all(by_hour[h] == ZERO for h in by_hour if h not in (0, 9, 10, 11))
    assert {k: got["total"][k] for k in ZERO} == DAY_TOTAL


def test_days_follow_the_local_calendar_not_utc(day):
    got = get_stats(day, day.boss, date_from=DAY, date_to="2026-11-21", group_by="day")
    first, second = got["rows"]
    assert (first["key"], second["key"]) == (DAY, "2026-11-21")
    assert flat(first) == DAY_TOTAL  # with I (UTC: the 19th), without H (UTC: the 20th)
    assert flat(second) == figures(
        inbound=1,
        offered=1,
        answered=1,
        answered_in_threshold=1,
        handled=1,
        avg_wait=10.0,
        avg_answer_speed=10.0,
        avg_talk=100.0,
        avg_hold=0.0,
        avg_handle=120.0,
        service_level=1.0,
        abandon_rate=0.0,
    )
    assert got["total"]["inbound"] == 8 and got["total"]["handled"] == 5
    # A larger threshold counts A (21 s) within the service level.
    wider = get_stats(day, day.boss, date_from=DAY, group_by="day", threshold=21)
    assert wider["rows"][0]["figures"]["service_level"] == 0.5


def test_by_queue(day):
    got = get_stats(day, day.boss, date_from=DAY, group_by="queue")
    rows = {r["key"]: r for r in got["rows"]}
    assert set(rows) == {str(day.queue.id), str(day.south_queue.id), ""}
    assert got["rows"][-1]["key"] == "" and got["rows"][-1]["label"] == "无队列"
    assert rows[str(day.queue.id)]["label"] == "服务热线"
    assert flat(rows[str(day.queue.id)]) == figures(
        inbound=5,  # I, A, B, C, E
        offered=5,
        answered=2,
        abandoned=2,
        missed=1,
        answered_in_threshold=1,
        handled=2,
        avg_wait=75.4,  # (10 + 21 + 37 + 295 + 14) / 5
        avg_answer_speed=17.5,
        avg_talk=328.0,
        avg_hold=15.0,
        avg_handle=373.0,  # (270 + 386 + 30 + 20 + 40) / 2
        service_level=0.2,
        abandon_rate=0.4,
    )
    assert flat(rows[str(day.south_queue.id)]) == figures(
        inbound=1,
        offered=1,
        answered=1,
        answered_in_threshold=1,
        handled=1,
        avg_wait=10.0,
        avg_answer_speed=10.0,
        avg_talk=90.0,
        avg_hold=0.0,
        avg_handle=90.0,  # no wrap-up recorded: talk + hold
        service_level=1.0,
        abandon_rate=0.0,
    )
    assert flat(rows[""]) == figures(
        inbound=1, outbound=1, self_service=1, outbound_answered=1, handled=1,
        avg_talk=60.0, avg_hold=0.0, avg_handle=90.0,
    )  # fmt: skip
    only = get_stats(day, day.boss, date_from=DAY, group_by="queue", queue_id=day.south_queue.id)
    assert [r["key"] for r in only["rows"]] == [str(day.south_queue.id)]


def test_by_agent(day):
    got = get_stats(day, day.boss, date_from=DAY, group_by="agent")
    rows = {r["key"]: flat(r) for r in got["rows"]}
    alice, bob, carol = (str(x.user.id) for x in (day.alice, day.bob, day.carol))
    assert set(rows) == {alice, bob, carol, ""}
    assert rows[alice] == figures(
        inbound=1,
        outbound=1,
        offered=1,
        answered=1,
        outbound_answered=1,
        handled=2,
        avg_wait=21.0,
        avg_answer_speed=21.0,
        avg_talk=165.0,
        avg_hold=15.0,
        avg_handle=205.0,  # (270 + 60 + 30 + 20 + 30) / 2
        service_level=0.0,
        abandon_rate=0.0,
    )
    # The transferred call is bob's, who finished it; its handling includes both wrap-ups.
    assert rows[bob] == figures(
        inbound=1,
        offered=1,
        answered=1,
        answered_in_threshold=1,
        handled=1,
        avg_wait=14.0,
        avg_answer_speed=14.0,
        avg_talk=386.0,
        avg_hold=0.0,
        avg_handle=426.0,
        service_level=1.0,
        abandon_rate=0.0,
    )
    assert rows[carol]["handled"] == 1 and rows[carol]["avg_handle"] == 90.0
    assert rows[""] == figures(
        inbound=4, offered=3, abandoned=2, missed=1, self_service=1,
        avg_wait=114.0, service_level=0.0, abandon_rate=0.6667,
    )  # fmt: skip


def test_the_data_scope_decides_which_calls_count(day):
    north = get_stats(day, day.north_lead, date_from=DAY, group_by="day")["total"]
    # The north's agents' calls and the unanswered calls of its queue; not F (no queue, no agent), not G.
    assert (north["inbound"], north["outbound"], north["offered"]) == (5, 1, 5)
    assert (north["answered"], north["abandoned"], north["missed"], north["self_service"]) == (2, 2, 1, 0)
    south = get_stats(day, day.south_lead, date_from=DAY, group_by="queue")
    assert [r["key"] for r in south["rows"]] == [str(day.south_queue.id)]
    assert south["total"]["answered"] == 1 and south["total"]["inbound"] == 1
    # Own scope: the calls one took.
    day.bob.user.roles.append(day.factory.role(["callcenter.calls.view"], scope=DataScope.OWN))
    day.session.flush()
    own = get_stats(day, day.bob, date_from=DAY, group_by="agent")
    assert [r["key"] for r in own["rows"]] == [str(day.bob.user.id)]
    # Taking calls is not seeing the statistics.
    get_stats(day, day.alice, expect=403, date_from=DAY)
    assert day.client.get("/api/v1/callcenter/stats").status_code == 401


def test_bad_filters_are_refused_naming_the_field(day):
    def refused(**params):
        r = day.client.get("/api/v1/callcenter/stats", params=params, headers=day.boss.headers)
        assert r.status_code == 422, r.text
        return r.json()["detail"][0]["loc"][-1]

    assert refused(date_from=DAY, date_to="2026-11-19") == "date_to"
    assert refused(date_from="2026-01-01", date_to="2026-03-01", group_by="hour") == "date_to"
    assert refused(date_from="2026-13-01") == "date_from"
    assert refused(group_by="week") == "group_by"
    assert refused(threshold=0) == "threshold"
    assert refused(queue_id=999999) == "queue_id"
    # 31 days of hours and a year of days are fine.
    got = get_stats(day, day.boss, date_from="2026-11-01", date_to="2026-12-01", group_by="hour")
    assert len(got["rows"]) == 31 * 24 and got["total"]["inbound"] == 8
    assert (
        len(get_stats(day, day.boss, date_from="2026-01-01", date_to="2026-12-31", group_by="day")["rows"])
        == 365
    )


def test_today_is_the_default_range(day):
    with clock.freeze(T0 + timedelta(hours=5)):
        got = get_stats(day, day.boss, group_by="day")
    assert got["filter"]["date_from"] == got["filter"]["date_to"] == DAY
    assert flat(got["rows"][0]) == DAY_TOTAL


def test_export_as_csv_and_excel(day):
    r = day.client.get(
        "/api/v1/callcenter/stats/export",
        params={"date_from": DAY, "group_by": "queue", "format": "csv"},
        headers=day.boss.headers,
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0][:5] == ["队列", "呼入量", "呼出量", "转人工量", "接通量"]
    by_label = {line[0]: line for line in lines[1:]}
    assert set(by_label) == {"南区热线", "服务热线", "无队列", "合计"} and lines[-1][0] == "合计"
    hotline = by_label["服务热线"]
    header = lines[0]
    col = {name: i for i, name in enumerate(header)}
    assert hotline[col["呼入量"]] == "5" and hotline[col["放弃量"]] == "2"
    assert hotline[col["服务水平（%）"]] == "20.0" and hotline[col["平均处理时长（秒）"]] == "373.0"
    total = by_label["合计"]
    assert total[col["转人工量"]] == "6" and total[col["放弃率（%）"]] == "33.33"
    audit = day.session.scalars(select(AuditLog).where(AuditLog.action == "calls.stats.export")).all()
    assert len(audit) == 1 and audit[0].actor_id == day.boss.user.id

    x = day.client.get(
        "/api/v1/callcenter/stats/export",
        params={"date_from": DAY, "group_by": "day", "format": "xlsx"},
        headers=day.boss.headers,
    )
    assert x.status_code == 200
    sheet = load_workbook(io.BytesIO(x.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "日期" and values[1][0] == DAY and values[-1][0] == "合计"
    assert values[1][1:5] == [7, 1, 6, 3]
    # Viewing is not exporting.
    denied = day.client.get("/api/v1/callcenter/stats/export", headers=day.north_lead.headers)
    assert denied.status_code == 403


def test_the_statistics_page(day):
    client = day.client
    browser_login(client, day.north_lead.user.username)
    page = client.get("/callcenter/stats", params={"date_from": DAY, "group_by": "day"})
    assert page.status_code == 200
    assert 'id="stats-chart"' in page.text and 'id="stats-data"' in page.text
    row = page.text.split(f'data-key="{DAY}"')[1].split("</tr>")[0]
    assert 'data-col="inbound">5<' in row and 'data-col="abandoned">2<' in row
    assert 'id="export-csv"' not in page.text  # the lead may not export
    bad = client.get("/callcenter/stats", params={"date_from": DAY, "date_to": "2026-11-01"})
    assert bad.status_code == 422 and 'data-error-for="date_to"' in bad.text
    bad = client.get("/callcenter/stats", params={"date_from": "yesterday"})
    assert bad.status_code == 422 and 'data-error-for="date_from"' in bad.text
    client.cookies.clear()
    browser_login(client, day.boss.user.username)
    page = client.get("/callcenter/stats", params={"date_from": DAY, "group_by": "queue"})
    assert 'id="export-csv"' in page.text
    export = client.get(f"/callcenter/stats/export?format=csv&date_from={DAY}&group_by=queue")
    assert export.status_code == 200 and "服务热线" in export.content.decode("utf-8-sig")
    client.cookies.clear()
    browser_login(client, day.alice.user.username)
    assert client.get("/callcenter/stats").status_code == 403
    assert client.get("/callcenter/stats/export").status_code == 403


def test_buckets_follow_daylight_saving_time():
    """Local hours and days in a zone with DST: 23 and 25 hour days, no bucket lost or doubled."""
    try:
        clock.set_local_tz("America/New_York")
        spring = stats.time_buckets(date(2026, 3, 8), date(2026, 3, 8), 60)
        assert len(spring) - 1 == 23
        autumn = stats.time_buckets(date(2026, 11, 1), date(2026, 11, 1), 60)
        assert len(autumn) - 1 == 24 and autumn[-1] - autumn[0] == timedelta(hours=25)
        days = stats.time_buckets(date(2026, 3, 7), date(2026, 3, 9), 24 * 60)
        assert [b - a for a, b in itertools.pairwise(days)] == [
            timedelta(hours=24),
            timedelta(hours=23),
            timedelta(hours=24),
        ]
    finally:
        clock.set_local_tz("Asia/Shanghai")
    bounds = stats.time_buckets(date(2026, 11, 20), date(2026, 11, 20), 30)
    assert len(bounds) == 49 and bounds[0] == datetime(2026, 11, 19, 16, 0, tzinfo=clock.UTC)
