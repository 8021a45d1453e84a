"""audit log is append-only

The SQL is frozen here as it was when this migration was written (from `kefu.audit.ddl`), so that
later changes to that module cannot change what this step does. A later migration that adds a
column to `audit_log` re-installs the triggers through `kefu.audit.ddl.install_append_only(op)`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SQLITE_INSTALL = [
    "DROP TRIGGER IF EXISTS audit_log_no_update",
    "DROP TRIGGER IF EXISTS audit_log_no_delete",
    "DROP TRIGGER IF EXISTS audit_log_no_truncate",
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log\n"
    'WHEN NOT (OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL AND NEW."id" IS OLD."id" AND '
    'NEW."at" IS OLD."at" AND NEW."actor_name" IS OLD."actor_name" AND NEW."client_ip" IS '
    'OLD."client_ip" AND NEW."function" IS OLD."function" AND NEW."action" IS OLD."action" AND '
    'NEW."target_type" IS OLD."target_type" AND NEW."target_id" IS OLD."target_id" AND '
    'NEW."target_label" IS OLD."target_label" AND NEW."summary" IS OLD."summary" AND NEW."before" IS '
    'OLD."before" AND NEW."after" IS OLD."after" AND NEW."correlation_id" IS OLD."correlation_id")\n'
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log\n"
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_log_no_update",
    "DROP TRIGGER IF EXISTS audit_log_no_delete",
    "DROP TRIGGER IF EXISTS audit_log_no_truncate",
]
POSTGRESQL_INSTALL = [
    "DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log",
    "DROP TRIGGER IF EXISTS audit_log_no_delete ON audit_log",
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    "DROP FUNCTION IF EXISTS audit_log_append_only()",
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $body$\n"
    "BEGIN\n"
    "    IF TG_OP = 'UPDATE' THEN\n"
    "        -- ON DELETE SET NULL of the actor's account: allowed, as long as nothing else changes.\n"
    "        IF OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL\n"
    "           AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN\n"
    "            RETURN NEW;\n"
    "        END IF;\n"
    "    END IF;\n"
    "    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'restrict_violation';\n"
    "END\n"
    "$body$",
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log\n"
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log\n"
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log\n"
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]
POSTGRESQL_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log",
    "DROP TRIGGER IF EXISTS audit_log_no_delete ON audit_log",
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    "DROP FUNCTION IF EXISTS audit_log_append_only()",
]


def _run(statements: list[str]) -> None:
    for sql in statements:
        op.execute(sql)


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _run(SQLITE_INSTALL)
    else:
        _run(POSTGRESQL_INSTALL)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _run(SQLITE_REMOVE)
    else:
        _run(POSTGRESQL_REMOVE)
