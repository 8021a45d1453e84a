"""Whom an announcement reaches (NTC-1): departments with or without their subtree, roles, people,
everyone — only active staff, bounded by the publisher's data scope, fixed when it is published."""

from __future__ import annotations

from kefu.notices.announcement_models import AnnouncementRecipient
from tests.api.announcements.conftest import MANAGE, Center, ids


def test_a_department_with_its_subtree_reaches_everyone_below_it(center: Center):
    a = center.publish(department_ids=[center.center.id], include_subdepartments=True)
    expected = ids(center.agent_a, center.agent_a1, center.agent_b, center.leader_a, center.leader_b)
    assert center.recipients(a["id"]) == expected  # not IT, not the disabled account
    assert a["counts"] == {"total": len(expected), "read": 0, "unread": len(expected)}
    assert a["audience_names"] == {"departments": ["客服中心"]}


def test_a_department_without_its_subtree_reaches_only_its_own_members(center: Center):
    a = center.publish(department_ids=[center.team_a.id], include_subdepartments=False)
    assert center.recipients(a["id"]) == ids(center.agent_a, center.leader_a)
    b = center.publish(department_ids=[center.team_a.id], include_subdepartments=True)
    assert center.recipients(b["id"]) == ids(center.agent_a, center.agent_a1, center.leader_a)


def test_a_role_reaches_its_holders_anywhere_and_parts_add_up_without_doubles(center: Center):
    a = center.publish(role_ids=[center.agent_role.id])
    assert center.recipients(a["id"]) == ids(center.agent_a, center.agent_a1, center.agent_b)
    both = center.publish(
        role_ids=[center.agent_role.id],
        department_ids=[center.it.id],
        user_ids=[center.leader_b.user.id, center.agent_a.user.id],
    )
    expected = ids(center.agent_a, center.agent_a1, center.agent_b, center.leader_b)
    expected |= ids(center.it_person, center.admin, center.viewer, center.nobody)
    assert center.recipients(both["id"]) == expected
    rows = center.session.query(AnnouncementRecipient).filter_by(announcement_id=both["id"]).count()
    assert rows == len(expected)


def test_all_staff_means_every_active_person(center: Center):
    from sqlalchemy import select

    from kefu.org.models import User

    a = center.publish(audience_all=True)
    active = set(center.session.scalars(select(User.id).where(User.is_active.is_(True))))
    assert center.recipients(a["id"]) == active
    assert center.disabled.id not in active


def test_an_empty_audience_or_one_without_anybody_is_refused(center: Center):
    empty = center.create(expect=422)
    assert [d["loc"][-1] for d in empty["detail"]] == ["audience"]
    lonely = center.factory.department("空部门")
    draft = center.create(department_ids=[lonely.id])
    r = center.call("POST", f"{MANAGE}/{draft['id']}/publish", center.admin, expect=422)
    assert r["detail"][0]["loc"] == ["body", "audience"]
    assert center.recipients(draft["id"]) == set()


def test_unknown_departments_roles_and_people_are_named(center: Center):
    r = center.create(department_ids=[999999], role_ids=[999998], user_ids=[center.disabled.id], expect=422)
    assert {d["loc"][-1] for d in r["detail"]} == {"department_ids", "role_ids", "user_ids"}
    assert "999999" in next(d["msg"] for d in r["detail"] if d["loc"][-1] == "department_ids")


def test_a_subtree_publisher_addresses_only_their_subtree(center: Center):
    leader = center.leader_a
    outside = center.create(leader, department_ids=[center.team_b.id], expect=422)
    assert outside["detail"][0]["loc"][-1] == "department_ids" and "一线二组" in outside["detail"][0]["msg"]
    everyone = center.create(leader, audience_all=True, expect=422)
    assert everyone["detail"][0]["loc"][-1] == "audience_all"
    person = center.create(leader, user_ids=[center.agent_b.user.id], expect=422)
    assert person["detail"][0]["loc"][-1] == "user_ids"
    # A role reaches its holders inside the leader's subtree only.
    a = center.publish(leader, role_ids=[center.agent_role.id])
    assert center.recipients(a["id"]) == ids(center.agent_a, center.agent_a1)
    b = center.publish(leader, department_ids=[center.team_a1.id])
    assert center.recipients(b["id"]) == ids(center.agent_a1)


def test_a_department_publisher_addresses_only_their_own_department(center: Center):
    leader = center.leader_b
    center.create(leader, department_ids=[center.center.id], expect=422)
    a = center.publish(leader, department_ids=[center.team_b.id], include_subdepartments=True)
    assert center.recipients(a["id"]) == ids(center.agent_b, center.leader_b)
    a = center.publish(leader, role_ids=[center.agent_role.id])
    assert center.recipients(a["id"]) == ids(center.agent_b)


def test_recipients_are_fixed_when_published(center: Center):
    a = center.publish(department_ids=[center.team_a.id])
    before = center.recipients(a["id"])
    # The organisation changes afterwards: a newcomer, a move, a departure.
    newcomer = center.factory.token_login(center.factory.user(department=center.team_a))
    center.agent_a.user.department_id = center.it.id
    center.agent_a1.user.is_active = False
    center.session.flush()
    assert center.recipients(a["id"]) == before
    assert center.mine(newcomer)["items"] == []
    assert [i["id"] for i in center.mine(center.agent_a)["items"]] == [a["id"]]
    receipts = center.call("GET", f"{MANAGE}/{a['id']}/receipts", center.admin)
    row = next(r for r in receipts["items"] if r["user_id"] == center.agent_a.user.id)
    assert row["department"] == "一线一组"  # the department at publishing
    assert receipts["counts"]["total"] == len(before)
    # A draft, by contrast, is resolved when it is published.
    draft = center.create(department_ids=[center.team_a.id])
    center.call("POST", f"{MANAGE}/{draft['id']}/publish", center.admin)
    assert newcomer.user.id in center.recipients(draft["id"])
    assert center.agent_a.user.id not in center.recipients(draft["id"])
