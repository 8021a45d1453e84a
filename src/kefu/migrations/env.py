"""Alembic environment. Run through `kefu migrate` (or `kefu.migrate.upgrade`), which passes the
connection in; the schema is kefu's models, one linear history for SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import context

from kefu.core.search.ddl import include_name
from kefu.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from kefu.db import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.connect() as conn:
            _configure(conn)
        return
    _configure(connection)


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # The full-text index tables are dialect-specific DDL, not models (see kefu.core.search.ddl).
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
