"""Database triggers that make `audit_log` append-only (ORG-5), on SQLite and PostgreSQL.

Rows may be inserted; UPDATE and DELETE are refused by the database itself (PostgreSQL also refuses
TRUNCATE), so neither a bug nor someone with a SQL console and the application's credentials can
quietly rewrite history. One update stays allowed: when a user account is deleted, the foreign key's
ON DELETE SET NULL clears `actor_id` — the row keeps `actor_name`, and nothing else may change with it.

Call `install_append_only(op)` from a migration (or with a Connection); it is idempotent. A later
migration that adds a column to `audit_log` must call it again so the SQLite guard compares the new
column too (`SQLITE_GUARDED_COLUMNS`; a test pins that list to the model).
"""

from __future__ import annotations

from typing import Any

MESSAGE = "audit_log is append-only"
TRIGGERS = ("audit_log_no_update", "audit_log_no_delete", "audit_log_no_truncate")
PG_FUNCTION = "audit_log_append_only"

# Every column but actor_id: an allowed update (the FK's SET NULL) leaves all of these unchanged.
SQLITE_GUARDED_COLUMNS = (
    "id",
    "at",
    "actor_name",
    "client_ip",
    "function",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "summary",
    "before",
    "after",
    "correlation_id",
)

_SQLITE_UNCHANGED = " AND ".join(f'NEW."{c}" IS OLD."{c}"' for c in SQLITE_GUARDED_COLUMNS)

SQLITE_REMOVE = [f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS]
SQLITE_INSTALL = [
    *SQLITE_REMOVE,
    f"""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL AND {_SQLITE_UNCHANGED})
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]

POSTGRES_REMOVE = [
    *(f"DROP TRIGGER IF EXISTS {name} ON audit_log" for name in TRIGGERS),
    f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()",
]
POSTGRES_INSTALL = [
    *POSTGRES_REMOVE,
    f"""CREATE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- ON DELETE SET NULL of the actor's account: allowed, as long as nothing else changes.
        IF OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
           AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
END
$body$""",
    f"""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()""",
    f"""CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()""",
    f"""CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()""",
]


def statements(dialect: str, *, remove: bool = False) -> list[str]:
    """The SQL that installs (or removes) the guard on `dialect` ("sqlite" or "postgresql")."""
    if dialect == "sqlite":
        return SQLITE_REMOVE if remove else SQLITE_INSTALL
    if dialect == "postgresql":
        return POSTGRES_REMOVE if remove else POSTGRES_INSTALL
    raise ValueError(f"no append-only triggers for dialect {dialect!r}")


def _run(op_or_conn: Any, sql: list[str]) -> None:
    for stmt in sql:
        if hasattr(op_or_conn, "get_context"):  # alembic `op`, also in offline (--sql) mode
            op_or_conn.execute(stmt)
        else:
            op_or_conn.exec_driver_sql(stmt)


def _dialect(op_or_conn: Any) -> str:
    if hasattr(op_or_conn, "get_context"):
        return str(op_or_conn.get_context().dialect.name)
    return str(op_or_conn.dialect.name)


def install_append_only(op_or_conn: Any) -> None:
    """Create (or re-create) the triggers on the database behind an alembic `op` or a Connection."""
    _run(op_or_conn, statements(_dialect(op_or_conn)))


def remove_append_only(op_or_conn: Any) -> None:
    """Drop the triggers again (a migration's downgrade)."""
    _run(op_or_conn, statements(_dialect(op_or_conn), remove=True))


def has_append_only(conn: Any) -> bool:
    """Whether the UPDATE and DELETE guards are present (on a Connection)."""
    dialect = str(conn.dialect.name)
    if dialect == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
    elif dialect == "postgresql":
        sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = to_regclass('audit_log')"
    else:
        return False
    names = {row[0] for row in conn.exec_driver_sql(sql)}
    return {"audit_log_no_update", "audit_log_no_delete"} <= names
