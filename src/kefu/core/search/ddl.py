"""The full-text index tables, one design per database. Created by migration 0009 (which freezes a
copy of this SQL); not ORM models, so Alembic's autogenerate is told to leave them alone
(`is_index_table`, used by the migration environment).

SQLite — two FTS5 tables over jieba terms joined by spaces (`unicode61` then only splits on the
spaces, since terms hold letters and digits only); rowid = `search_document.id`:
- `search_fts` (title, keywords, body): matching and bm25 ranking;
- `search_fts_title` (title, keywords): the small index that finds title matches cheaply.
FTS5 adds shadow tables `search_fts_data`, `…_idx`, `…_content`, `…_docsize`, `…_config`.

PostgreSQL — `search_fts`: one row per document with two tsvectors written by kefu (title weight A,
keywords B, body D; exact lexemes, so neither the text-search parser nor the database's locale can
split a term differently at index and at query time), each with a GIN index, and a btree on
(kind, ref_id) for searches that join the matches to their records (the ticket search). A third
tsvector, `facets`, is written by the ticket search (`kefu.tickets.facets`, migration 0018) and
indexed together with `tsv`; the search engine's own writes leave it alone.
"""

from __future__ import annotations

from typing import Any

PREFIX = "search_fts"

SQLITE_CREATE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
    "title, keywords, body, tokenize = 'unicode61 remove_diacritics 0')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts_title USING fts5("
    "title, keywords, tokenize = 'unicode61 remove_diacritics 0')",
]
SQLITE_DROP = ["DROP TABLE IF EXISTS search_fts_title", "DROP TABLE IF EXISTS search_fts"]

POSTGRES_CREATE = [
    """CREATE TABLE IF NOT EXISTS search_fts (
    doc_id integer PRIMARY KEY REFERENCES search_document (id) ON DELETE CASCADE,
    kind varchar(40) NOT NULL,
    ref_id integer NOT NULL,
    tsv tsvector NOT NULL,
    title_tsv tsvector NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS search_fts_tsv ON search_fts USING gin (tsv)",
    "CREATE INDEX IF NOT EXISTS search_fts_title_tsv ON search_fts USING gin (title_tsv)",
    "CREATE INDEX IF NOT EXISTS search_fts_kind_ref ON search_fts (kind, ref_id)",  # migration 0016
    "ALTER TABLE search_fts ADD COLUMN IF NOT EXISTS facets tsvector NOT NULL DEFAULT ''",  # 0018
    "CREATE INDEX IF NOT EXISTS search_fts_tsv_facets ON search_fts USING gin (tsv, facets)",
]
POSTGRES_DROP = ["DROP TABLE IF EXISTS search_fts"]


def statements(dialect: str, *, drop: bool = False) -> list[str]:
    if dialect == "sqlite":
        return SQLITE_DROP if drop else SQLITE_CREATE
    if dialect == "postgresql":
        return POSTGRES_DROP if drop else POSTGRES_CREATE
    raise ValueError(f"no full-text index for dialect {dialect!r}")


def is_index_table(name: str | None) -> bool:
    """Whether `name` is one of the index tables (or an FTS5 shadow table of one)."""
    return bool(name) and (name == PREFIX or str(name).startswith(PREFIX + "_"))


def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """Alembic `include_name` hook: autogenerate compares everything but the index tables."""
    if type_ == "table":
        return not is_index_table(name)
    if type_ in ("index", "unique_constraint", "column", "foreign_key_constraint"):
        return not is_index_table(parent_names.get("table_name"))
    return True
