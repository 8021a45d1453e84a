"""The demo IVR (演示语音导航): the main menu of the service number 95105 with text-only Chinese
prompts — 1 fees, 2 installation progress, 3 ticket progress, 4 a knowledge answer, 0 an agent
(queue `hotline`), 9 a voice message. Made through the services the pages use; idempotent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.callcenter import ivr, prompts
from kefu.callcenter.models import CallQueue, IvrMenu, VoicePrompt
from kefu.core.permissions import build_actor
from kefu.org.models import User

SERVICE_NUMBER = "95105"
PROMPTS = [
    # code, name, category, text
    (
        "welcome.main",
        "主菜单",
        "welcome",
        "您好，欢迎致电客服热线。查询话费请按1，查询报装进度请按2，查询工单进度请按3，"
        "了解机顶盒无信号的处理方法请按4，人工服务请按0，语音留言请按9。",
    ),
    ("ivr.invalid", "按键无效", "error", "对不起，您的输入有误。"),
    ("ivr.goodbye", "结束语", "goodbye", "感谢您的来电，再见。"),
    ("ivr.to_agent", "转人工", "queue", "正在为您转接人工服务，请稍候。"),
    ("ivr.enter_account", "请输入账号", "self_service", "请输入您的账号，以井号键结束。"),
    ("ivr.enter_ticket", "请输入工单号", "self_service", "请输入工单编号中的数字，以井号键结束。"),
    ("ivr.not_found", "未查到", "self_service", "没有查到您输入的号码。"),
    (
        "ivr.query_failed",
        "查询失败",
        "error",
        "对不起，查询系统暂时无法使用。转人工服务请按0，返回菜单请按其他键。",
    ),
    ("ivr.unavailable", "信息暂不可用", "error", "对不起，该信息暂时无法提供。"),
    ("ivr.record", "留言提示", "self_service", "请在提示音后留言，结束请按井号键。"),
    ("ivr.message_kept", "留言已收到", "goodbye", "您的留言已经收到，我们会尽快与您联系，再见。"),
    ("ivr.no_message", "未收到留言", "goodbye", "没有收到您的留言，再见。"),
]


def _article_id(session: Session) -> int | None:
    from kefu.knowledge.models import Article, ArticleStatus, Audience

    stmt = select(Article.id).where(
        Article.status == ArticleStatus.PUBLISHED, Article.audience == Audience.PUBLIC
    )
    preferred = session.scalar(stmt.where(Article.title.like("%无信号%")).order_by(Article.id).limit(1))
    return preferred or session.scalar(stmt.order_by(Article.id).limit(1))


def seed(session: Session, *, users: dict[str, User]) -> None:
    actor = build_actor(session, users["admin"])
    for code, name, category, text in PROMPTS:
        exists = session.scalar(
            select(VoicePrompt.id).where(
                VoicePrompt.code == code, VoicePrompt.language == prompts.DEFAULT_LANGUAGE
            )
        )
        if exists is None:
            data = {
                "code": code,
                "name": name,
                "category": category,
                "language": prompts.DEFAULT_LANGUAGE,
                "text": text,
            }
            prompts.create(session, actor=actor, data=data)
    if session.scalar(select(IvrMenu.id).where(IvrMenu.code == "main")) is not None:
        return
    has_hotline = session.scalar(select(CallQueue.id).where(CallQueue.code == "hotline")) is not None
    options: list[dict[str, Any]] = [
        {"digit": "1", "label": "话费查询", "action": "query", "params": {"kind": "fee", "queue": "hotline"}},
        {
            "digit": "2",
            "label": "报装进度",
            "action": "query",
            "params": {"kind": "installation", "queue": "hotline"},
        },
        {
            "digit": "3",
            "label": "工单进度",
            "action": "query",
            "params": {"kind": "ticket", "queue": "hotline"},
        },
        {"digit": "0", "label": "人工服务", "action": "queue", "params": {"queue": "hotline"}},
        {"digit": "9", "label": "语音留言", "action": "record", "params": {"max_seconds": 60}},
        {"digit": "*", "label": "重听", "action": "repeat", "params": {}},
    ]
    if not has_hotline:
        options = [
            {**o, "params": {k: v for k, v in o["params"].items() if k != "queue"}}
            for o in options
            if o["action"] != "queue"
        ]
    article = _article_id(session)
    if article is not None:
        options.insert(
            3,
            {"digit": "4", "label": "机顶盒无信号", "action": "knowledge", "params": {"article_id": article}},
        )
    ivr.create(
        session,
        actor=actor,
        data={
            "code": "main",
            "name": "客服热线主菜单",
            "prompt_code": "welcome.main",
            "entry_numbers": [SERVICE_NUMBER],
            "timeout_seconds": 5,
            "max_retries": 2,
            "invalid_prompt_code": "ivr.invalid",
            "fallback": {"action": "queue", "params": {"queue": "hotline"}} if has_hotline else {},
            "options": options,
        },
    )
