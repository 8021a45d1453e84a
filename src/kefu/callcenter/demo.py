"""Demo queues (演示队列): the service hotline staffed by the first-line agents and their leader, and
a VIP line for the leader. Idempotent: what exists is left as it is."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.callcenter.models import CallQueue, QueueMember, QueueStrategy
from kefu.org.models import User

QUEUES = [
    # code, name, strategy, wrap-up seconds, members
    ("hotline", "服务热线", QueueStrategy.LONGEST_IDLE, 30, ["agent01", "agent02", "leader01"]),
    ("vip", "VIP 专席", QueueStrategy.SKILL_WEIGHTED, 60, ["leader01"]),
]


def seed(session: Session, *, users: dict[str, User]) -> None:
    for code, name, strategy, wrap_up, members in QUEUES:
        queue = session.scalar(select(CallQueue).where(CallQueue.code == code))
        if queue is not None:
            continue
        department = users[members[0]].department_id
        queue = CallQueue(
            code=code, name=name, strategy=strategy.value, wrap_up_seconds=wrap_up, department_id=department
        )
        session.add(queue)
        session.flush()
        session.add_all(QueueMember(queue_id=queue.id, user_id=users[m].id) for m in members if m in users)
    session.flush()
    from kefu.callcenter import ivr_demo  # the demo IVR of the service number 95105

    ivr_demo.seed(session, users=users)
    from kefu.callcenter import queues_demo  # skills and the queues kefu's ACD routes

    queues_demo.seed(session, users=users)
    from kefu.callcenter import campaign_demo  # a draft satisfaction survey over demo customers

    campaign_demo.seed(session, users=users)
