"""Who may do what (NTC-1): reading needs only login but shows only what is addressed to one (404
otherwise); managing needs `notices.announcements.*` (403 without) within its data scope (404
outside); files follow their announcement."""

from __future__ import annotations

from sqlalchemy import select

from kefu.core import storage
from kefu.notices.announcement_models import AnnouncementAttachment
from kefu.org.models import DataScope
from tests.api.announcements.conftest import API, MANAGE, PUBLISH, Center


def test_reading_needs_login_and_shows_only_what_is_addressed_to_me(center: Center):
    a = center.publish(department_ids=[center.team_a.id])
    aid = a["id"]
    assert center.client.get(API).status_code == 401
    for outsider in (center.agent_b, center.it_person, center.admin):
        center.call("GET", f"{API}/{aid}", outsider, expect=404)
        center.call("POST", f"{API}/{aid}/read", outsider, expect=404)
        assert center.mine(outsider)["items"] == []
    center.call("GET", f"{API}/999999", center.agent_a, expect=404)
    assert center.call("GET", f"{API}/{aid}", center.agent_a)["id"] == aid


def test_managing_needs_the_permission(center: Center):
    a = center.publish(audience_all=True)
    body = {"title": "t", "body": "<p>b</p>", "audience_all": True}
    for method, path, payload in [
        ("GET", MANAGE, None),
        ("POST", MANAGE, body),
        ("GET", f"{MANAGE}/{a['id']}", None),
        ("GET", f"{MANAGE}/{a['id']}/receipts", None),
        ("POST", f"{MANAGE}/{a['id']}/remind", None),
        ("POST", f"{MANAGE}/{a['id']}/withdraw", {}),
    ]:
        center.call(method, path, center.nobody, payload, expect=403)
    # Viewing is not publishing.
    assert center.call("GET", f"{MANAGE}/{a['id']}/receipts", center.viewer)["counts"]["total"] > 0
    center.call("POST", f"{MANAGE}/{a['id']}/withdraw", center.viewer, {}, expect=403)
    center.call("POST", MANAGE, center.viewer, body, expect=403)


def test_publishers_manage_only_within_their_data_scope(center: Center):
    by_admin = center.publish(audience_all=True)
    by_b = center.publish(center.leader_b, department_ids=[center.team_b.id])
    by_a = center.create(center.leader_a, department_ids=[center.team_a.id])
    # leader_b (department scope) sees and acts on team B's announcements only.
    center.call("GET", f"{MANAGE}/{by_admin['id']}", center.leader_b, expect=404)
    center.call("POST", f"{MANAGE}/{by_admin['id']}/withdraw", center.leader_b, {}, expect=404)
    center.call("POST", f"{MANAGE}/{by_a['id']}/publish", center.leader_b, expect=404)
    listed = {i["id"] for i in center.call("GET", MANAGE, center.leader_b)["items"]}
    assert listed == {by_b["id"]}
    # A colleague of the same department with the same scope may take over.
    colleague = center.factory.token_login(
        center.factory.user(PUBLISH, scope=DataScope.DEPARTMENT, department=center.team_b)
    )
    center.call("POST", f"{MANAGE}/{by_b['id']}/withdraw", colleague, {})
    # The subtree leader sees their subtree's; the administrator and the viewer see everything.
    assert {i["id"] for i in center.call("GET", MANAGE, center.leader_a)["items"]} == {by_a["id"]}
    everything = {i["id"] for i in center.call("GET", MANAGE, center.viewer)["items"]}
    assert {by_admin["id"], by_b["id"], by_a["id"]} <= everything


def test_files_on_drafts_reach_the_recipients(center: Center):
    draft = center.create(department_ids=[center.team_a.id])
    aid = draft["id"]
    up = center.client.post(
        f"{MANAGE}/{aid}/attachments",
        files={"file": ("排班表.pdf", b"%PDF-1.4 roster", "application/pdf")},
        headers=center.admin.headers,
    )
    assert up.status_code == 201, up.text
    file_id = up.json()["id"]
    bad = center.client.post(
        f"{MANAGE}/{aid}/attachments",
        files={"file": ("run.exe", b"MZ", "application/octet-stream")},
        headers=center.admin.headers,
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "file"
    center.call("POST", f"{MANAGE}/{aid}/publish", center.admin)
    url = f"{API}/{aid}/attachments/{file_id}"
    got = center.client.get(url, headers=center.agent_a.headers)
    assert got.status_code == 200 and got.content == b"%PDF-1.4 roster"
    assert "filename*=UTF-8''%E6%8E%92" in got.headers["content-disposition"]
    assert center.client.get(url, headers=center.agent_b.headers).status_code == 404
    assert center.client.get(url, headers=center.admin.headers).status_code == 200  # manages it
    assert center.call("GET", f"{API}/{aid}", center.agent_a)["attachments"][0]["filename"] == "排班表.pdf"
    # What recipients were given does not change under them.
    late = center.client.post(
        f"{MANAGE}/{aid}/attachments",
        files={"file": ("x.pdf", b"%PDF", "application/pdf")},
        headers=center.admin.headers,
    )
    assert late.status_code == 409
    center.call("DELETE", f"{MANAGE}/{aid}/attachments/{file_id}", center.admin, expect=409)


def test_removing_a_file_from_a_draft_deletes_it_after_commit(center: Center):
    draft = center.create(audience_all=True)
    up = center.client.post(
        f"{MANAGE}/{draft['id']}/attachments",
        files={"file": ("a.txt", b"hello", "text/plain")},
        headers=center.admin.headers,
    ).json()
    key = center.session.scalars(
        select(AnnouncementAttachment.storage_key).where(AnnouncementAttachment.id == up["id"])
    ).one()
    assert storage.get_storage().exists(key)
    center.call("DELETE", f"{MANAGE}/{draft['id']}/attachments/{up['id']}", center.admin, expect=204)
    assert not storage.get_storage().exists(key)
    assert center.call("GET", f"{MANAGE}/{draft['id']}", center.admin)["attachments"] == []
