"""Chinese full-text search at knowledge-base scale: `python -m bench.knowledge_search [--db both]`.

Builds a fresh database per engine (a temporary SQLite file; a scratch PostgreSQL database on
127.0.0.1), indexes `--docs` generated articles (`bench.knowledge_corpus`, seeded) through the
`kefu.core.search` interface (`register_kind` + `reindex`, batched), then times:
- the realistic query mix of `QUERIES` with a `within` filter (published articles, ≈ 90 %), full
  answer: ranking, the page of 20 and its highlighted titles and snippets;
- the same without `within`, and page 3;
- updating one article (`search.index`) on the full index.
Prints a Markdown table of medians and p95. Compare runs on the same machine only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("KEFU_JOBS_IMMEDIATE", "1")
os.environ.setdefault("KEFU_DATA_DIR", tempfile.mkdtemp(prefix="kefu-bench-"))

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import sessionmaker

from bench.knowledge_corpus import QUERIES, articles
from kefu.core import search
from kefu.db import make_engine
from kefu.migrate import upgrade

KIND = "bench_kb"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "kefu_bench_search"

meta = MetaData()
bench_article = Table(
    "bench_article", meta, Column("id", Integer, primary_key=True), Column("status", String(16))
)


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def timed(fn: Callable[[], object], *, repeat: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _database(kind: str, *, keep: str) -> str:
    """A fresh database, or with `keep` a kept one (SQLite file path / PostgreSQL database name)
    that is built only when empty — for measuring queries again without re-indexing."""
    if kind == "sqlite":
        path = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="kefu-bench-search-")) / "bench.db"
        return f"sqlite:///{path}"
    name = keep or PG_DB
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not (keep and exists):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def _corpus(n: int) -> Iterator[tuple[int, str, str, str]]:
    for ref_id, title, _summary, body, keywords in articles(n):
        yield ref_id, title, body, keywords


def run(db_kind: str, *, docs: int, repeat: int, keep: str = "") -> list[tuple[str, str, float, float]]:
    url = _database(db_kind, keep=keep)
    engine = make_engine(url)
    upgrade(engine)
    meta.create_all(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    rows: list[tuple[str, str, float, float]] = []
    name = "SQLite" if db_kind == "sqlite" else "PostgreSQL"

    with factory() as session:
        search.invalidate()
        if session.scalar(select(func.count()).select_from(bench_article)) != docs:
            session.execute(delete(bench_article))
            session.execute(
                insert(bench_article),
                [{"id": i, "status": "draft" if i % 10 == 0 else "published"} for i in range(1, docs + 1)],
            )
            session.commit()
            search.register_kind(KIND, lambda s: _corpus(docs))
            t0 = time.perf_counter()
            count = search.reindex(session, KIND)
            session.commit()
            build = time.perf_counter() - t0
            if db_kind == "postgresql":
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE"))
            print(f"{name}: indexed {count} articles in {build:.1f} s", flush=True)
            rows.append((f"index {count:,} articles (segment + write, batched)", name, build, build))

        published = select(bench_article.c.id).where(bench_article.c.status == "published")
        samples: list[float] = []
        worst: list[tuple[float, str]] = []
        for q in QUERIES:
            got = timed(lambda q=q: search.query(session, KIND, q, within=published), repeat=repeat)
            samples.extend(got)
            worst.append((summary(got)[1], q))
        med, p95 = summary(samples)
        rows.append(("query mix, within = published, page 1 of 20", name, med, p95))
        slowest = ", ".join(f"{q} {t * 1000:.1f}" for t, q in sorted(worst, reverse=True)[:3])
        print(f"{name}: slowest queries by p95 (ms): {slowest}", flush=True)

        samples = []
        for q in QUERIES:
            samples.extend(timed(lambda q=q: search.query(session, KIND, q), repeat=repeat))
        rows.append(("query mix, no within, page 1", name, *summary(samples)))

        samples = []
        for q in QUERIES:
            samples.extend(
                timed(lambda q=q: search.query(session, KIND, q, within=published, offset=40), repeat=repeat)
            )
        rows.append(("query mix, within, page 3", name, *summary(samples)))

        sample_docs = list(articles(200, seed=99))

        def update(it: Iterator[int] = iter(range(10**9))) -> None:
            i = next(it)
            _ref, title, _s, body, keywords = sample_docs[i % len(sample_docs)]
            search.index(session, KIND, 1 + (i * 7919) % docs, title=title, body=body, keywords=keywords)
            session.flush()

        rows.append(("update one article (search.index)", name, *summary(timed(update, repeat=200))))
        session.rollback()
    engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15, help="timed runs of each query")
    parser.add_argument("--keep-sqlite", default="", help="SQLite file to keep and reuse (built when empty)")
    parser.add_argument("--keep-pg", default="", help="PostgreSQL database to keep and reuse")
    args = parser.parse_args()
    kinds = {"sqlite": ["sqlite"], "postgres": ["postgresql"], "both": ["sqlite", "postgresql"]}[args.db]
    rows = []
    for kind in kinds:
        keep = args.keep_sqlite if kind == "sqlite" else args.keep_pg
        rows.extend(run(kind, docs=args.docs, repeat=args.repeat, keep=keep))
    print("\n| case | database | median | p95 |\n|---|---|---|---|")
    for case, db_name, med, p95 in rows:
        if case.startswith("index"):
            print(f"| {case} | {db_name} | {med:.1f} s | — |")
        else:
            print(f"| {case} | {db_name} | {med * 1000:.2f} ms | {p95 * 1000:.2f} ms |")


if __name__ == "__main__":
    main()
