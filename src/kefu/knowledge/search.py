"""Knowledge search (知识检索, KB-5): only published, unexpired knowledge in the reader's scope.

Three ways in, combinable with the fielded filters (category with its sub-categories, business type
with its sub-types, keywords, hot flag, created and published date ranges):
- full text (全文检索): the words anywhere in title, summary, body or keywords, ranked by the search
  index, with highlighted title and snippet;
- keyword (关键字检索): every word must appear in the title, keywords or summary;
- no words: the filtered list, hot knowledge first, then the most read.
The filters are passed to the index as `within`, so paging and totals are right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from kefu.core import clock
from kefu.core.errors import FieldError
from kefu.core.permissions import Actor
from kefu.knowledge import access, indexing
from kefu.knowledge.categories import get_category, subtree_ids
from kefu.knowledge.models import Article, Audience
from kefu.knowledge.views import Names
from kefu.tickets.setup import service as ticket_setup

MODES = ("fulltext", "keyword")
_SPLIT = re.compile(r"[\s,，、;；]+")
SNIPPET = 120


@dataclass
class Query:
    text: str = ""
    mode: str = "fulltext"
    category_id: int | None = None
    business_category_id: int | None = None
    keywords: str = ""
    hot: bool | None = None
    created_from: date | None = None
    created_to: date | None = None
    published_from: date | None = None
    published_to: date | None = None
    audience: Audience | None = None  # PUBLIC: only what customers may see


@dataclass
class Result:
    article: Article
    title_html: Markup
    snippet_html: Markup
    directory: str
    business_type: str
    attributes: list[str]
    score: float | None = None


@dataclass
class Page:
    total: int
    offset: int
    limit: int
    results: list[Result] = field(default_factory=list)
    exact: bool = True  # False: there are at least `total` results
    all_words: bool = True  # False: nothing held every word; these hold some of them


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.local_tz()).astimezone(clock.UTC)


def _range(column: Any, start: date | None, end: date | None, name: str) -> list[Any]:
    if start is not None and end is not None and end < start:
        raise FieldError(f"{name}_to", "The end date is before the start date")
    conditions = []
    if start is not None:
        conditions.append(column >= _day_start(start))
    if end is not None:
        conditions.append(column < _day_start(end + timedelta(days=1)))
    return conditions


def _business_subtree(session: Session, category_id: int) -> list[int]:
    root = ticket_setup.get_category(session, category_id)
    return [c.id for c, _depth in ticket_setup.category_tree(session) if c.path.startswith(root.path)]


def words(text: str) -> list[str]:
    return [w for w in _SPLIT.split(text.strip()) if w][:10]


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def within(session: Session, query: Query) -> Select[Any]:
    """The ids of the articles the reader may find with these filters (FieldError on bad filters)."""
    conditions: list[Any] = [access.readable_condition(audience=query.audience)]
    if query.category_id is not None:
        try:
            category = get_category(session, query.category_id)
        except Exception:
            raise FieldError("category_id", "No such category") from None
        conditions.append(Article.category_id.in_(subtree_ids(session, category)))
    if query.business_category_id is not None:
        try:
            ids = _business_subtree(session, query.business_category_id)
        except Exception:
            raise FieldError("business_category_id", "No such business type") from None
        conditions.append(Article.business_category_id.in_(ids))
    for word in words(query.keywords):
        conditions.append(Article.keywords.like(_like(word), escape="\\"))
    if query.hot is not None:
        conditions.append(Article.hot.is_(query.hot))
    conditions += _range(Article.created_at, query.created_from, query.created_to, "created")
    conditions += _range(Article.published_at, query.published_from, query.published_to, "published")
    if query.mode == "keyword":
        for word in words(query.text):
            pattern = _like(word)
            conditions.append(
                or_(
                    Article.title.like(pattern, escape="\\"),
                    Article.keywords.like(pattern, escape="\\"),
                    Article.summary.like(pattern, escape="\\"),
                )
            )
    return select(Article.id).where(and_(*conditions))


def highlight(text: str, terms: list[str]) -> Markup:
    """`text` escaped, each occurrence of a term wrapped in <mark>."""
    if not terms:
        return escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE)
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(str(escape(text[last : match.start()])))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def run(session: Session, actor: Actor, query: Query, *, limit: int = 20, offset: int = 0) -> Page:
    """One page of search results with everything the result columns show."""
    if query.mode not in MODES:
        raise FieldError("mode", "Choose one of the offered values")
    ids = within(session, query)
    text = query.text.strip()
    scores: dict[int, tuple[float, Markup, Markup]] = {}
    exact = all_words = True
    if text and query.mode == "fulltext":
        from kefu.core import search

        found = search.query(session, indexing.KIND, text, within=ids, limit=limit, offset=offset)
        order = [int(hit.ref_id) for hit in found.hits]
        for hit in found.hits:
            scores[int(hit.ref_id)] = (hit.score, Markup(hit.title_html), Markup(hit.snippet_html))
        total, exact, all_words = found.total, found.exact, found.mode == "all"
        rows = (
            {a.id: a for a in session.scalars(select(Article).where(Article.id.in_(order)))} if order else {}
        )
        articles = [rows[i] for i in order if i in rows]
    else:
        total = int(session.scalar(select(func.count()).select_from(ids.subquery())) or 0)
        stmt = (
            select(Article)
            .where(Article.id.in_(ids))
            .order_by(
                Article.hot.desc(), Article.click_count.desc(), Article.published_at.desc(), Article.id.desc()
            )
            .limit(limit)
            .offset(offset)
        )
        articles = list(session.scalars(stmt))
    names = Names(session)
    terms = words(text) if query.mode == "keyword" else []
    results = []
    for article in articles:
        score, title_html, snippet_html = scores.get(
            article.id, (None, highlight(article.title, terms), highlight(article.summary[:SNIPPET], terms))
        )
        results.append(
            Result(
                article=article,
                title_html=title_html,
                snippet_html=snippet_html,
                directory=names.directory(article.category_id),
                business_type=names.business_type(article.business_category_id),
                attributes=names.attributes(article.business_attrs),
                score=score,
            )
        )
    return Page(total=total, offset=offset, limit=limit, results=results, exact=exact, all_words=all_words)
