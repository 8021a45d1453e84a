"""Self-service in the IVR (自助服务): what a caller hears after entering an account number or a
ticket serial — fees and balance and installation progress from the business systems
(`customers.adapters`), ticket progress from kefu's own tickets, a knowledge answer.

Every answer is a sentence in the caller's language, plus the facts kept for the screen pop. A
business system that fails is `QueryFailed`: the IVR says so and offers an agent.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import clock, i18n
from kefu.core.i18n import lazy

log = logging.getLogger(__name__)

FEE = lazy("Your balance is %(balance)s yuan and your arrears are %(arrears)s yuan.")
NEXT_DUE = lazy("Your next payment of %(amount)s yuan is due on %(date)s.")
NO_INSTALLATION = lazy("There is no installation order for this account.")
INSTALLATION = lazy("Your installation order %(order)s has reached the stage: %(stage)s.")
TICKET = lazy("Your ticket %(serial)s is %(status)s.")
TICKET_STAGE = lazy("It is now at: %(stage)s.")
MAX_TICKETS = 3
MAX_ARTICLE_CHARS = 600


class QueryFailed(Exception):
    """The business system could not answer (`reason` for the pop, e.g. `timeout`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Answer:
    """What the caller hears (None: nothing was found for the number) and what the pop shows."""

    text: str | None
    facts: dict[str, Any] = field(default_factory=dict)


def say(language: str, message: str, **params: Any) -> str:
    """`message` in the caller's language (Cantonese prompts are written in Chinese characters)."""
    locale = "en" if language == "en" else "zh_CN"
    text = i18n.translations(locale).gettext(message)
    return text % params if params else text


def _money(value: Decimal | None) -> str:
    return f"{(value or Decimal(0)):.2f}"


def _customer(session: Session, number: str) -> Any:
    """The customer an entered number names: an account number, a service number, a customer code."""
    from kefu.customers.models import Account, Customer, Subscriber

    found = session.scalar(select(Account.customer_id).where(Account.account_no == number))
    if found is None:
        found = session.scalar(
            select(Subscriber.customer_id).where(Subscriber.service_number == number).limit(1)
        )
    if found is None:
        found = session.scalar(select(Customer.id).where(Customer.code == number))
    return session.get(Customer, found) if found is not None else None


def _verified(session: Session, customer_id: int, caller: str) -> bool:
    """Whether the calling number is one of the customer's own numbers."""
    from kefu.customers.search import find_by_phone

    if not caller:
        return False
    return any(c.id == customer_id for c in find_by_phone(session, caller, limit=20))


def _ask(session: Session, customer: Any, kind: Any) -> Any:
    from kefu.customers.adapters import registry
    from kefu.customers.adapters.base import SourceError

    try:
        return registry.ask(session, customer, kind)
    except SourceError as exc:
        raise QueryFailed(exc.reason) from None
    except Exception:  # a broken adapter must not take the call down
        log.exception("IVR query of %s failed", kind)
        raise QueryFailed("error") from None


def account_query(session: Session, *, kind: str, number: str, caller: str, language: str) -> Answer:
    """Fees and balance (`fee`) or installation progress (`installation`) of the entered account."""
    from kefu.customers.adapters.base import SourceKind

    customer = _customer(session, number)
    if customer is None:
        return Answer(None, {"account": number})
    facts: dict[str, Any] = {
        "account": number,
        "customer_code": customer.code or str(customer.id),
        "verified": _verified(session, customer.id, caller),
    }
    if kind == "fee":
        summary = _ask(session, customer, SourceKind.BILLING)
        text = say(language, FEE, balance=_money(summary.balance), arrears=_money(summary.arrears))
        if summary.next_due_date is not None and summary.next_due_amount is not None:
            due = say(
                language,
                NEXT_DUE,
                amount=_money(summary.next_due_amount),
                date=summary.next_due_date.isoformat(),
            )
            text = f"{text} {due}" if language == "en" else text + due
        facts["balance"], facts["arrears"] = _money(summary.balance), _money(summary.arrears)
        return Answer(text, facts)
    orders = _ask(session, customer, SourceKind.INSTALLATION)
    if not orders:
        return Answer(say(language, NO_INSTALLATION), {**facts, "installation": ""})
    latest = max(orders, key=lambda o: o.applied_on)
    facts["installation"] = f"{latest.order_no} {latest.stage}"
    return Answer(say(language, INSTALLATION, order=latest.order_no, stage=latest.stage), facts)


def ticket_query(session: Session, *, digits: str, language: str) -> Answer:
    """Progress of the tickets whose serial has these digits (`TS-20261122-000123` is entered as
    20261122000123; the type prefix has no key)."""
    from kefu.tickets.models import Ticket
    from kefu.tickets.page_views import TICKET_STATUS_LABELS

    if not re.fullmatch(r"\d{9,}", digits):
        return Answer(None, {"ticket_serial": digits})
    pattern = f"%-{digits[:8]}-{digits[8:]}"
    tickets = list(
        session.scalars(
            select(Ticket).where(Ticket.serial.like(pattern)).order_by(Ticket.id).limit(MAX_TICKETS)
        )
    )
    if not tickets:
        return Answer(None, {"ticket_serial": digits})
    sentences = []
    for ticket in tickets:
        status = say(language, TICKET_STATUS_LABELS.get(ticket.status.value, ticket.status.value))
        sentence = say(language, TICKET, serial=ticket.serial, status=status)
        if ticket.is_active and ticket.stage:
            sentence += (" " if language == "en" else "") + say(language, TICKET_STAGE, stage=ticket.stage)
        sentences.append(sentence)
    joiner = " " if language == "en" else ""
    return Answer(joiner.join(sentences), {"ticket_serial": ", ".join(t.serial for t in tickets)})


def article_text(session: Session, article_id: int | None) -> tuple[str, str] | None:
    """(number, text to read) of a published article open to customers, or None."""
    from kefu.knowledge import common
    from kefu.knowledge.models import Article, ArticleStatus, Audience

    article = session.get(Article, article_id) if article_id else None
    if article is None or article.status != ArticleStatus.PUBLISHED or article.audience != Audience.PUBLIC:
        return None
    if article.expires_at is not None and article.expires_at <= clock.now():
        return None
    text = article.summary.strip()
    if not text:
        live = common.live_version(session, article)
        text = (live.body_text if live else "").strip()
    if not text:
        return None
    return article.number, text[:MAX_ARTICLE_CHARS]
