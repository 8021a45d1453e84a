"""Demo skills and kefu-routed queues (演示技能与队列, CC-2). Idempotent: what exists is left as it is.

The hotline stays routed by the PBX (as a PBX that only reports calls). The VIP line is routed by
kefu's ACD: it requires the VIP skill, serves VIP callers before gold ones, and after a minute
overflows into the senior agents' line (agents good at billing), where VIP callers still go first.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.callcenter.models import AgentSkill, CallQueue, QueueSkill, QueueStrategy, Skill
from kefu.org.models import User

SKILLS = [("broadband", "宽带"), ("cable_tv", "有线电视"), ("billing", "账务"), ("vip", "VIP")]
LEVELS = {
    "agent01": {"broadband": 8, "billing": 4},
    "agent02": {"cable_tv": 7, "billing": 6},
    "leader01": {"broadband": 6, "cable_tv": 6, "billing": 8, "vip": 9},
}
TIERS = {"vip": 10, "gold": 5}


def seed(session: Session, *, users: dict[str, User]) -> None:
    skills = {}
    for code, name in SKILLS:
        skill = session.scalar(select(Skill).where(Skill.code == code))
        if skill is None:
            skill = Skill(code=code, name=name)
            session.add(skill)
            session.flush()
        skills[code] = skill
    for username, levels in LEVELS.items():
        user = users.get(username)
        if user is None:
            continue
        for code, level in levels.items():
            if session.get(AgentSkill, (user.id, skills[code].id)) is None:
                session.add(AgentSkill(user_id=user.id, skill_id=skills[code].id, level=level))
    senior = session.scalar(select(CallQueue).where(CallQueue.code == "senior"))
    if senior is None:
        leader = users.get("leader01")
        senior = CallQueue(
            code="senior",
            name="资深坐席",
            strategy=QueueStrategy.SKILL_WEIGHTED.value,
            routing="kefu",
            tier_priority=dict(TIERS),
            max_wait_seconds=300,
            wrap_up_seconds=30,
            department_id=leader.department_id if leader else None,
        )
        session.add(senior)
        session.flush()
        session.add(QueueSkill(queue_id=senior.id, skill_id=skills["billing"].id, min_level=6))
    vip = session.scalar(select(CallQueue).where(CallQueue.code == "vip"))
    if vip is not None and vip.routing != "kefu" and vip.overflow_queue_id is None:
        vip.routing = "kefu"
        vip.tier_priority = dict(TIERS)
        vip.overflow_after_seconds, vip.overflow_queue_id = 60, senior.id
        vip.max_wait_seconds = 180
        if session.get(QueueSkill, (vip.id, skills["vip"].id)) is None:
            session.add(QueueSkill(queue_id=vip.id, skill_id=skills["vip"].id, min_level=6))
    session.flush()
