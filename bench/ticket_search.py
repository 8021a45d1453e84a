"""The comprehensive ticket search (综合查询, TKT-10) at scale on PostgreSQL:
`python -m bench.ticket_search [--tickets 1000000] [--repeat 200] [--keep NAME]`.

Builds a scratch PostgreSQL database (kept with `--keep` and reused when it already holds the
tickets), migrates it, adds the staff and departments of `bench.generate` and a ticket type, then loads
by COPY: `--tickets` tickets spread over a year (customers with parent companies, categories,
departments, handlers, natures, external codes, terminal numbers), two processing-log entries each
(registration and handling), callback work for a fifth, the customer-name keys of every ticket, and
the full-text index rows of every ticket (`search_document` + `search_fts`, the terms cut by the
real segmenter through `kefu.core.search.segment` with a domain dictionary in the database, and
written as the PostgreSQL backend writes them), then the tickets' search facets as `kefu reindex`
writes them (timed). A kept database from an older version is migrated first (timed).

Then it times `finder.run` — the page of 20 and the capped total, exactly what the API answers — for
random combinations of three conditions plus a keyword, as an administrator (scope all) and as a
department-scoped team leader, each search twice: with the facets and without (the keyword and the
conditions checked apart), alternating which goes first, and checks that both give the same page.
Prints medians and p95 as a Markdown table. The machine is small and shared: compare runs on the
same machine only, and the two variants within one run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

os.environ.setdefault("KEFU_JOBS_IMMEDIATE", "1")
os.environ.setdefault("KEFU_DATA_DIR", tempfile.mkdtemp(prefix="kefu-bench-"))

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from bench.generate import GIVEN, SURNAMES, generate
from kefu.core import clock, search
from kefu.core.search import backends
from kefu.core.search import text as textmod
from kefu.db import Base, db, make_engine
from kefu.migrate import upgrade

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "kefu_bench_ticket_search"
BATCH = 20_000

# Ticket texts are put together from these phrases, so the keyword mix has common and rare terms.
PRODUCTS = ["宽带", "机顶盒", "光猫", "卫星电话", "固定电话", "手机", "智能卡", "电视", "路由器", "电表"]
PROBLEMS = [
    "无法上网",
    "黑屏",
    "信号弱",
    "无信号",
    "频繁掉线",
    "欠费停机",
    "无法开机",
    "网速慢",
    "杂音大",
    "无法登录",
]
REQUESTS = [
    "咨询资费",
    "投诉服务态度",
    "要求上门维修",
    "申请退费",
    "变更套餐",
    "发票邮寄",
    "地址变更",
    "报装新业务",
]
DETAILS = [
    "客户反映已重启设备无效",
    "指示灯闪烁红色",
    "已指导客户检查线路",
    "客户要求尽快处理",
    "多次来电未解决",
    "需安排工程师上门",
    "疑似区域性故障",
    "客户情绪激动",
    "已核实账户余额不足",
    "客户同意等待回复",
]
REPLIES = ["已派单维修", "已更换设备", "已联系客户确认恢复", "已退费处理", "已升级至二线", "已解释资费标准"]
KEYWORDS = [
    "宽带",
    "机顶盒",
    "黑屏",
    "信号",
    "上门维修",
    "退费",
    "欠费停机",
    "路由器",
    "光猫",
    "发票",
    "杂音",
    "工程师",
]
DOMAIN_WORDS = [
    "光猫",
    "机顶盒",
    "卫星电话",
    "固定电话",
    "智能卡",
    "路由器",
    "上门维修",
    "欠费停机",
    "工程师",
]
NATURES = ["inquiry", "complaint", "suggestion", "fault", "service_request", "praise"]
CHANNELS = ["phone", "email", "web", "wechat", "sms"]
PRIORITIES = ["normal"] * 8 + ["urgent"] * 2 + ["critical"]


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def _database(keep: str, *, fresh: bool = False) -> tuple[str, bool]:
    """The database's URL and whether it is a kept one that already existed."""
    name = keep or PG_DB
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if fresh or not (keep and exists):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name, bool(keep and exists)


