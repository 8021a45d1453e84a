"""Demo messaging: both channels deliver to the log (nothing leaves the machine), the templates a
service center starts with, one do-not-disturb number and one blacklisted caller. Idempotent.

`ROLE_PERMISSIONS` and `GROUP_FUNCTIONS` say what the demo roles need; `kefu.demo` grants them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.messaging.models import (
    BlacklistEntry,
    BlacklistLevel,
    Channel,
    DndEntry,
    DndMode,
    Gateway,
    Implementation,
    MessageTemplate,
    TemplateKind,
)
from kefu.org.models import User
from kefu.tickets.models import BusinessCategory

GROUP_FUNCTIONS = [
    "messaging.message",
    "messaging.template",
    "messaging.dnd",
    "messaging.blacklist",
    "messaging.batch",
]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    "agent": ["messaging.message.send", "messaging.message.view", "messaging.dnd.view"],
    "leader": [
        "messaging.message.send",
        "messaging.message.view",
        "messaging.template.view",
        "messaging.template.edit",
        "messaging.dnd.view",
        "messaging.dnd.edit",
        "messaging.blacklist.view",
        "messaging.blacklist.edit",
        "messaging.batch.view",
        "messaging.batch.run",
    ],
    "kb_editor": ["messaging.template.view", "messaging.template.edit"],
}

TEMPLATES = [
    # code, name, channel, kind, business category code, subject, body
    (
        "KB-SMS",
        "知识短信",
        Channel.SMS,
        TemplateKind.KNOWLEDGE,
        None,
        "",
        "【{{ article.title }}】{{ article.summary }}",
    ),
    (
        "FEE-NOTICE",
        "月度费用通知",
        Channel.SMS,
        TemplateKind.FEE_NOTICE,
        "BB-BILL",
        "",
        "尊敬的{{ customer.name }}，您{{ period }}的宽带费用为{{ amount }}元，账户{{ account_no }}。",
    ),
    (
        "PAY-REMIND",
        "欠费催缴",
        Channel.SMS,
        TemplateKind.PAYMENT_REMINDER,
        "BB-BILL",
        "",
        "尊敬的{{ customer.name }}，您的账户已欠费{{ amount }}元，请于{{ due_date }}前缴纳，以免影响使用。",
    ),
    (
        "CUTOVER",
        "割接通知",
        Channel.SMS,
        TemplateKind.SERVICE_NOTICE,
        "CATV",
        "",
        "尊敬的客户：因{{ content }}，{{ area }}将于{{ start_time }}至{{ end_time }}"
        "暂停有线电视信号，敬请谅解。",
    ),
    (
        "REPLY-MAIL",
        "服务回复邮件",
        Channel.EMAIL,
        TemplateKind.GENERAL,
        None,
        "关于您反映的问题",
        "{{ customer.name }}您好：\n\n{{ content }}\n\n如有疑问请致电客服热线。\n{{ agent.name }}",
    ),
]


def seed(session: Session, *, admin: User) -> None:
    for channel, sign in ((Channel.SMS, "【客服中心】"), (Channel.EMAIL, "")):
        if session.scalar(select(Gateway.id).where(Gateway.channel == channel)) is None:
            session.add(
                Gateway(
                    channel=channel,
                    implementation=Implementation.LOG,
                    sign=sign,
                    from_address="service@kefu.example.com" if channel is Channel.EMAIL else "",
                    from_name="客服中心" if channel is Channel.EMAIL else "",
                )
            )
    categories = {c.code: c.id for c in session.scalars(select(BusinessCategory))}
    existing = set(session.scalars(select(MessageTemplate.code)))
    for code, name, channel, kind, category, subject, body in TEMPLATES:
        if code not in existing:
            session.add(
                MessageTemplate(
                    code=code,
                    name=name,
                    channel=channel,
                    kind=kind,
                    business_category_id=categories.get(category) if category else None,
                    subject=subject,
                    body=body,
                    updated_by_id=admin.id,
                )
            )
    if session.scalar(select(DndEntry.id).limit(1)) is None:
        session.add(
            DndEntry(
                number_key="+8613911110000",
                number="139 1111 0000",
                business_category_id=categories.get("BROADBAND"),
                mode=DndMode.REFUSE,
                reason="客户要求不接收宽带业务短信",
                created_by_id=admin.id,
            )
        )
    if session.scalar(select(BlacklistEntry.id).limit(1)) is None:
        session.add(
            BlacklistEntry(
                number_key="+8613800009999",
                number="138 0000 9999",
                level=BlacklistLevel.FLAG,
                reason="多次来电辱骂坐席",
                created_by_id=admin.id,
            )
        )
    session.flush()
