"""Chinese full-text search (KB-5 and every domain that needs it): the one interface domain code calls.

    from kefu.core import search
    search.index(session, "knowledge", article.id, title=..., body=plain_text, keywords=...)
    page = search.query(session, "knowledge", "机顶盒 黑屏", within=select(Article.id).where(...))

Text is segmented with jieba and a domain dictionary editable by administrators (`dictionary`), and
indexed in the database's own full-text index: SQLite FTS5 or PostgreSQL tsvector + GIN
(`backends`, one place each). Importing this package is cheap: jieba loads on first use.
See docs/architecture.md ("Search") for the ranking plan and the dictionary reload.
"""

from __future__ import annotations

from kefu.core.search.engine import (
    Hit,
    SearchPage,
    index,
    query,
    register_kind,
    registered_kinds,
    reindex,
    remove,
    retokenize,
)
from kefu.core.search.text import invalidate, normalize


def segment(text: str) -> list[str]:
    """The terms `text` is indexed with: jieba (search-engine mode) with the domain dictionary,
    NFKC-normalised, lower-cased, punctuation dropped."""
    from kefu.core.search.text import current

    return current().document_terms(text)


def query_terms(text: str) -> list[str]:
    """The terms a query for `text` looks for (precise mode, each once)."""
    from kefu.core.search.text import current

    return current().query_terms(text)


__all__ = [
    "Hit",
    "SearchPage",
    "index",
    "invalidate",
    "normalize",
    "query",
    "query_terms",
    "register_kind",
    "registered_kinds",
    "reindex",
    "remove",
    "retokenize",
    "segment",
]
