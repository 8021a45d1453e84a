"""Demo announcements for `kefu demo` (called after the demo organisation exists). Idempotent.

Team leaders get the right to publish to their own team. The demo publishes nothing urgent: an urgent
announcement would pop up over every demo agent's first page until acknowledged.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import clock
from kefu.core.permissions import build_actor
from kefu.notices import announcements
from kefu.notices.announcement_audience import Audience
from kefu.notices.announcement_models import Announcement, Priority
from kefu.notices.permissions import ANNOUNCEMENTS, PUBLISH
from kefu.org.models import Department, Role, User, UserGroup

ANNOUNCEMENTS_DEMO = [
    # author, title, body, priority, audience (department codes, with sub-departments), days valid, publish
    (
        "admin",
        "关于春节期间值班安排的通知",
        "<p>春节期间（除夕至初六）客服热线 7×24 小时服务不变，请各班组按排班表到岗。</p>"
        "<ul><li>值班长电话：8090</li><li>系统故障请拨打信息技术部值班电话：8000</li></ul>",
        Priority.IMPORTANT,
        None,
        30,
        True,
    ),
    (
        "admin",
        "新版宽带资费答复口径",
        "<p>自下月 1 日起，100M 宽带月费调整为 <strong>49 元</strong>，老用户合约期内资费不变。"
        "客户咨询时请按知识库《宽带资费》一文统一答复。</p>",
        Priority.NORMAL,
        ["KF"],
        60,
        True,
    ),
    (
        "leader01",
        "今晚 22:00 计费系统割接，暂停缴费类业务",
        "<p>割接期间（22:00–次日 02:00）无法办理缴费、充值，请向客户说明并建议次日办理。</p>",
        Priority.URGENT,
        ["KF-L1A"],
        1,
        False,
    ),
]


def _grant_leaders(session: Session) -> None:
    group = session.scalars(select(UserGroup).where(UserGroup.code == "service")).first()
    if group is not None and ANNOUNCEMENTS not in (group.functions or []):
        group.functions = [*(group.functions or []), ANNOUNCEMENTS]
    role = (
        session.scalars(select(Role).where(Role.group_id == group.id, Role.code == "leader")).first()
        if group is not None
        else None
    )
    if role is not None and PUBLISH not in (role.permissions or []):
        role.permissions = [*(role.permissions or []), PUBLISH]
    session.flush()


def seed(session: Session) -> int:
    """Write the demo announcements that are missing; returns how many were written."""
    _grant_leaders(session)
    written = 0
    now = clock.now()
    for username, title, body, priority, dept_codes, days, publish in ANNOUNCEMENTS_DEMO:
        if session.scalars(select(Announcement.id).where(Announcement.title == title)).first():
            continue
        author = session.scalars(select(User).where(User.username == username)).first()
        if author is None:
            continue
        department_ids = (
            list(session.scalars(select(Department.id).where(Department.code.in_(dept_codes))))
            if dept_codes
            else []
        )
        actor = build_actor(session, author)
        draft = announcements.Draft(
            title=title,
            body=body,
            priority=priority,
            audience=Audience.of(all=not dept_codes, department_ids=department_ids),
            ends_at=now + timedelta(days=days),
        )
        announcement = announcements.create(session, actor=actor, draft=draft)
        if publish:
            announcements.publish(session, actor=actor, announcement=announcement)
        written += 1
    return written
