"""search index rows by kind and reference (PostgreSQL)

The ticket search restricts tickets to those whose index row matches the keyword; an index on the
row's (kind, ref_id) lets the database check the terms ticket by ticket, or join the matches to the
tickets, without going through `search_document`. SQLite's FTS5 tables are keyed by rowid already.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX IF NOT EXISTS search_fts_kind_ref ON search_fts (kind, ref_id)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS search_fts_kind_ref")
