"""Database engine, sessions and the declarative base.

One `Database` per process, configured from settings at start-up (tests configure their own).
A unit of work is one `Session`: the web layer commits it before the response leaves, a job
commits it when the job finishes; services only ever `flush()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from kefu.core import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(clock.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=clock.UTC)
        return value.astimezone(clock.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (SAVEPOINT needs this).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# How SQLite transactions begin in this context. A deferred transaction that reads first and writes
# later fails at once ("database is locked", SQLITE_BUSY_SNAPSHOT, no busy wait) when another
# connection wrote in between — two CTI events at once, say. So transactions take the write lock at
# BEGIN (IMMEDIATE: a second writer waits up to busy_timeout instead), except those of safe HTTP
# requests (GET, HEAD), which stay DEFERRED: they rarely write, and an event stream that holds a
# transaction must never block every writer.
sqlite_begin: ContextVar[str] = ContextVar("sqlite_begin", default="IMMEDIATE")


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN " + sqlite_begin.get())


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        connect_args={"options": PG_SESSION_OPTIONS},
    )


# PostgreSQL's default planner costs assume spinning disks (random_page_cost=4): it then prefers a
# sequential scan of 100,000 tickets to a thousand index probes into pages that are in memory, which
# is 3–5x slower for the workbench boxes. kefu's working set is cached or on SSD: cost accordingly.
PG_SESSION_OPTIONS = "-c random_page_cost=1.1"


class Database:
    """The process's engine and session factory."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None

    def configure(self, url: str, *, echo: bool = False) -> Engine:
        if self.engine is not None:
            self.engine.dispose()
        self.engine = make_engine(url, echo=echo)
        self._factory = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        return self.engine

    def session(self) -> Session:
        if self._factory is None:
            raise RuntimeError("database not configured: call db.configure(url) at start-up")
        return self._factory()

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any error (for jobs and the CLI)."""
        session = self.session()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


db = Database()


def keep_on_error(session: Session) -> None:
    """Commit this unit of work even though the request ends in an error answer.

    For the few writes that must stick *because* a request failed — a failed-login counter, the
    audit record of a refused address — made before anything else is written in the session.
    """
    session.info["kefu_commit_on_error"] = True


def insert_ignoring_conflict(
    session: Session, model: Any, values: dict[str, Any], *, unique: list[str]
) -> Any:
    """An INSERT of `values` into `model`'s table that does nothing when a row with the same
    `unique` columns exists (ON CONFLICT DO NOTHING, on PostgreSQL and SQLite alike): one statement
    instead of a savepoint, an insert that may fail and a release. Add `.returning(...)` to learn
    whether the row was written (no row returned: it existed)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model).values(**values).on_conflict_do_nothing(index_elements=unique)
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(model).values(**values).on_conflict_do_nothing(index_elements=unique)
    raise NotImplementedError(f"no conflict-free insert for {dialect}")
