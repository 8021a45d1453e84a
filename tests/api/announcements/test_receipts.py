"""Read receipts (NTC-1): a recipient's acknowledgement is recorded once; the publisher sees counts,
counts per department and who has not read; a reminder tells the unread again; only announcements
inside their validity window are shown."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, func, select

from kefu.audit.models import AuditLog
from kefu.core import clock
from kefu.notices import announcements as service
from kefu.notices.models import Notification
from tests.api.announcements.conftest import API, MANAGE, Center, ids


def _read_audits(center: Center, announcement_id: int) -> int:
    stmt = select(func.count()).where(
        AuditLog.action == "announcement.read", AuditLog.target_id == str(announcement_id)
    )
    return center.session.scalar(stmt) or 0


def test_acknowledging_records_the_receipt_once(center: Center):
    a = center.publish(department_ids=[center.center.id], priority="urgent")
    aid = a["id"]
    assert center.mine(center.agent_a)["unread"] == 1
    first = center.call("POST", f"{API}/{aid}/read", center.agent_a)
    assert first["read_at"] and first["unread"] == 0
    again = center.call("POST", f"{API}/{aid}/read", center.agent_a)
    assert again["read_at"] == first["read_at"]
    assert _read_audits(center, aid) == 1
    assert center.call("GET", f"{API}/{aid}", center.agent_a)["read_at"] == first["read_at"]
    [read_event] = center.events(service.READ, aid)
    assert read_event.audience == (center.agent_a.user.id,)


def test_the_publisher_sees_counts_and_who_has_not_read(center: Center):
    a = center.publish(department_ids=[center.center.id])
    aid = a["id"]
    for who in (center.agent_a, center.agent_b):
        center.call("POST", f"{API}/{aid}/read", who)
    report = center.call("GET", f"{MANAGE}/{aid}/receipts", center.admin)
    assert report["counts"] == {"total": 5, "read": 2, "unread": 3}
    by_dept = {d["department"]: (d["read"], d["total"]) for d in report["departments"]}
    assert by_dept == {"一线一组": (1, 2), "一线一组夜班": (0, 1), "一线二组": (1, 2)}
    unread = center.call("GET", f"{MANAGE}/{aid}/receipts?read=false", center.admin)["items"]
    assert {r["user_id"] for r in unread} == ids(center.agent_a1, center.leader_a, center.leader_b)
    assert all(r["read_at"] is None for r in unread)
    read = center.call("GET", f"{MANAGE}/{aid}/receipts?read=true", center.admin)["items"]
    assert {r["user_id"] for r in read} == ids(center.agent_a, center.agent_b)
    listed = center.call("GET", MANAGE, center.viewer)["items"]
    assert next(i for i in listed if i["id"] == aid)["counts"] == {"total": 5, "read": 2, "unread": 3}


def test_remind_tells_the_unread_again(center: Center):
    t0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    with clock.freeze(t0):
        a = center.publish(department_ids=[center.team_b.id], priority="urgent")
        aid = a["id"]
        center.call("POST", f"{API}/{aid}/read", center.agent_b)
        assert center.call("POST", f"{MANAGE}/{aid}/remind", center.admin) == {"reminded": 1}
        reminders = center.session.scalars(
            select(Notification).where(
                Notification.target_type == "announcement", Notification.target_id == str(aid)
            )
        ).all()
        assert [n.user_id for n in reminders] == [center.leader_b.user.id]
        assert reminders[0].link == f"/announcements/{aid}" and a["title"] in reminders[0].title
        pushes = center.events(service.PUBLISHED, aid)
        assert (
            len(pushes) == 2
            and pushes[1].data["reminder"]
            and pushes[1].audience == (center.leader_b.user.id,)
        )
        unread = center.call("GET", f"{MANAGE}/{aid}/receipts?read=false", center.admin)["items"]
        assert unread[0]["remind_count"] == 1 and unread[0]["reminded_at"]
        # Not twice within a minute; again after it.
        center.call("POST", f"{MANAGE}/{aid}/remind", center.admin, expect=409)
        clock.advance(timedelta(minutes=1))
        assert center.call("POST", f"{MANAGE}/{aid}/remind", center.admin) == {"reminded": 1}
        center.call("POST", f"{API}/{aid}/read", center.leader_b)
        clock.advance(timedelta(minutes=1))
        r = center.call("POST", f"{MANAGE}/{aid}/remind", center.admin, expect=409)
        assert r["detail"] == "所有人都已阅读此公告"


def test_a_normal_reminder_is_a_message_without_a_pop_up(center: Center):
    a = center.publish(user_ids=[center.agent_a.user.id])
    center.call("POST", f"{MANAGE}/{a['id']}/remind", center.admin)
    assert len(center.events(service.PUBLISHED, a["id"])) == 1  # only the publishing itself
    assert center.client.get("/api/v1/notifications", headers=center.agent_a.headers).json()["unread"] == 1


def test_only_announcements_inside_their_validity_window_are_shown(center: Center):
    t0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    with clock.freeze(t0):
        a = center.publish(
            user_ids=[center.agent_a.user.id],
            starts_at="2026-03-02T10:00:00+08:00",
            ends_at="2026-03-02T18:00:00+08:00",
        )
        aid = a["id"]
        assert a["starts_at"].startswith("2026-03-02T02:00")
        assert center.mine(center.agent_a) == {"unread": 0, "items": []}
        center.call("GET", f"{API}/{aid}", center.agent_a, expect=404)
        center.call("POST", f"{API}/{aid}/read", center.agent_a, expect=404)
        center.call("POST", f"{MANAGE}/{aid}/remind", center.admin, expect=409)
        clock.advance(timedelta(hours=2))  # 10:00 in Beijing
        assert [i["id"] for i in center.mine(center.agent_a)["items"]] == [aid]
        assert center.mine(center.agent_a)["unread"] == 1
        clock.advance(timedelta(hours=8))  # 18:00: the end is exclusive
        assert center.mine(center.agent_a) == {"unread": 0, "items": []}
        center.call("GET", f"{API}/{aid}", center.agent_a, expect=404)
        # The publisher still sees it, with its receipts.
        assert center.call("GET", f"{MANAGE}/{aid}", center.admin)["counts"]["total"] == 1


def test_times_without_a_zone_are_the_deployments(center: Center):
    a = center.create(audience_all=True, starts_at="2026-03-02T10:00:00", ends_at="2026-03-03T10:00:00")
    assert a["starts_at"].startswith("2026-03-02T02:00") and a["ends_at"].startswith("2026-03-03T02:00")


def test_my_list_is_newest_first_and_filters_unread(center: Center):
    first = center.publish(user_ids=[center.agent_a.user.id], title="第一条")
    second = center.publish(role_ids=[center.agent_role.id], title="第二条")
    center.call("POST", f"{API}/{second['id']}/read", center.agent_a)
    mine = center.mine(center.agent_a)
    assert [i["id"] for i in mine["items"]] == [second["id"], first["id"]]
    assert mine["unread"] == 1 and mine["items"][0]["read_at"] and mine["items"][1]["read_at"] is None
    assert [i["id"] for i in center.mine(center.agent_a, unread_only="true")["items"]] == [first["id"]]


@contextmanager
def _statements(engine):
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_list_query_counts_do_not_grow_with_rows(center: Center, engine):
    def lists() -> tuple[int, int]:
        center.client.get(MANAGE, headers=center.admin.headers)  # warm: sign-in bookkeeping settles
        center.client.get(API, headers=center.agent_a.headers)
        with _statements(engine) as managed:
            assert center.client.get(MANAGE, headers=center.admin.headers).status_code == 200
        with _statements(engine) as mine:
            assert center.client.get(API, headers=center.agent_a.headers).status_code == 200
        return len(managed), len(mine)

    def one() -> None:
        a = center.create(role_ids=[center.agent_role.id])
        center.client.post(
            f"{MANAGE}/{a['id']}/attachments",
            files={"file": ("a.txt", b"a", "text/plain")},
            headers=center.admin.headers,
        )
        center.call("POST", f"{MANAGE}/{a['id']}/publish", center.admin)

    one()
    before = lists()
    for _ in range(4):
        one()
    assert center.mine(center.agent_a)["unread"] == 5
    assert lists() == before
