"""Announcement pages: in Chinese, with the menu; the editor re-shows bad input beside each field
without saving anything; publishing from the editor, reading (which records the receipt) and the
publisher's receipt view with who has not read."""

from __future__ import annotations

import re

from kefu.notices.announcement_models import Announcement
from tests.api.announcements.conftest import Center
from tests.support import browser_login


def _post(center: Center, url: str, csrf: str, data: dict, **kw):
    return center.client.post(url, data={"csrf_token": csrf, **data}, follow_redirects=False, **kw)


def test_publish_from_the_editor_then_read_and_see_the_receipt(center: Center):
    csrf = browser_login(center.client, center.admin.user.username)
    page = center.client.get("/announcements/manage/new")
    assert page.status_code == 200 and "新建公告" in page.text and "全体员工" in page.text
    assert "一线一组夜班" in page.text and "紧急" in page.text
    r = _post(
        center,
        "/announcements/manage/new",
        csrf,
        {
            "title": "暴雨天气应急预案",
            "body": "<p>请各班组<strong>立即</strong>启用应急话术。</p>",
            "priority": "urgent",
            "department_ids": [str(center.team_b.id)],
            "include_subdepartments": "on",
            "starts_at": "",
            "ends_at": "",
            "action": "publish",
        },
        files={"files": ("话术.txt", "应急话术".encode(), "text/plain")},
    )
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    aid = int(url.rsplit("/", 1)[1])
    receipts = center.client.get(url)
    assert receipts.status_code == 200
    assert "已发布" in receipts.text and "暴雨天气应急预案" in receipts.text and "话术.txt" in receipts.text
    assert 'id="count-read">0<' in receipts.text and "提醒未读人员" in receipts.text
    unread_names = re.findall(r'<tr data-user="([^"]+)" data-read="false"', receipts.text)
    assert set(unread_names) == {center.agent_b.user.username, center.leader_b.user.username}

    # The recipient's list and the announcement itself; opening it records the receipt.
    center.client.cookies.clear()
    browser_login(center.client, center.agent_b.user.username)
    mine = center.client.get("/announcements")
    assert mine.status_code == 200 and "暴雨天气应急预案" in mine.text and "未读" in mine.text
    detail = center.client.get(f"/announcements/{aid}")
    assert detail.status_code == 200 and "<strong>立即</strong>" in detail.text and "阅读时间" in detail.text
    assert center.client.get("/announcements?unread_only=true").text.count("data-announcement=") == 0

    center.client.cookies.clear()
    browser_login(center.client, center.admin.user.username)
    receipts = center.client.get(f"{url}?show=read")
    assert 'id="count-read">1<' in receipts.text
    assert f'data-user="{center.agent_b.user.username}" data-read="true"' in receipts.text


def test_the_editor_shows_every_problem_and_saves_nothing(center: Center):
    csrf = browser_login(center.client, center.leader_a.user.username)
    before = center.announcement_count()
    r = _post(
        center,
        "/announcements/manage/new",
        csrf,
        {
            "title": "",
            "body": "<p>夜班交接注意事项</p>",
            "priority": "important",
            "department_ids": [str(center.team_b.id)],
            "starts_at": "tomorrow",
            "action": "save",
        },
    )
    assert r.status_code == 422
    assert 'data-error-for="starts_at"' in r.text
    r = _post(
        center,
        "/announcements/manage/new",
        csrf,
        {
            "title": "",
            "body": "<p>夜班交接注意事项</p>",
            "priority": "important",
            "department_ids": [str(center.team_b.id)],
            "action": "save",
        },
    )
    assert r.status_code == 422
    assert 'data-error-for="title"' in r.text and 'data-error-for="department_ids"' in r.text
    assert "夜班交接注意事项" in r.text  # the text comes back as it was sent
    assert "一线二组" in r.text  # named in the message, not offered as a choice
    assert center.announcement_count() == before
    # Saved as a draft, then published from its page where it fails for want of recipients.
    ok = _post(
        center,
        "/announcements/manage/new",
        csrf,
        {
            "title": "交接",
            "body": "<p>x</p>",
            "priority": "normal",
            "department_ids": [str(center.team_a1.id)],
            "action": "save",
        },
    )
    assert ok.status_code == 303
    aid = int(ok.headers["location"].rsplit("/", 1)[1])
    assert center.session.get(Announcement, aid).status == "draft"
    center.agent_a1.user.is_active = False
    center.session.flush()
    failed = _post(center, f"/announcements/manage/{aid}/publish", csrf, {})
    assert failed.status_code == 422 and 'data-error-for="audience"' in failed.text
    center.session.expire_all()
    assert center.session.get(Announcement, aid).status == "draft"


def test_pages_hide_what_is_not_mine(center: Center):
    a = center.publish(department_ids=[center.team_a.id])
    browser_login(center.client, center.agent_b.user.username)
    assert center.client.get(f"/announcements/{a['id']}").status_code == 404
    assert center.client.get("/announcements/manage").status_code == 403
    assert center.client.get(f"/announcements/manage/{a['id']}").status_code == 403
    home = center.client.get("/")
    assert 'data-nav="/announcements"' in home.text and 'data-nav="/announcements/manage"' not in home.text
    assert 'id="announcements-badge"' in home.text and 'id="announcement-modal"' in home.text


def test_the_management_list_shows_states_and_counts(center: Center):
    center.create(title="草稿公告", audience_all=True)
    center.publish(title="已发公告", department_ids=[center.team_b.id])
    browser_login(center.client, center.viewer.user.username)
    page = center.client.get("/announcements/manage")
    assert page.status_code == 200
    assert "草稿公告" in page.text and "已发公告" in page.text and "0 / 2" in page.text
    assert 'id="new-announcement"' not in page.text  # a viewer does not write
    drafts = center.client.get("/announcements/manage?status=draft")
    assert "草稿公告" in drafts.text and "已发公告" not in drafts.text
