"""The demo outbound campaign (演示外呼任务): a satisfaction survey, still a draft, over a few demo
customers, for the call-center leader to start. Idempotent: an existing demo campaign is left as is.

The call center's demo is seeded before the demo customers, so this makes sure they exist first
(`seed_demo_customers` only creates what is missing: the later call of the demo changes nothing).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.callcenter.campaign_targets import customer_numbers
from kefu.callcenter.models import Campaign, CampaignKind, CampaignStatus, CampaignTarget, TargetStatus
from kefu.core import clock
from kefu.customers.models import Customer
from kefu.org.models import User

NAME = "宽带报修满意度回访"
TARGETS = 5
QUESTIONS = [
    {
        "key": "overall",
        "text": "您对本次报修服务满意吗？非常满意请按1，满意请按2，一般请按3，不满意请按4，非常不满意请按5。",
        "prompt_code": "",
        "answers": {
            "1": "very_satisfied",
            "2": "satisfied",
            "3": "neutral",
            "4": "dissatisfied",
            "5": "very_dissatisfied",
        },
    },
    {
        "key": "solved",
        "text": "您反映的问题是否已经解决？已解决请按1，未解决请按2。",
        "prompt_code": "",
        "answers": {"1": "yes", "2": "no"},
    },
]


def seed(session: Session, *, users: dict[str, User]) -> None:
    if session.scalar(select(Campaign.id).where(Campaign.name == NAME)) is not None:
        return
    leader, admin = users.get("leader01"), users.get("admin")
    if leader is None or admin is None:
        return
    from kefu.customers.demo_data import seed_demo_customers

    seed_demo_customers(
        session,
        admin=admin,
        agents=[users[name] for name in ("agent01", "agent02", "leader01") if name in users],
    )
    customers = session.execute(
        select(Customer.id, Customer.name).order_by(Customer.code).limit(TARGETS * 2)
    ).all()
    numbers = customer_numbers(session, [c.id for c in customers])
    now = clock.now()
    campaign = Campaign(
        name=NAME,
        kind=CampaignKind.SURVEY.value,
        status=CampaignStatus.DRAFT.value,
        mode="ivr",
        department_id=leader.department_id,
        script="您好{{ name }}，这里是客服中心，想占用您一分钟做个回访。",
        questions=QUESTIONS,
        window_start="09:00",
        window_end="20:00",
        weekdays=[1, 2, 3, 4, 5, 6],
        working_days_only=False,
        max_concurrent=2,
        calls_per_minute=5,
        max_attempts=3,
        retry_minutes={"busy": 10, "no_answer": 30, "failed": 60},
        source="customers",
        created_by_id=leader.id,
        created_at=now,
        updated_at=now,
    )
    session.add(campaign)
    session.flush()
    taken: set[str] = set()
    for customer in customers:
        phone = numbers.get(customer.id)
        if phone is None or phone.e164 in taken or len(taken) >= TARGETS:
            continue
        taken.add(phone.e164)
        session.add(
            CampaignTarget(
                campaign_id=campaign.id,
                customer_id=customer.id,
                number=phone.display,
                number_key=phone.e164,
                name=customer.name[:100],
                variables={},
                answers={},
                status=TargetStatus.PENDING.value,
                created_at=now,
                updated_at=now,
            )
        )
    session.flush()