def _copy(conn: Any, table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


class Texts:
    """Ticket texts and their index terms, cut once per phrase by the real segmenter."""

    def __init__(self) -> None:
        self._terms: dict[str, list[str]] = {}

    def terms(self, phrase: str) -> list[str]:
        found = self._terms.get(phrase)
        if found is None:
            found = self._terms[phrase] = search.segment(phrase)
        return found

    def ticket(self, rng: random.Random) -> tuple[str, list[str], str, list[str], list[str]]:
        product = rng.choice(PRODUCTS)
        subject = product + (rng.choice(PROBLEMS) if rng.random() < 0.7 else rng.choice(REQUESTS))
        parts = rng.sample(DETAILS, 2)
        description = "，".join(parts) + "。"
        replies = [rng.choice(REPLIES)] if rng.random() < 0.5 else []
        title_terms = self.terms(product) + self.terms(subject[len(product) :])
        body_terms = [t for p in parts for t in self.terms(p)] + [t for r in replies for t in self.terms(r)]
        return subject, title_terms, description, body_terms, replies


def build(url: str, count: int, seed: int = 23) -> dict[str, Any]:
    from kefu.core.errors import FieldError
    from kefu.core.permissions import build_actor
    from kefu.core.search import dictionary
    from kefu.customers import names
    from kefu.org.config.dictionary import seed_defaults
    from kefu.org.models import Role, User, UserGroup, UserRole
    from kefu.tickets import presets
    from kefu.tickets.models import BusinessCategory

    rng = random.Random(seed)
    engine = db.configure(url)  # jobs run at once here (a dictionary change re-segments after commit)
    upgrade(engine)
    Base.metadata.create_all(engine)  # tables whose migration is not written yet
    t0 = time.perf_counter()
    with Session(engine) as s, s.begin():
        seed_defaults(s)
        org = generate(s, users=300, departments=20, seed=seed)
        group = UserGroup(code="bench_admin", name="admin", functions=[])
        s.add(group)
        s.flush()
        admin_role = Role(
            group_id=group.id, code="bench_admin", name="admin", all_permissions=True, data_scope="all"
        )
        s.add(admin_role)
        admin = User(username="admin", name="admin", password_hash="", must_change_password=False)
        admin.roles = [admin_role]
        s.add(admin)
        s.flush()
        ticket_type = presets.standard_type(
            s, actor=build_actor(s, admin), department_id=org["departments"][1]
        )
        categories = []
        for i in range(30):
            cat = BusinessCategory(code=f"c{i}", name=f"业务{i}", path="")
            s.add(cat)
            s.flush()
            cat.path = f"/{cat.id}/"
            categories.append(cat.id)
        # A team leader: the tickets view permission with department scope.
        lead_group = UserGroup(code="bench_lead", name="lead", functions=["tickets.ticket"])
        s.add(lead_group)
        s.flush()
        lead_role = Role(
            group_id=lead_group.id,
            code="bench_lead",
            name="lead",
            permissions=["tickets.ticket.view"],
            data_scope="department",
        )
        s.add(lead_role)
        s.flush()
        leader_id = org["user_ids"][0]
        s.add(UserRole(user_id=leader_id, role_id=lead_role.id))
        users = org["user_ids"]
        dept_of = dict(s.execute(select(User.id, User.department_id)).tuples().all())
        type_id = ticket_type.id
        # The domain dictionary an operator keeps (搜索词典): 光猫 stays one term, as in the product.
        admin_actor = build_actor(s, admin)
        for word in DOMAIN_WORDS:
            with contextlib.suppress(FieldError):  # seeded already (the default domain words)
                dictionary.add_word(s, actor=admin_actor, word=word)
    with Session(engine) as s:
        textmod.invalidate()
        textmod.current(s)  # the ticket texts below are cut with those words
    conn_engine = engine
    # Customers: 2,000 companies with 10 subsidiaries each, and 30,000 people.
    customer_names: list[tuple[str, bool]] = []
    with conn_engine.begin() as conn:
        now = clock.now()
        rows, keys, parents = [], [], []
        cid = 0
        for p in range(2000):
            cid += 1
            parents.append(cid)
            rows.append((cid, "enterprise", f"集团{p}公司", "", "active", None, now, now, 1))
            for k in range(10):
                cid += 1
                rows.append((cid, "enterprise", f"集团{p}分公司{k}", "", "active", parents[-1], now, now, 1))
        for _ in range(30_000):
            cid += 1
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            rows.append((cid, "individual", name, "", "active", None, now, now, 1))
        for r in rows:
            person = r[1] == "individual"
            customer_names.append((r[2], person))
            for kind, key in names.search_keys(r[2], person=person):
                keys.append((r[0], kind, key))
        cols = [
            "id",
            "kind",
            "name",
            "pinyin",
            "status",
            "parent_id",
            "created_at",
            "updated_at",
            "lock_version",
        ]
        _copy(conn, "customer", [*cols, "contact_person", "note"], ((*r, "", "") for r in rows))
        _copy(conn, "customer_name_key", ["customer_id", "kind", "key"], keys)
    n_customers = len(customer_names)
    texts = Texts()
    key_cache: dict[str, set[tuple[str, str]]] = {}
    start = clock.now() - timedelta(days=365)
    ticket_cols = [
        "id", "serial", "type_id", "category_id", "channel", "subject", "description", "priority", "nature",
        "customer_id", "customer_name", "customer_phone", "customer_email", "fields", "status", "stage",
        "handler_id", "creator_id", "creator_department_id", "department_id", "urge_count", "reopen_count",
        "external_code", "terminal_no", "complaint_flag", "created_at", "updated_at", "closed_at",
        "lock_version",
    ]  # fmt: skip
    log_cols = [
        "ticket_id",
        "at",
        "user_id",
        "department_id",
        "action",
        "node_id",
        "node_name",
        "comment",
        "detail",
    ]
    doc_cols = ["id", "kind", "ref_id", "title", "body", "keywords", "indexed_at"]
    fts_cols = ["doc_id", "kind", "ref_id", "tsv", "title_tsv"]
    serials: list[str] = []
    for first in range(1, count + 1, BATCH):
        tickets, logs, callbacks, name_keys, docs, fts = [], [], [], [], [], []
        for tid in range(first, min(first + BATCH, count + 1)):
            created = start + timedelta(seconds=int(365 * 86400 * (tid - 1) / count) + rng.randrange(0, 60))
            r = rng.random()
            status = (
                "open" if r < 0.10 else "suspended" if r < 0.12 else "cancelled" if r < 0.15 else "closed"
            )
            creator = rng.choice(users)
            handler = rng.choice(users)
            cust = rng.randrange(n_customers) if rng.random() < 0.7 else None
            cname, person = (
                customer_names[cust] if cust is not None else (rng.choice(SURNAMES) + rng.choice(GIVEN), True)
            )
            subject, title_terms, description, body_terms, replies = texts.ticket(rng)
            serial = f"TS-{created:%Y%m%d}-{tid:07d}"
            if tid % 997 == 0:
                serials.append(serial)
            closed = created + timedelta(hours=rng.randrange(1, 96)) if status == "closed" else None
            tickets.append(
                (
                    tid, serial, type_id, rng.choice(categories), rng.choice(CHANNELS), subject, description,
                    rng.choice(PRIORITIES), rng.choice(NATURES), cust + 1 if cust is not None else None,
                    cname,
                    f"138{tid:08d}", "", "{}", status, "处理" if status == "open" else "",
                    handler if status in ("open", "suspended") else None, creator, dept_of[creator],
                    dept_of[handler], 0, 0, f"INM{tid:08d}" if tid % 20 == 0 else "",
                    f"T{tid % 50000:06d}" if tid % 3 == 0 else "", "", created, closed or created, closed, 1,
                )
            )  # fmt: skip
            logs.append((tid, created, creator, dept_of[creator], "created", "", "", subject, "{}"))
            logs.append(
                (tid, created + timedelta(hours=1), handler, dept_of[handler],
                 "replied" if replies else "completed",
                 "handle", "处理", replies[0] if replies else "", "{}")
            )  # fmt: skip
            if status == "closed" and rng.random() < 0.2:
                callbacks.append(
                    (tid, rng.choice(users), "done" if rng.random() < 0.7 else "pending", 0, "", created, 1)
                )
            ks = key_cache.get(cname)
            if ks is None:
                ks = key_cache[cname] = names.search_keys(cname, person=person)
            name_keys.extend((tid, kind, key) for kind, key in ks)
            body = "\n".join([description, *replies])
            docs.append((tid, "tickets", tid, subject, body, "", created))
            tsv = backends.tsvector_literal([(title_terms, "A"), ([], "B"), (body_terms, "D")])
            ttsv = backends.tsvector_literal([(title_terms, "A"), ([], "B")])
            fts.append((tid, "tickets", tid, tsv, ttsv))
        with conn_engine.begin() as conn:
            _copy(conn, "ticket", ticket_cols, tickets)
            _copy(conn, "ticket_log", log_cols, logs)
            _copy(
                conn,
                "ticket_callback",
                ["ticket_id", "assignee_id", "status", "attempts", "result", "created_at", "lock_version"],
                callbacks,
            )
            _copy(conn, "ticket_name_key", ["ticket_id", "kind", "key"], name_keys)
            _copy(conn, "search_document", doc_cols, docs)
            _copy(conn, "search_fts", fts_cols, fts)
        done = min(first + BATCH - 1, count)
        if done % 100_000 == 0 or done == count:
            print(f"loaded {done:,} tickets in {time.perf_counter() - t0:.0f} s", flush=True)
    with conn_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("ticket", "ticket_log", "ticket_callback", "search_document", "customer"):
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )
        conn.execute(text("ANALYZE"))
    print(f"loaded in {time.perf_counter() - t0:.0f} s", flush=True)
    _write_facets(conn_engine)
    with conn_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"built in {time.perf_counter() - t0:.0f} s", flush=True)
    info = {"serials": serials, "leader_id": leader_id, "admin": "admin"}
    with conn_engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_info (v text)"))
        conn.execute(text("DELETE FROM bench_info"))
        conn.execute(text("INSERT INTO bench_info VALUES (:v)"), {"v": json.dumps(info)})
    engine.dispose()
    return info


