"""Test fixtures: a migrated database per run (SQLite by default, PostgreSQL with --db=postgres),
a rollback per test, the app, and helpers to make users with exact permissions."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="kefu-test-"))
os.environ.setdefault("KEFU_DATA_DIR", str(_TMP / "var"))
os.environ.setdefault("KEFU_SECRET_KEY", "test-secret-key")
os.environ["KEFU_JOBS_IMMEDIATE"] = "1"
os.environ.setdefault("KEFU_REDIS_URL", "")

import pytest  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import Connection, Engine, create_engine, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from kefu.db import db, make_engine  # noqa: E402
from kefu.migrate import upgrade  # noqa: E402
from tests.support import Factory  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "KEFU_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default=os.environ.get("KEFU_TEST_DB", "sqlite"),
        choices=["sqlite", "postgres"],
        help="database the suite runs on",
    )


def pg_url(dbname: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + dbname


def create_pg_database(name: str) -> str:
    """A fresh PostgreSQL database; fails loudly when the server is unreachable."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return pg_url(name)


def drop_pg_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.config.getoption("--db") == "postgres":
        # One database per test process, so parallel runs on one server never collide.
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        name = f"kefu_test_{worker}_{os.getpid()}"
        yield create_pg_database(name)
        drop_pg_database(name)
    else:
        yield f"sqlite:///{_TMP / 'test.db'}"


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """An empty PostgreSQL database of its own for this test, dropped afterwards."""
    import uuid

    name = f"kefu_t_{uuid.uuid4().hex[:12]}"
    yield create_pg_database(name)
    drop_pg_database(name)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    from kefu.models import Base

    engine = make_engine(database_url)
    upgrade(engine)
    # Tables whose migration is not written yet still get created, so work in progress can be tested;
    # tests/api/test_migrations.py fails until the migration catches up with the models.
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """One outer transaction per test, rolled back at the end: tests never see each other's rows."""
    conn = engine.connect()
    outer = conn.begin()
    factory = sessionmaker(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint")
    previous = db._factory, db.engine
    db._factory, db.engine = factory, engine
    _forget_caches()
    try:
        yield conn
    finally:
        db._factory, db.engine = previous
        outer.rollback()
        conn.close()
        _forget_caches()


def _forget_caches() -> None:
    """Per-process caches must not outlive a test's rolled-back rows."""
    from kefu.core import search
    from kefu.org.calendar import service as calendar_service
    from kefu.org.config import dictionary

    dictionary.invalidate()
    calendar_service.invalidate()
    search.invalidate()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    s = db.session()
    yield s
    s.close()


@pytest.fixture(scope="session")
def app() -> FastAPI:
    from kefu.app import create_app
    from kefu.settings import Settings

    return create_app(Settings(jobs_immediate=True), configure_database=False)


@pytest.fixture
def client(app: FastAPI, connection: Connection) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", client=("127.0.0.1", 50000)) as c:
        yield c


@pytest.fixture
def factory(session: Session) -> Factory:
    return Factory(session)
