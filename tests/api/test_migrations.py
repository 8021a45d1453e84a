"""The migrations alone build exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kefu.core.search.ddl import include_name
from kefu.db import make_engine
from kefu.migrate import current_heads, upgrade
from kefu.models import Base


def test_one_linear_history():
    assert len(current_heads()) == 1


def test_migrations_match_models(request, tmp_path):
    if request.config.getoption("--db") == "postgres":
        url = request.getfixturevalue("fresh_pg_url")
    else:
        url = f"sqlite:///{tmp_path / 'migr.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name}),
            Base.metadata,
        )
    engine.dispose()
    assert diff == [], f"models and migrations differ — run scripts/make_migration.py: {diff}"


def test_downgrade_to_base_and_up_again(request, tmp_path):
    from kefu.migrate import downgrade

    if request.config.getoption("--db") == "postgres":
        url = request.getfixturevalue("fresh_pg_url")
    else:
        url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    engine = make_engine(url)
    upgrade(engine)
    downgrade(engine, "base")
    upgrade(engine)
    engine.dispose()