def _write_facets(engine: Any) -> None:
    """The tickets' search facets, as `kefu reindex` (and migration 0018 on an upgrade) write them."""
    from kefu.tickets import facets

    t0 = time.perf_counter()
    with Session(engine) as s, s.begin():
        facets.rebuild(s)
    print(f"facets of every ticket written in {time.perf_counter() - t0:.0f} s", flush=True)


def condition_pool(s: Session, info: dict[str, Any]) -> dict[str, Callable[[random.Random], dict[str, Any]]]:
    from kefu.customers.models import Customer
    from kefu.org.models import Department, User
    from kefu.tickets.models import BusinessCategory

    users = list(s.scalars(select(User.id)))
    depts = list(s.scalars(select(Department.id)))
    cats = list(s.scalars(select(BusinessCategory.id)))
    parents = list(
        s.scalars(select(Customer.id).where(Customer.kind == "enterprise", Customer.parent_id.is_(None)))
    )
    pinyins = ["zh", "wang", "lw", "li", "zhangw", "chen", "hj", "liuf", "zs", "ma"]
    today = clock.to_local(clock.now()).date()

    def window(r: random.Random) -> dict[str, Any]:
        end = today - timedelta(days=r.randrange(0, 300))
        return {
            "created_from": (end - timedelta(days=r.choice([7, 30, 90]))).isoformat(),
            "created_to": end.isoformat(),
        }

    return {
        "status": lambda r: {"status": r.choice(["open", "closed", "suspended", "open,suspended"])},
        "customer_pinyin": lambda r: {"customer_pinyin": r.choice(pinyins)},
        "serial": lambda r: {"serial": r.choice(info["serials"])},
        "category_id": lambda r: {"category_id": r.choice(cats)},
        "created": window,
        "accept_department_id": lambda r: {"accept_department_id": r.choice(depts)},
        "accept_user_id": lambda r: {"accept_user_id": r.choice(users)},
        "handler_id": lambda r: {"handler_id": r.choice(users)},
        "department_id": lambda r: {"department_id": r.choice(depts)},
        "nature": lambda r: {"nature": r.choice(NATURES)},
        "priority": lambda r: {"priority": r.choice(["urgent", "critical"])},
        "channel": lambda r: {"channel": r.choice(CHANNELS)},
        "external_code": lambda r: {"external_code": f"INM{r.randrange(1, 50000) * 20:08d}"},
        "terminal_no": lambda r: {"terminal_no": f"T{r.randrange(0, 50000):06d}"},
        "callback": lambda r: {"callback": r.choice(["yes", "no", "done"])},
        "past_handler_id": lambda r: {"past_handler_id": r.choice(users)},
        "past_department_id": lambda r: {"past_department_id": r.choice(depts)},
        "parent_customer_id": lambda r: {"parent_customer_id": r.choice(parents)},
        "customer_name": lambda r: {"customer_name": r.choice(SURNAMES) + r.choice(GIVEN)},
        "subject": lambda r: {"subject": r.choice(PRODUCTS)},
    }


