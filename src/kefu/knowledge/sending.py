"""Sending knowledge to a customer by SMS or email (知识短信/邮件, KB-7).

The live version of a public article goes to the customer through messaging's outbox: the same
gateway, retries, send log and do-not-disturb check as every other message. An SMS carries the
title and summary, an e-mail the whole text — or a knowledge template (知识短信模板) shapes both.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core.errors import FieldError, PermissionDenied
from kefu.core.permissions import Actor
from kefu.knowledge import common
from kefu.knowledge.models import Article, Audience
from kefu.knowledge.permissions import FUNCTION, SEND
from kefu.messaging import outbox, render
from kefu.messaging.models import Channel, Message, Source, TemplateKind

CHANNELS = ("sms", "email")
SMS_MAX = 500


def compose(article: Article, body_text: str, channel: str) -> tuple[str, str]:
    """(subject, content): an SMS carries the title and summary, an email the whole text."""
    if channel == "sms":
        text = f"【{article.title}】{article.summary or body_text}"
        return "", text[:SMS_MAX]
    return article.title, "\n\n".join(p for p in (article.summary, body_text) if p)


def send_knowledge(
    session: Session,
    actor: Actor,
    article_id: int,
    channel: str = "sms",
    to: str | None = None,
    *,
    customer_id: int | None = None,
    template_id: int | None = None,
    confirm_dnd: bool = False,
) -> Message:
    """Queue the live version of a public article for a customer (do-not-disturb is checked
    against the article's business type)."""
    from kefu.customers import access as customer_access
    from kefu.knowledge import access

    if not actor.can(SEND):
        raise PermissionDenied()
    if channel not in CHANNELS:
        raise FieldError("channel", "Choose one of the offered values")
    kind = Channel(channel)
    target = outbox.recipient(kind, to)
    article = access.load_readable(session, actor, article_id)
    if article.audience is not Audience.PUBLIC:
        raise FieldError("article_id", "Only knowledge marked public may be sent to customers")
    outbox.gateway_on(session, kind)
    customer = None
    if customer_id is not None:
        if not customer_access.can(session, actor, customer_id, customer_access.VIEW):
            raise FieldError("customer_id", "Choose one of the offered values")
        customer = customer_access.customer(session, actor, customer_id)
    version = common.live_version(session, article)
    assert version is not None
    template = outbox.template_for(session, template_id, kind)
    if template is not None:
        if template.kind is not TemplateKind.KNOWLEDGE:
            raise FieldError("template_id", outbox.TEMPLATE_UNUSABLE)
        values = outbox.context(session, actor=actor, to=target, customer=customer)
        values.setdefault("customer", {"name": "", "code": "", "tier": ""})
        values["article"] = {
            "number": article.number,
            "title": article.title,
            "summary": article.summary or "",
            "text": version.body_text,
        }
        text = render.render(template.body, values)
        subject = render.render(template.subject, values, field="subject") if kind is Channel.EMAIL else ""
    else:
        subject, text = compose(article, version.body_text, channel)
    message = outbox.queue(
        session,
        actor,
        channel=kind,
        to=target,
        body=text,
        subject=subject,
        source=Source.KNOWLEDGE,
        customer_id=customer.id if customer else None,
        template_id=template.id if template else None,
        business_category_id=article.business_category_id,
        confirm_dnd=confirm_dnd,
    )
    message.reference = f"{article.number} v{version.number}"[:100]
    common.log(session, article, actor, "sent", detail={"message_id": message.id, "channel": channel})
    audit.record(
        session,
        actor=actor,
        action="knowledge.article.send",
        function=FUNCTION,
        target=message,
        target_label=f"{article.number} → {target.shown}",
        summary=(message.dnd_note and f"DND confirmed: {message.dnd_note}") or channel,
    )
    return message
