"""Similar-ticket suggestions (相似案例, TKT-11): at registration and on a ticket's page.

Candidates are the tickets the reader may see, registered within a window (default 30 days), not
merged, that share something concrete with the draft: the customer, the phone, the terminal or service
number (终端号), or the business category. Each gets a score in [0, 1]:

    0.50 if the same customer, phone or terminal (one identity bonus, however many match)
  + 0.45 × text similarity (cosine of the jieba terms of subject and description, subject terms
           counted twice, each term weighted by its inverse frequency among the candidates, so the
           words every ticket of a category uses weigh little)
  + 0.05 if the same business category

and is suggested at `CUTOFF` (0.62) or above, best first: the same customer (or phone, or terminal)
with a related text. Other customers' tickets with the same text stay below it — those are similar
cases for the search, not duplicates to merge. Measured on a generated month with planted duplicates
(bench/similar_tickets.py, 750 tickets, two seeds): precision 0.945 / 0.963, recall 0.841 / 0.851 at
0.62 (0.60: 0.91 / 0.87; 0.66: 0.99 / 0.77).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kefu.core import clock, search
from kefu.core.permissions import Actor
from kefu.tickets import access
from kefu.tickets.models import Ticket

TEXT_WEIGHT, IDENTITY_WEIGHT, CATEGORY_WEIGHT = 0.45, 0.5, 0.05
CUTOFF = 0.62
WINDOW_DAYS = 30
MAX_CANDIDATES = 400  # newest first: a very busy customer or category is cut here
SUBJECT_REPEAT = 2


@dataclass(frozen=True)
class Draft:
    """What a suggestion compares: a registration being typed, or an existing ticket."""

    subject: str = ""
    description: str = ""
    customer_id: int | None = None
    customer_phone: str = ""
    terminal_no: str = ""
    category_id: int | None = None
    exclude_id: int | None = None

    @classmethod
    def of(cls, ticket: Ticket) -> Draft:
        return cls(
            subject=ticket.subject,
            description=ticket.description,
            customer_id=ticket.customer_id,
            customer_phone=ticket.customer_phone,
            terminal_no=ticket.terminal_no,
            category_id=ticket.category_id,
            exclude_id=ticket.id,
        )


@dataclass
class Suggestion:
    ticket: Ticket
    score: float
    text: float
    reasons: list[str] = field(default_factory=list)  # customer, phone, terminal, category, text


@lru_cache(maxsize=4096)
def terms(subject: str, description: str) -> Counter[str]:
    """The term counts a text is compared by: jieba terms of two characters or more (single
    characters and particles say little), subject terms weighted. Cached: a ticket page and its
    candidates segment the same texts again and again (callers never change the result)."""
    found: Counter[str] = Counter()
    for _ in range(SUBJECT_REPEAT):
        found.update(t for t in search.segment(subject or "") if len(t) > 1)
    found.update(t for t in search.segment(description or "") if len(t) > 1)
    return found


def cosine(a: Counter[str], b: Counter[str], idf: dict[str, float] | None = None) -> float:
    """Cosine of two term-count vectors, each term weighted by `idf` (default 1)."""
    if not a or not b:
        return 0.0
    w = idf or {}

    def weight(t: str, n: int) -> float:
        return n * w.get(t, 1.0)

    dot = sum(weight(t, n) * weight(t, b[t]) for t, n in a.items() if t in b)
    if not dot:
        return 0.0
    norm_a = math.sqrt(sum(weight(t, n) ** 2 for t, n in a.items()))
    norm_b = math.sqrt(sum(weight(t, n) ** 2 for t, n in b.items()))
    return dot / (norm_a * norm_b)


def idf(documents: list[Counter[str]]) -> dict[str, float]:
    """Inverse document frequency over the draft and its candidates: words every ticket of the
    category uses (宽带, 机顶盒 …) weigh less than the words that tell one matter from another."""
    df: Counter[str] = Counter()
    for doc in documents:
        df.update(doc.keys())
    n = len(documents)
    return {t: math.log((n + 1) / (k + 1)) + 1.0 for t, k in df.items()}


def score(
    draft: Draft, draft_terms: Counter[str], ticket: Ticket, weights: dict[str, float] | None = None
) -> Suggestion:
    """How alike `ticket` is to the draft, and why."""
    reasons = []
    if draft.customer_id is not None and ticket.customer_id == draft.customer_id:
        reasons.append("customer")
    if draft.customer_phone and ticket.customer_phone == draft.customer_phone:
        reasons.append("phone")
    if draft.terminal_no and ticket.terminal_no == draft.terminal_no:
        reasons.append("terminal")
    identity = bool(reasons)
    if draft.category_id is not None and ticket.category_id == draft.category_id:
        reasons.append("category")
    text = cosine(draft_terms, terms(ticket.subject, ticket.description), weights)
    if text >= 0.3:
        reasons.append("text")
    value = TEXT_WEIGHT * text + IDENTITY_WEIGHT * identity + CATEGORY_WEIGHT * ("category" in reasons)
    return Suggestion(ticket=ticket, score=round(value, 4), text=round(text, 4), reasons=reasons)


def _shares(draft: Draft) -> list[object]:
    found: list[object] = []
    if draft.customer_id is not None:
        found.append(Ticket.customer_id == draft.customer_id)
    if draft.customer_phone:
        found.append(Ticket.customer_phone == draft.customer_phone)
    if draft.terminal_no:
        found.append(Ticket.terminal_no == draft.terminal_no)
    if draft.category_id is not None:
        found.append(Ticket.category_id == draft.category_id)
    return found


def candidates(session: Session, actor: Actor, draft: Draft, *, days: int = WINDOW_DAYS) -> list[Ticket]:
    """The visible, unmerged tickets of the window that share customer, phone, terminal or category."""
    shares = _shares(draft)
    if not shares:
        return []
    stmt = select(Ticket).where(
        Ticket.created_at >= clock.now() - timedelta(days=days),
        Ticket.merged_into_id.is_(None),
        or_(*shares),  # type: ignore[arg-type]
    )
    if draft.exclude_id is not None:
        stmt = stmt.where(Ticket.id != draft.exclude_id)
    stmt = access.restrict(stmt, actor).order_by(Ticket.created_at.desc(), Ticket.id.desc())
    return list(session.scalars(stmt.limit(MAX_CANDIDATES)))


def suggest(
    session: Session,
    actor: Actor,
    draft: Draft,
    *,
    days: int = WINDOW_DAYS,
    limit: int = 10,
    cutoff: float = CUTOFF,
) -> list[Suggestion]:
    """The tickets like the draft that `actor` may see, best first, at the cut-off or above."""
    return rank(draft, candidates(session, actor, draft, days=days), limit=limit, cutoff=cutoff)


def rank(
    draft: Draft, tickets: Iterable[Ticket], *, limit: int = 10, cutoff: float = CUTOFF
) -> list[Suggestion]:
    """Score `tickets` against the draft; the best `limit` at the cut-off or above."""
    pool = [t for t in tickets if t.id != draft.exclude_id]
    draft_terms = terms(draft.subject, draft.description)
    weights = idf([draft_terms, *(terms(t.subject, t.description) for t in pool)])
    scored = [score(draft, draft_terms, t, weights) for t in pool]
    kept = [s for s in scored if s.score >= cutoff]
    kept.sort(key=lambda s: (-s.score, -s.ticket.id))
    return kept[:limit]