def _search(s: Session, actor: Any, c: Any, *, facets_on: bool) -> tuple[float, list[int], int, bool]:
    """One search as the API runs it; `facets_on` False: the keyword and the conditions are checked
    apart, as before the facets (for an A/B on the same data and machine)."""
    from kefu.tickets import facets, finder

    real = facets.query
    if not facets_on:
        facets.query = lambda *_a, **_k: None  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        result = finder.run(s, actor, c)
        took = time.perf_counter() - t0
    finally:
        facets.query = real  # type: ignore[assignment]
        s.rollback()
    return took, [t.id for t in result.rows], result.total, result.counted


def measure(
    url: str, info: dict[str, Any], *, repeat: int, seed: int = 5
) -> list[tuple[str, float, float, str]]:
    """Each search twice, with the facets and without, alternating which goes first; the answers
    must be the same."""
    from kefu.core.permissions import build_actor
    from kefu.org.models import User
    from kefu.tickets import finder

    engine = make_engine(url)
    rows: list[tuple[str, float, float, str]] = []
    with Session(engine) as s:
        textmod.invalidate()
        textmod.current(s)  # the bench database's domain dictionary cuts the keywords
        pool = condition_pool(s, info)
        admin = build_actor(s, s.scalars(select(User).where(User.username == "admin")).one())
        leader = build_actor(s, s.get(User, info["leader_id"]))
        rng = random.Random(seed)
        for who, actor in (("administrator (scope all)", admin), ("team leader (department scope)", leader)):
            samples: dict[bool, list[float]] = {True: [], False: []}
            slow: dict[bool, list[tuple[float, str]]] = {True: [], False: []}
            differ = 0
            uncounted = {True: 0, False: 0}
            # Warm up once per process what every search shares (the segmenter, the pinyin tables).
            warm = finder.parse(
                {"keyword": "宽带", "status": "open", "customer_name": "张", "customer_pinyin": "z"}
            )
            _search(s, actor, warm, facets_on=True)
            _search(s, actor, warm, facets_on=False)
            for n in range(repeat):
                names = rng.sample(sorted(pool), 3)
                params: dict[str, Any] = {"keyword": rng.choice(KEYWORDS)}
                for name in names:
                    params.update(pool[name](rng))
                c = finder.parse(params)
                label = json.dumps(params, ensure_ascii=False)
                answers = {}
                for on in (True, False) if n % 2 == 0 else (False, True):
                    took, ids, total, counted = _search(s, actor, c, facets_on=on)
                    uncounted[on] += not counted
                    samples[on].append(took)
                    slow[on].append((took, label))
                    answers[on] = (ids, total)
                if answers[True][0] != answers[False][0]:
                    differ += 1
                    print(f"DIFFERENT ANSWERS: {label}: {answers}", flush=True)
            for on in (True, False):
                med, p95 = summary(samples[on])
                worst = "; ".join(f"{q} {t * 1000:.0f} ms" for t, q in sorted(slow[on], reverse=True)[:3])
                how = "facets" if on else "no facets"
                rows.append(
                    (f"3 random conditions + keyword, page 1 of 20 + total, {who}, {how}", med, p95, worst)
                )
                print(
                    f"{who}, {how}: median {med * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, total not counted "
                    f"in time for {uncounted[on]} of {repeat}; slowest: {worst}"
                )
            print(f"{who}: {differ} of {repeat} searches answered differently", flush=True)
        with_count = int(s.scalar(select(func.count()).select_from(text("ticket"))) or 0)
    engine.dispose()
    print(f"\n{with_count:,} tickets on PostgreSQL, {repeat} searches each\n")
    print("| Case | median (ms) | p95 (ms) |")
    print("|---|---:|---:|")
    for case, med, p95, _ in rows:
        print(f"| {case} | {med * 1000:.1f} | {p95 * 1000:.1f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--keep", default="", help="reuse this PostgreSQL database when it holds the tickets")
    args = parser.parse_args()
    url, kept = _database(args.keep)
    info: dict[str, Any] | None = None
    if kept:
        engine = create_engine(url)
        with engine.connect() as conn:
            try:
                info = json.loads(conn.scalar(text("SELECT v FROM bench_info")) or "null")
                have = int(conn.scalar(text("SELECT count(*) FROM ticket")) or 0)
            except Exception:
                info, have = None, 0
        engine.dispose()
        if info is not None and have == args.tickets:
            t0 = time.perf_counter()
            upgrade(make_engine(url))  # a database kept from an older version (0018 fills the facets)
            print(f"migrated in {time.perf_counter() - t0:.0f} s", flush=True)
        if have != args.tickets:
            info = None
            url, _ = _database(args.keep, fresh=True)  # another size, or unfinished: build afresh
    if info is None:
        info = build(url, args.tickets)
    measure(url, info, repeat=args.repeat)


if __name__ == "__main__":
    main()
