"""Knowledge in the full-text index (`kefu.core.search`, kind "knowledge", ref_id = article id).

Only the live version's text is indexed: a new version under review changes nothing until it is
published; archive, revoke and expiry take the article out. Indexing joins the caller's transaction,
so the index never disagrees with what was committed.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.knowledge.models import Article, ArticleStatus, ArticleVersion

KIND = "knowledge"


def _body(version: ArticleVersion) -> str:
    return "\n".join(part for part in (version.summary, version.body_text) if part)


def index_live(session: Session, article: Article, version: ArticleVersion) -> None:
    """Put the live `version` of `article` in the index (replacing what was there)."""
    from kefu.core import search

    search.index(
        session, KIND, article.id, title=version.title, body=_body(version), keywords=version.keywords
    )


def remove(session: Session, article: Article) -> None:
    from kefu.core import search

    search.remove(session, KIND, article.id)


def load_all(session: Session) -> Iterator[tuple[int, str, str, str]]:
    """Every published article's live text, for re-indexing (`search.register_kind`)."""
    stmt = (
        select(ArticleVersion)
        .join(Article, Article.id == ArticleVersion.article_id)
        .where(Article.status == ArticleStatus.PUBLISHED, ArticleVersion.number == Article.published_no)
        .order_by(Article.id)
        .execution_options(yield_per=500)
    )
    for version in session.scalars(stmt):
        yield version.article_id, version.title, _body(version), version.keywords


def register() -> None:
    """Tell the search interface how to re-index knowledge."""
    from kefu.core import search

    search.register_kind(KIND, load_all)
