"""Customer lookup at operator scale: `python -m bench.customers [--db both] [--customers 1000000]`.

Builds a fresh database per engine (a temporary SQLite file; a scratch PostgreSQL database on
127.0.0.1), loads `--customers` generated individuals (seed 2026: a Chinese name from common
surnames and given names, one unique mobile each, every tenth also a landline) with the same name
keys the service writes (`customers.names.search_keys`: name, full pinyin, initials) — loaded with
bulk inserts, not through the service, which would take hours at this size — then times through
the service functions, as the screen pop and the customer search call them:
- `find_by_phone` for a number typed the way callers' numbers arrive (+86…, 0086…, spaced, plain),
  and for a number nobody has;
- `search` by full pinyin (zhangwei), by initials (zw), by the Chinese name (张伟), page of 20 with
  phones loaded, for an actor with scope `all`.
Prints a Markdown table of medians and p95. Compare runs on the same machine only.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

os.environ.setdefault("KEFU_JOBS_IMMEDIATE", "1")
os.environ.setdefault("KEFU_DATA_DIR", tempfile.mkdtemp(prefix="kefu-bench-"))

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from kefu.core.permissions import build_actor
from kefu.customers import names, search
from kefu.customers.demo_data import GIVEN, SURNAMES
from kefu.customers.models import Customer, CustomerNameKey, CustomerPhone
from kefu.db import make_engine
from kefu.migrate import upgrade
from kefu.org.models import DataScope, Role, User, UserGroup

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "kefu_bench_customers"
MOBILE_PREFIXES = ("138", "139", "136", "186", "159", "177", "180", "189", "135", "150")
BATCH = 20_000


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def mobile(i: int) -> str:
    """A unique mobile number per customer index (prefix cycles, the rest is the index)."""
    return MOBILE_PREFIXES[i % len(MOBILE_PREFIXES)] + f"{i // len(MOBILE_PREFIXES):08d}"


@cache
def keys_of(name: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(names.search_keys(name, person=True)))


@cache
def pinyin_of(name: str) -> str:
    return names.display_pinyin(name, person=True)[:200]


def people(count: int) -> Iterator[tuple[int, str]]:
    rng = random.Random(2026)
    for i in range(count):
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        yield i, rng.choice(SURNAMES) + given


def _database(kind: str, keep: str) -> tuple[str, bool]:
    """(url, needs loading)."""
    if kind == "sqlite":
        path = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="kefu-bench-cust-")) / "bench.db"
        return f"sqlite:///{path}", not (keep and path.exists())
    name = keep or PG_DB
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists and not keep:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        if not exists or not keep:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", not (exists and keep)


def load(session: Session, count: int) -> float:
    t0 = time.perf_counter()
    customers: list[dict[str, object]] = []
    phones: list[dict[str, object]] = []
    keys: list[dict[str, object]] = []

    def flush() -> None:
        session.execute(insert(Customer), customers)
        session.execute(insert(CustomerPhone), phones)
        session.execute(insert(CustomerNameKey), keys)
        session.commit()
        customers.clear()
        phones.clear()
        keys.clear()

    for i, name in people(count):
        cid = i + 1
        number = mobile(i)
        customers.append(
            {"id": cid, "code": f"KH{cid:08d}", "kind": "individual", "name": name, "pinyin": pinyin_of(name)}
        )
        phones.append(
            {
                "customer_id": cid,
                "kind": "mobile",
                "number": number,
                "e164": "+86" + number,
                "is_primary": True,
            }
        )
        if i % 10 == 0:
            land = f"010{60000000 + i % 40000000:08d}"
            phones.append({"customer_id": cid, "kind": "home", "number": land, "e164": "+86" + land})
        keys.extend({"customer_id": cid, "kind": kind, "key": key} for kind, key in keys_of(name))
        if len(customers) >= BATCH:
            flush()
    if customers:
        flush()
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        session.execute(text("SELECT setval('customer_id_seq', (SELECT max(id) FROM customer))"))
        session.commit()
        session.connection().execute(text("ANALYZE"))
    else:
        session.execute(text("ANALYZE"))
    session.commit()
    return time.perf_counter() - t0


def _actor(session: Session):
    user = session.scalar(select(User).where(User.username == "bench"))
    if user is None:
        group = UserGroup(code="bench", name="bench", functions=["customers.customer"])
        session.add(group)
        session.flush()
        role = Role(
            group_id=group.id,
            code="bench",
            name="bench",
            permissions=["customers.customer.view"],
            data_scope=DataScope.ALL,
        )
        user = User(username="bench", name="bench", password_hash="x", roles=[role])
        session.add_all([role, user])
        session.commit()
    for role in user.roles:  # databases kept from runs before the scope was set
        role.data_scope = DataScope.ALL
    session.commit()
    return build_actor(session, user)


def measure(session: Session, count: int, repeat: int) -> list[tuple[str, float, float]]:
    rng = random.Random(7)
    actor = _actor(session)
    rows: list[tuple[str, float, float]] = []

    def timed(label: str, make: Callable[[], Callable[[], object]]) -> None:
        samples = []
        for n in range(repeat + 5):
            fn = make()
            t0 = time.perf_counter()
            fn()
            if n >= 5:  # warm-up
                samples.append(time.perf_counter() - t0)
        median, p95 = summary(samples)
        rows.append((label, median * 1000, p95 * 1000))

    formats = (
        lambda m: "+86" + m,
        lambda m: "0086" + m,
        lambda m: f"{m[:3]} {m[3:7]} {m[7:]}",
        lambda m: m,
    )

    def by_phone() -> Callable[[], object]:
        number = rng.choice(formats)(mobile(rng.randrange(count)))
        return lambda: _one(search.find_by_phone(session, number))

    def unknown_phone() -> Callable[[], object]:
        number = "133" + f"{rng.randrange(10**8):08d}"
        return lambda: search.find_by_phone(session, number)

    sample_names = [name for _, (_, name) in zip(range(5000), people(count), strict=False)]

    def by(kind: str) -> Callable[[], Callable[[], object]]:
        def make() -> Callable[[], object]:
            name = rng.choice(sample_names)
            found = dict(keys_of(name))  # kind -> one key of that kind
            query = {"pinyin": found["pinyin"], "initials": found["initials"][:2], "name": name[:2]}[kind]
            return lambda: search.search(session, actor, query, limit=20)

        return make

    timed("find_by_phone, a customer's mobile typed 4 ways", by_phone)
    timed("find_by_phone, a number nobody has", unknown_phone)
    timed("search by full pinyin (zhangwei), page of 20", by("pinyin"))
    timed("search by initials (zw), page of 20", by("initials"))
    timed("search by Chinese name prefix (张伟), page of 20", by("name"))
    return rows


def _one(found: list[Customer]) -> None:
    if not found:
        raise AssertionError("a generated customer's mobile was not found")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=300, help="timed lookups per row")
    parser.add_argument("--keep-sqlite", default="", help="SQLite file to keep and reuse (built when absent)")
    parser.add_argument("--keep-pg", default="", help="PostgreSQL database to keep and reuse")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results: dict[str, list[tuple[str, float, float]]] = {}
    for kind in kinds:
        url, fresh = _database(kind, args.keep_sqlite if kind == "sqlite" else args.keep_pg)
        engine = make_engine(url)
        if fresh:
            upgrade(engine)
        session = sessionmaker(bind=engine)()
        if fresh:
            seconds = load(session, args.customers)
            print(f"{kind}: loaded {args.customers:,} customers in {seconds:.0f} s")
        total = session.scalar(select(func.count()).select_from(Customer)) or 0
        results[kind] = measure(session, total, args.repeat)
        session.close()
        engine.dispose()
    print(f"\n| case ({args.repeat} lookups, median / p95) | " + " | ".join(kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for i, (label, _, _) in enumerate(results[kinds[0]]):
        cells = [f"{results[k][i][1]:.2f} / {results[k][i][2]:.2f} ms" for k in kinds]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
