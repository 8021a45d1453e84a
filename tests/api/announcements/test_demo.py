"""Demo announcements: written once on top of the demo organisation, visible to the right people."""

from __future__ import annotations

from sqlalchemy import func, select

from kefu import demo
from kefu.core.permissions import build_actor
from kefu.notices import announcement_access as access
from kefu.notices import announcement_demo
from kefu.notices.announcement_models import Announcement
from kefu.org.models import User


def test_demo_announcements_are_idempotent_and_addressed(session):
    demo.seed(session)  # writes the demo announcements as part of the demo
    assert session.scalar(select(func.count(Announcement.id))) == 3
    assert announcement_demo.seed(session) == 0
    users = {u.username: u for u in session.scalars(select(User))}
    titles = {a.title for a, _ in access.inbox(session, user_id=users["agent01"].id)}
    assert titles == {"关于春节期间值班安排的通知", "新版宽带资费答复口径"}
    it_titles = {a.title for a, _ in access.inbox(session, user_id=users["admin"].id)}
    assert it_titles == {"关于春节期间值班安排的通知"}
    assert access.pending_acknowledgements(session, users["agent01"].id) == []  # nothing pops up
    leader = build_actor(session, users["leader01"])
    draft = session.scalars(select(Announcement).where(Announcement.status == "draft")).one()
    assert access.managed(session, leader, draft.id, need_publish=True).priority == "urgent"
