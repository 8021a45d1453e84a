"""ticket search facets (PostgreSQL)

Each full-text row gets a third tsvector, `facets`, with one lexeme per searchable value of its
ticket (status, category, departments, people, nature, priority, channel, area, month, callback,
past handlers); one GIN index over (tsv, facets) then answers a keyword with conditions by
intersecting posting lists (`kefu.tickets.facets`). The existing rows are filled here, 20,000
tickets per statement. SQLite's FTS5 tables are left as they are.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Frozen copy of kefu.tickets.facets.REFRESH_RANGE as of this revision.
FILL = """
UPDATE search_fts AS f SET facets = x.facets
FROM (
    SELECT t.id, array_to_tsvector(
        array_remove(ARRAY[
            's:' || t.status, 't:' || t.type_id, 'c:' || t.category_id,
            'd:' || t.department_id, 'h:' || t.handler_id,
            'ad:' || t.creator_department_id, 'au:' || t.creator_id,
            'n:' || t.nature, 'p:' || t.priority, 'ch:' || t.channel, 'a:' || t.area,
            'm:' || to_char(t.created_at AT TIME ZONE 'UTC', 'YYYYMM'),
            CASE WHEN EXISTS (SELECT 1 FROM ticket_callback cb WHERE cb.ticket_id = t.id)
                 THEN 'cb:yes' END,
            CASE WHEN EXISTS (SELECT 1 FROM ticket_callback cb
                              WHERE cb.ticket_id = t.id AND cb.status = 'done')
                 THEN 'cb:done' END
        ], NULL)
        || ARRAY(SELECT DISTINCT 'ph:' || l.user_id FROM ticket_log l
                 WHERE l.ticket_id = t.id AND l.user_id IS NOT NULL)
        || ARRAY(SELECT DISTINCT 'pd:' || l.department_id FROM ticket_log l
                 WHERE l.ticket_id = t.id AND l.department_id IS NOT NULL)
        || ARRAY(SELECT DISTINCT 'nk:' || k.key FROM ticket_name_key k WHERE k.ticket_id = t.id)
        || ARRAY(SELECT 'nn:' || k.key FROM ticket_name_key k
                 WHERE k.ticket_id = t.id AND k.kind = 'name')
        || ARRAY(SELECT DISTINCT 'nk' || n || ':' || left(k.key, n)
                 FROM ticket_name_key k, generate_series(1, least(4, length(k.key))) AS n
                 WHERE k.ticket_id = t.id)
        || ARRAY(SELECT DISTINCT 'nn' || n || ':' || left(k.key, n)
                 FROM ticket_name_key k, generate_series(1, least(4, length(k.key))) AS n
                 WHERE k.ticket_id = t.id AND k.kind = 'name')
    ) AS facets
    FROM ticket AS t
    WHERE t.id > :after AND t.id <= :upto
) AS x
WHERE f.kind = 'tickets' AND f.ref_id = x.id
"""
BATCH = 20_000


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_fts ADD COLUMN IF NOT EXISTS facets tsvector NOT NULL DEFAULT ''")
    top = int(bind.scalar(text("SELECT coalesce(max(id), 0) FROM ticket")) or 0)
    for after in range(0, top, BATCH):
        bind.execute(text(FILL), {"after": after, "upto": after + BATCH})
    op.execute("CREATE INDEX IF NOT EXISTS search_fts_tsv_facets ON search_fts USING gin (tsv, facets)")
    op.execute("ANALYZE search_fts")  # the planner's lexeme statistics of the new column


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS search_fts_tsv_facets")
        op.execute("ALTER TABLE search_fts DROP COLUMN IF EXISTS facets")
