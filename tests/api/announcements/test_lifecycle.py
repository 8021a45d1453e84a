"""An announcement's life (NTC-1): draft → published → withdrawn by explicit transitions, every step
audited; bad input is a 422 naming each field with nothing written; recipients are told live only
when the transaction commits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from kefu.audit import service as audit_service
from kefu.audit.models import AuditLog
from kefu.core import clock
from kefu.notices import announcements as service
from kefu.notices.announcement_models import Announcement
from kefu.notices.jobs import deliver_due_announcements
from tests.api.announcements.conftest import API, MANAGE, Center, ids


def _audits(center: Center, announcement_id: int) -> list[str]:
    stmt = (
        select(AuditLog.action)
        .where(AuditLog.target_type == "announcement", AuditLog.target_id == str(announcement_id))
        .order_by(AuditLog.id)
    )
    return list(center.session.scalars(stmt))


def test_draft_publish_withdraw_with_explicit_transitions(center: Center):
    draft = center.create(department_ids=[center.team_b.id], priority="important")
    assert draft["status"] == "draft" and draft["counts"]["total"] == 0
    aid = draft["id"]
    center.call("GET", f"{API}/{aid}", center.agent_b, expect=404)  # a draft reaches nobody
    changed = center.call(
        "PUT",
        f"{MANAGE}/{aid}",
        center.admin,
        {
            "title": "计费系统割接（更新）",
            "body": "<p>改为 23:00。</p>",
            "department_ids": [center.team_b.id],
        },
    )
    assert changed["title"] == "计费系统割接（更新）" and changed["priority"] == "normal"
    published = center.call("POST", f"{MANAGE}/{aid}/publish", center.admin)
    assert published["status"] == "published" and published["published_at"]
    assert published["counts"]["total"] == 2
    assert center.call("GET", f"{API}/{aid}", center.agent_b)["title"] == "计费系统割接（更新）"
    # No second publish, no edits or deletion once published.
    center.call("POST", f"{MANAGE}/{aid}/publish", center.admin, expect=409)
    center.call(
        "PUT",
        f"{MANAGE}/{aid}",
        center.admin,
        {"title": "x", "body": "<p>y</p>", "audience_all": True},
        expect=409,
    )
    center.call("DELETE", f"{MANAGE}/{aid}", center.admin, expect=409)
    withdrawn = center.call("POST", f"{MANAGE}/{aid}/withdraw", center.admin, {"reason": "内容有误"})
    assert withdrawn["status"] == "withdrawn" and withdrawn["withdraw_reason"] == "内容有误"
    center.call("GET", f"{API}/{aid}", center.agent_b, expect=404)
    assert center.mine(center.agent_b) == {"unread": 0, "items": []}
    center.call("POST", f"{MANAGE}/{aid}/withdraw", center.admin, {}, expect=409)
    center.call("POST", f"{MANAGE}/{aid}/publish", center.admin, expect=409)
    assert _audits(center, aid) == [
        "announcement.create",
        "announcement.update",
        "announcement.publish",
        "announcement.withdraw",
    ]


def test_a_draft_can_be_deleted(center: Center):
    draft = center.create(audience_all=True)
    center.call("DELETE", f"{MANAGE}/{draft['id']}", center.admin, expect=204)
    center.call("GET", f"{MANAGE}/{draft['id']}", center.admin, expect=404)
    assert _audits(center, draft["id"]) == ["announcement.create", "announcement.delete"]


def test_bad_input_names_every_field_and_writes_nothing(center: Center):
    before = (center.announcement_count(), center.recipient_rows())
    r = center.create(
        title="  ",
        body="<script>alert(1)</script>",
        role_ids=[999999],
        starts_at="2026-05-02T10:00:00+08:00",
        ends_at="2026-05-01T10:00:00+08:00",
        expect=422,
    )
    assert {d["loc"][-1] for d in r["detail"]} == {"title", "body", "role_ids", "ends_at"}
    # A valid draft whose publishing fails (its window has passed) leaves neither draft nor recipients.
    r = center.publish(audience_all=True, ends_at="2020-01-01T00:00:00+08:00", expect=422)
    assert r["detail"][0]["loc"] == ["body", "ends_at"]
    assert (center.announcement_count(), center.recipient_rows()) == before
    # Unknown priorities are refused by the schema, naming the field too.
    r = center.create(audience_all=True, priority="panic", expect=422)
    assert r["detail"][0]["loc"][-1] == "priority"


def test_rich_text_is_sanitised(center: Center):
    body = (
        '<p onclick="steal()">请<b>立即</b>处理<img src=x onerror=alert(1)></p>'
        '<script>x()</script><a href="javascript:x()">链接</a>'
    )
    a = center.publish(audience_all=True, body=body)
    assert a["body"] == '<p>请<b>立即</b>处理</p><a rel="noopener noreferrer">链接</a>'


def test_recipients_are_told_when_the_transaction_commits(center: Center):
    a = center.publish(department_ids=[center.team_a.id], priority="urgent")
    [event] = center.events(service.PUBLISHED, a["id"])
    assert set(event.audience or ()) == ids(center.agent_a, center.agent_a1, center.leader_a)
    assert event.data["must_acknowledge"] and event.data["pops_up"] and "割接" in event.data["body"]


def test_no_event_and_no_recipients_when_the_transaction_rolls_back(center: Center, monkeypatch):
    draft = center.create(department_ids=[center.team_a.id], priority="urgent")
    original = audit_service.record

    def fail_on_publish(*args, **kwargs):
        original(*args, **kwargs)
        if kwargs.get("action") == "announcement.publish":
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(audit_service, "record", fail_on_publish)
    r = center.client.post(f"{MANAGE}/{draft['id']}/publish", headers=center.admin.headers)
    assert r.status_code == 500
    monkeypatch.setattr(audit_service, "record", original)
    assert center.events(service.PUBLISHED, draft["id"]) == []
    assert center.recipients(draft["id"]) == set()
    assert center.call("GET", f"{MANAGE}/{draft['id']}", center.admin)["status"] == "draft"


def test_the_service_defers_the_event_to_commit(center: Center):
    from kefu.db import db

    draft = center.create(department_ids=[center.team_b.id])
    for commit in (False, True):
        with db.session() as unit:
            actor = center.factory.actor(unit.get(type(center.admin.user), center.admin.user.id))
            service.publish(unit, actor=actor, announcement=unit.get(Announcement, draft["id"]))
            unit.flush()
            assert center.events(service.PUBLISHED, draft["id"]) == []  # not before commit
            if commit:
                unit.commit()
            else:
                unit.rollback()
        published = center.events(service.PUBLISHED, draft["id"])
        assert len(published) == (1 if commit else 0)
        status = center.call("GET", f"{MANAGE}/{draft['id']}", center.admin)["status"]
        assert status == ("published" if commit else "draft")


def test_a_later_start_is_delivered_by_the_minute_job_once(center: Center):
    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with clock.freeze(t0):
        a = center.publish(
            department_ids=[center.team_b.id], priority="urgent", starts_at="2026-03-02T09:30:00Z"
        )
        assert center.events(service.PUBLISHED, a["id"]) == []
        assert center.mine(center.agent_b)["items"] == []
        assert deliver_due_announcements() == 0
        clock.advance(timedelta(hours=1, minutes=31))
        assert deliver_due_announcements() == 1
        assert deliver_due_announcements() == 0
        [event] = center.events(service.PUBLISHED, a["id"])
        assert set(event.audience or ()) == ids(center.agent_b, center.leader_b)
        assert [i["id"] for i in center.mine(center.agent_b)["items"]] == [a["id"]]


def test_withdrawing_takes_it_off_the_screens_of_those_who_have_not_read_it(center: Center):
    a = center.publish(department_ids=[center.team_b.id], priority="urgent")
    center.call("POST", f"{API}/{a['id']}/read", center.agent_b)
    center.call("POST", f"{MANAGE}/{a['id']}/withdraw", center.admin, {})
    [event] = center.events(service.WITHDRAWN, a["id"])
    assert set(event.audience or ()) == ids(center.leader_b)


@pytest.mark.parametrize("priority", ["normal", "important", "urgent"])
def test_priorities_decide_how_it_pops_up(center: Center, priority: str):
    a = center.publish(user_ids=[center.agent_a.user.id], priority=priority)
    [event] = center.events(service.PUBLISHED, a["id"])
    assert event.data["pops_up"] is (priority != "normal")
    assert event.data["must_acknowledge"] is (priority == "urgent")
