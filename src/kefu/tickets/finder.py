"""The comprehensive ticket search (综合查询, TKT-10): conditions parsed from request parameters, one
SELECT built from them, restricted by the data scope of `tickets.ticket.view`, paged and sorted.

Every condition is optional and they combine with AND:
- `status` (several), `customer_name` (the start of the name: 张 / 张三), `customer_pinyin` (the start
  of the full pinyin or the initials: zhangsan / zs / zhangs) — both through `ticket_name_key`, the
  keys of the name as registered on the ticket and of the customer it was linked to —, `serial`
  (exact), `category_id` (with its subcategories),
  `type_id`, `subject` (the subject's words through the full-text index, then the exact text),
  `created_from` / `created_to` (a day or a time in the deployment's zone; a day `to` includes the
  whole day), `keyword` (Chinese full text over subject,
  description and replies, through `kefu.core.search`), `accept_department_id` / `accept_user_id`
  (受理部门 / 受理员工: who registered it), `department_id` / `handler_id` (where and with whom it is
  now), `nature`, `priority`, `channel`, `area`, `external_code` (e.g. an Inmarsat code),
  `terminal_no`, `callback` (yes: has callback work, no: has none, done: called back),
  `past_handler_id` / `past_department_id` (anyone / any department in the processing log),
  `parent_customer_id` (tickets of that customer and of its direct subsidiaries).
- `sort` created / updated / serial / priority, `order` asc / desc, `page`, `size`.

`created` sorts by registration order (the primary key: ids are given out as tickets are registered),
so a wide search walks the newest tickets instead of sorting every match. The total is counted up to
`COUNT_CAP` rows ("more than" beyond that): an exact count of a wide search over a million tickets
costs more than the page itself.

Tickets are indexed for the keyword (kind "tickets") in the caller's transaction when they are
registered and when someone replies (`index_ticket`, called by the ticket service).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    case,
    column,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from kefu.core import clock
from kefu.core.errors import FieldError, FieldErrors, NotFound
from kefu.core.permissions import Actor
from kefu.customers import names
from kefu.customers.models import Customer, CustomerKind
from kefu.org.config.dictionary_cache import items as dictionary_items
from kefu.tickets import access, facets
from kefu.tickets.models import (
    BusinessCategory,
    CallbackStatus,
    CallbackTask,
    Ticket,
    TicketLog,
    TicketStatus,
)
from kefu.tickets.search_models import TicketNameKey

T = TypeVar("T")
KIND = "tickets"
REPLY_ACTIONS = ("replied",)
PAGE_SIZE = 20
PAGE_MAX = 100
COUNT_CAP = 10_000
COUNT_MS = 60  # PostgreSQL: how long the total may take before the page says "more than"
TEXT_MAX = 100
SORTS = ("created", "updated", "serial", "priority")
ORDERS = ("desc", "asc")
CALLBACK = ("yes", "no", "done")
STATUSES = tuple(s.value for s in TicketStatus)

# Parameter → kind: "text" (stripped, at most TEXT_MAX), "id" (a positive integer), "code" (a short
# code), "when" (a day or a time), "status" (several), "callback", "pinyin".
FIELDS: dict[str, str] = {
    "status": "status",
    "customer_name": "text",
    "customer_pinyin": "pinyin",
    "serial": "text",
    "category_id": "id",
    "type_id": "id",
    "subject": "text",
    "created_from": "when",
    "created_to": "when",
    "keyword": "text",
    "accept_department_id": "id",
    "accept_user_id": "id",
    "department_id": "id",
    "handler_id": "id",
    "nature": "code",
    "priority": "code",
    "channel": "code",
    "area": "code",
    "external_code": "text",
    "terminal_no": "text",
    "callback": "callback",
    "past_handler_id": "id",
    "past_department_id": "id",
    "parent_customer_id": "id",
}
CONTROL = ("sort", "order", "page", "size")


@dataclass
class Conditions:
    """Parsed conditions: `values` holds only the given ones, already cleaned."""

    values: dict[str, Any] = field(default_factory=dict)
    sort: str = "created"
    order: str = "desc"
    page: int = 1
    size: int = PAGE_SIZE
    given: dict[str, str] = field(default_factory=dict)  # times as they were written

    def params(self, *, paging: bool = False) -> dict[str, Any]:
        """The conditions as search parameters (for links, saved queries and the audit record)."""
        out: dict[str, Any] = {}
        for name, value in self.values.items():
            out[name] = self.given.get(name, value)
        if self.sort != "created" or self.order != "desc":
            out["sort"], out["order"] = self.sort, self.order
        if paging:
            out["page"], out["size"] = self.page, self.size
        return out

    def query_pairs(self, **override: Any) -> list[tuple[str, str]]:
        """(name, value) pairs for a URL query string; `override` replaces control values."""
        params = {**self.params(), "sort": self.sort, "order": self.order, **override}
        pairs: list[tuple[str, str]] = []
        for name, value in params.items():
            for v in value if isinstance(value, list) else [value]:
                pairs.append((name, str(v)))
        return pairs


def _one(raw: Mapping[str, Any], name: str) -> Any:
    getlist = getattr(raw, "getlist", None)
    if getlist is not None:
        got = [v for v in getlist(name) if str(v).strip() != ""]
        return got[-1] if got else None
    value = raw.get(name)
    if isinstance(value, list):
        value = value[-1] if value else None
    return value


def _many(raw: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(raw, "getlist", None)
    got = getlist(name) if getlist is not None else raw.get(name)
    if got is None:
        return []
    if not isinstance(got, list | tuple):
        got = [got]
    out: list[str] = []
    for value in got:
        out.extend(p.strip() for p in str(value).split(",") if p.strip())
    return out


def _when(value: str, name: str) -> datetime:
    """A day (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM[:SS]) in the local zone, as an aware UTC
    instant; a day `created_to` is the end of that day (exclusive bound)."""
    text_value = value.strip().replace(" ", "T")
    try:
        if len(text_value) == 10:
            day = date.fromisoformat(text_value)
            if name == "created_to":
                day += timedelta(days=1)
            at = datetime.combine(day, time(0), tzinfo=clock.local_tz())
        else:
            at = datetime.fromisoformat(text_value)
            at = at.replace(tzinfo=clock.local_tz()) if at.tzinfo is None else at
    except ValueError:
        raise FieldError(name, "Enter a date as YYYY-MM-DD or a time as YYYY-MM-DD HH:MM") from None
    return at.astimezone(clock.UTC)


def parse(raw: Mapping[str, Any]) -> Conditions:
    """Conditions from request parameters (a query string, a form or a saved query's dict); unknown
    names are ignored, bad values raise FieldErrors naming every bad field."""
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    given: dict[str, str] = {}
    for name, kind in FIELDS.items():
        if kind == "status":
            chosen = _many(raw, name)
            bad = [s for s in chosen if s not in STATUSES]
            if bad:
                errors.append(FieldError(name, "Choose one of the offered values"))
            elif chosen:
                values[name] = list(dict.fromkeys(chosen))
            continue
        value = _one(raw, name)
        if value is None or str(value).strip() == "":
            continue
        value = str(value).strip()
        if kind == "id":
            if not value.isdigit() or not 0 < int(value) < 2**31:
                errors.append(FieldError(name, "Enter a whole number"))
            else:
                values[name] = int(value)
        elif kind == "when":
            try:
                values[name] = _when(value, name)
                given[name] = value
            except FieldError as exc:
                errors.append(exc)
        elif kind == "callback":
            if value not in CALLBACK:
                errors.append(FieldError(name, "Choose one of the offered values"))
            else:
                values[name] = value
        elif kind == "pinyin":
            key = names.fold(value)[: names.MAX_KEY]
            if not key:
                errors.append(FieldError(name, "Enter letters or Chinese characters"))
            else:
                values[name] = key
        elif kind == "code":
            if len(value) > 60:
                errors.append(FieldError(name, "At most %(n)s characters", n=60))
            else:
                values[name] = value
        else:
            if len(value) > TEXT_MAX:
                errors.append(FieldError(name, "At most %(n)s characters", n=TEXT_MAX))
            else:
                values[name] = value
    start, end = values.get("created_from"), values.get("created_to")
    if start is not None and end is not None and end <= start:
        errors.append(FieldError("created_to", "The end must be after the start"))
    sort = str(_one(raw, "sort") or "created").strip()
    if sort not in SORTS:
        errors.append(FieldError("sort", "Choose one of the offered values"))
    order = str(_one(raw, "order") or "desc").strip()
    if order not in ORDERS:
        errors.append(FieldError("order", "Choose one of the offered values"))
    page = _number(raw, "page", 1, 1, 10_000, errors)
    size = _number(raw, "size", PAGE_SIZE, 1, PAGE_MAX, errors)
    if errors:
        raise FieldErrors(errors)
    return Conditions(values=values, sort=sort, order=order, page=page, size=size, given=given)


def _number(raw: Mapping[str, Any], name: str, default: int, low: int, high: int, errors: list) -> int:
    value = _one(raw, name)
    if value is None or str(value).strip() == "":
        return default
    text_value = str(value).strip()
    if not text_value.isdigit() or not low <= int(text_value) <= high:
        errors.append(FieldError(name, "Enter a number from %(low)s to %(high)s", low=low, high=high))
        return default
    return int(text_value)


# --- the query -----------------------------------------------------------------------------------------


def _upper_bound(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


_pg_fts = table("search_fts", column("doc_id", Integer), column("kind", String), column("ref_id", Integer))


def keyword_condition(
    session: Session,
    keyword: str,
    *,
    title_only: bool = False,
    subject: str | None = None,
    facet_query: str | None = None,
) -> ColumnElement[bool] | None:
    """Tickets whose subject, description or replies (`title_only`: subject) hold every term of
    `keyword`, the terms as the shared Chinese full-text index cuts them; None when the keyword has
    no searchable term. PostgreSQL, not with `title_only`: `subject`, words the subject must hold
    too, and `facet_query`, the other conditions as facet lexemes (`facets.query`), are matched in
    the same index scan."""
    from kefu.core import search
    from kefu.core.search import backends
    from kefu.core.search.models import SearchDocument

    terms = search.query_terms(keyword)
    if not terms:
        return None
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # The index row carries (kind, ref_id), indexed (migration 0016): the planner either collects
        # the matches from the GIN index and probes the tickets, or, when the other conditions leave
        # few tickets, checks the terms ticket by ticket — without a detour through search_document
        # (which doubled the cost of a common keyword: 2.6 s down to 0.3 s for one case measured).
        if title_only:
            query = backends.tsquery_text(terms, any_term=False)
            matches = literal_column("search_fts.title_tsv").op("@@")(backends.tsquery_literal(query))
            return Ticket.id.in_(select(_pg_fts.c.ref_id).where(_pg_fts.c.kind == KIND, matches))
        # One GIN scan over (tsv, facets) intersects the posting lists of the keyword, the subject's
        # words (title terms have weight A in `tsv`) and the conditions: only tickets matching all
        # of them are read (see `facets`).
        parts = [backends.tsquery_text(terms, any_term=False)]
        title_terms = search.query_terms(subject) if subject else []
        if title_terms:
            parts.append(backends.tsquery_text(title_terms, any_term=False, weight="A"))
        matches = literal_column("search_fts.tsv").op("@@")(backends.tsquery_literal(" & ".join(parts)))
        rows = select(_pg_fts.c.ref_id).where(_pg_fts.c.kind == KIND, matches)
        if facet_query:
            rows = rows.where(
                literal_column("search_fts.facets").op("@@")(backends.tsquery_literal(facet_query))
            )
        return Ticket.id.in_(rows)
    fts = "search_fts_title" if title_only else "search_fts"
    param = "ticket_title_q" if title_only else "ticket_q"
    docs = (
        select(literal_column("rowid"))
        .select_from(text(fts))
        .where(
            text(f"{fts} MATCH :{param}").bindparams(**{param: backends.fts5_query(terms, any_term=False)})
        )
    )
    ids = select(SearchDocument.ref_id).where(SearchDocument.kind == KIND, SearchDocument.id.in_(docs))
    return Ticket.id.in_(ids)


def _terms(keyword: str) -> list[str]:
    from kefu.core import search

    return search.query_terms(keyword)


def _name_condition(key: str, *, kind: str | None = None) -> ColumnElement[bool]:
    """Tickets with a customer-name key starting with `key` (`kind`: only keys of that kind)."""
    keys = select(TicketNameKey.ticket_id).where(
        TicketNameKey.key >= key, TicketNameKey.key < _upper_bound(key)
    )
    if kind is not None:
        keys = keys.where(TicketNameKey.kind == kind)
    return Ticket.id.in_(keys)


def _contains(col: Any, value: str) -> ColumnElement[bool]:
    return col.icontains(value, autoescape=True)


def _categories(session: Session, category_id: int) -> tuple[ColumnElement[bool], list[int]]:
    """The condition for a category with its subcategories, and their ids (up to one more than
    `facets.MAX_CHOICES`)."""
    path = session.scalar(select(BusinessCategory.path).where(BusinessCategory.id == category_id))
    if not path:
        return Ticket.category_id == category_id, [category_id]
    sub = select(BusinessCategory.id).where(
        BusinessCategory.path >= path, BusinessCategory.path < _upper_bound(path)
    )
    return Ticket.category_id.in_(sub), list(session.scalars(sub.limit(facets.MAX_CHOICES + 1)))


def conditions(session: Session, c: Conditions) -> list[ColumnElement[bool]]:
    """The WHERE clauses of `c` (without the data scope).

    On PostgreSQL, with a keyword, the keyword, the subject's words and the conditions the tickets'
    facets can answer are matched in one scan of the full-text index (`facets`); the conditions
    it answers exactly are not repeated on the ticket."""
    v = c.values
    category, categories = _categories(session, v["category_id"]) if "category_id" in v else (None, None)
    together = _postgres(session) and "keyword" in v and bool(_terms(v["keyword"]))
    facet_query = facets.query(v, categories=categories) if together else None
    covered = facet_query.covered if facet_query is not None else frozenset()

    def wanted(name: str) -> bool:
        return name in v and name not in covered

    found: list[ColumnElement[bool]] = []
    if wanted("status"):
        found.append(Ticket.status.in_([TicketStatus(s) for s in v["status"]]))
    if wanted("customer_name"):
        key = names.fold(v["customer_name"])[: names.MAX_KEY]
        found.append(
            _name_condition(key, kind="name") if key else _contains(Ticket.customer_name, v["customer_name"])
        )
    if wanted("customer_pinyin"):
        found.append(_name_condition(v["customer_pinyin"]))
    if wanted("serial"):
        found.append(Ticket.serial == v["serial"])
    if category is not None and wanted("category_id"):
        found.append(category)
    if "subject" in v:
        # The words of the subject through the full-text index, then the exact text among those.
        words = None if together else keyword_condition(session, v["subject"], title_only=True)
        if words is not None:
            found.append(words)
        found.append(_contains(Ticket.subject, v["subject"]))
    if "created_from" in v:
        found.append(Ticket.created_at >= v["created_from"])
    if "created_to" in v:
        found.append(Ticket.created_at < v["created_to"])
    for name, col in (
        ("type_id", Ticket.type_id),
        ("accept_department_id", Ticket.creator_department_id),
        ("accept_user_id", Ticket.creator_id),
        ("department_id", Ticket.department_id),
        ("handler_id", Ticket.handler_id),
        ("nature", Ticket.nature),
        ("priority", Ticket.priority),
        ("channel", Ticket.channel),
        ("area", Ticket.area),
        ("external_code", Ticket.external_code),
        ("terminal_no", Ticket.terminal_no),
    ):
        if wanted(name):
            found.append(col == v[name])
    if wanted("callback"):
        has = exists().where(CallbackTask.ticket_id == Ticket.id)
        if v["callback"] == "yes":
            found.append(has)
        elif v["callback"] == "no":
            found.append(~has)
        else:
            found.append(
                exists().where(
                    CallbackTask.ticket_id == Ticket.id, CallbackTask.status == CallbackStatus.DONE
                )
            )
    if wanted("past_handler_id"):
        found.append(
            exists().where(TicketLog.user_id == v["past_handler_id"], TicketLog.ticket_id == Ticket.id)
        )
    if wanted("past_department_id"):
        found.append(
            exists().where(
                TicketLog.department_id == v["past_department_id"], TicketLog.ticket_id == Ticket.id
            )
        )
    if "parent_customer_id" in v:
        parent = v["parent_customer_id"]
        family = select(Customer.id).where(or_(Customer.id == parent, Customer.parent_id == parent))
        found.append(Ticket.customer_id.in_(family))
    if "keyword" in v:
        matched = keyword_condition(
            session,
            v["keyword"],
            subject=v.get("subject") if together else None,
            facet_query=facet_query.text if facet_query is not None else None,
        )
        if matched is not None:
            found.append(matched)
    return found


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _priority_rank(session: Session) -> ColumnElement[int]:
    try:
        codes = [item.code for item in dictionary_items(session, "urgency", include_disabled=True)]
    except NotFound:
        codes = []
    if not codes:
        return literal_column("0")
    return case({code: i for i, code in enumerate(codes)}, value=Ticket.priority, else_=len(codes))


def _ordering(session: Session, c: Conditions) -> list[Any]:
    desc = c.order == "desc"
    if c.sort == "priority":
        # Dictionary order: the more urgent the higher; "desc" puts the most urgent first.
        rank = _priority_rank(session)
        first = rank.desc() if desc else rank.asc()
        return [first, Ticket.id.desc()]
    # "created" is registration order: ids are given out as tickets are registered (and stamped), so
    # the primary key orders them without sorting every match.
    col = {"created": Ticket.id, "updated": Ticket.updated_at, "serial": Ticket.serial}[c.sort]
    return [col.desc(), Ticket.id.desc()] if desc else [col.asc(), Ticket.id.asc()]


def statement(session: Session, actor: Actor, c: Conditions) -> Select[Any]:
    """SELECT Ticket matching `c` within the actor's data scope (not ordered, not paged)."""
    stmt = select(Ticket).where(*conditions(session, c)) if c.values else select(Ticket)
    return access.restrict(stmt, actor)


@dataclass
class Result:
    rows: list[Ticket]
    total: int
    exact: bool  # False: there are more than `total` (COUNT_CAP reached, or counting took too long)
    page: int
    size: int
    counted: bool = True  # False: counting ran out of time; `total` is what this page shows so far

    @property
    def pages(self) -> int:
        if not self.counted:
            return self.page + 1
        return max(1, math.ceil(self.total / self.size))

    @property
    def more(self) -> bool:
        return self.page * self.size < self.total or (not self.exact and self.page < self.pages)


def _no_jit(session: Session) -> None:
    """PostgreSQL's JIT compiles a search whose estimate looks large, which costs more (hundreds of
    milliseconds) than running it: off for this transaction's searches."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def _prepare(session: Session, c: Conditions) -> None:
    _no_jit(session)
    if "keyword" in c.values:
        facets.settle(session)  # tickets changed earlier in this transaction


def run(session: Session, actor: Actor, c: Conditions, *, count_ms: int | None = None) -> Result:
    """One page of the matching tickets and how many there are (up to COUNT_CAP).

    On PostgreSQL one statement lists the ordered ids of every match (up to COUNT_CAP + 1): the
    page and the total come from the same pass, instead of a page query and a count that each
    scan the index. It has `count_ms` (default COUNT_MS) to finish; when it cannot, only the page
    is read and it says "more than the tickets shown" instead of keeping the user waiting."""
    _prepare(session, c)
    stmt = statement(session, actor, c)
    ordering = _ordering(session, c)
    offset = (c.page - 1) * c.size
    ms = COUNT_MS if count_ms is None else count_ms
    if _postgres(session) and offset + c.size <= COUNT_CAP:
        listing = stmt.with_only_columns(Ticket.id).order_by(*ordering).limit(COUNT_CAP + 1)
        ids = _within(session, ms, lambda: [int(i) for i in session.scalars(listing)])
        if ids is not None:
            wanted = ids[offset : offset + c.size]
            loaded = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(wanted)))}
            rows = [loaded[i] for i in wanted if i in loaded]
            total = len(ids)
            return Result(
                rows=rows, total=min(total, COUNT_CAP), exact=total <= COUNT_CAP, page=c.page, size=c.size
            )
        rows = list(session.scalars(stmt.order_by(*ordering).limit(c.size).offset(offset)))
        if len(rows) < c.size and (rows or c.page == 1):
            return Result(rows=rows, total=offset + len(rows), exact=True, page=c.page, size=c.size)
        return Result(
            rows=rows, total=offset + len(rows), exact=False, page=c.page, size=c.size, counted=False
        )
    rows = list(session.scalars(stmt.order_by(*ordering).limit(c.size).offset(offset)))
    if len(rows) < c.size and (rows or c.page == 1):
        return Result(rows=rows, total=offset + len(rows), exact=True, page=c.page, size=c.size)
    capped = stmt.with_only_columns(Ticket.id).limit(COUNT_CAP + 1).subquery()
    counted = _count_within(session, select(func.count()).select_from(capped), ms)
    if counted is None:
        return Result(
            rows=rows, total=offset + len(rows), exact=False, page=c.page, size=c.size, counted=False
        )
    return Result(
        rows=rows, total=min(counted, COUNT_CAP), exact=counted <= COUNT_CAP, page=c.page, size=c.size
    )


def _within(session: Session, ms: int, work: Callable[[], T]) -> T | None:
    """`work()`, or None when PostgreSQL could not finish it within `ms` milliseconds (the
    transaction goes on: it runs in a savepoint with a local statement timeout)."""
    from sqlalchemy.exc import OperationalError

    try:
        with session.begin_nested():
            session.execute(text(f"SET LOCAL statement_timeout = {int(ms)}"))
            done = work()
            session.execute(text("SET LOCAL statement_timeout TO DEFAULT"))  # a released savepoint kept it
            return done
    except OperationalError as exc:  # QueryCanceled: rolling the savepoint back undid the timeout too
        if getattr(exc.orig, "sqlstate", None) != "57014":
            raise
        return None


def _count_within(session: Session, stmt: Select[Any], ms: int) -> int | None:
    """The count of `stmt`, or None when PostgreSQL could not finish it within `ms` milliseconds."""
    if session.get_bind().dialect.name != "postgresql":
        return int(session.scalar(stmt) or 0)
    return _within(session, ms, lambda: int(session.scalar(stmt) or 0))


def count(session: Session, actor: Actor, c: Conditions, *, cap: int) -> int:
    """How many match, counting at most `cap` + 1 (for the export's size check)."""
    _prepare(session, c)
    capped = statement(session, actor, c).with_only_columns(Ticket.id).limit(cap + 1).subquery()
    return int(session.scalar(select(func.count()).select_from(capped)) or 0)


def scan(
    session: Session, actor: Actor, c: Conditions, *, limit: int, chunk: int = 500
) -> Iterator[list[Ticket]]:
    """Every matching ticket in the search's order, `chunk` at a time (for the export)."""
    _prepare(session, c)
    stmt = statement(session, actor, c).order_by(*_ordering(session, c))
    done = 0
    while done < limit:
        part = list(session.scalars(stmt.limit(min(chunk, limit - done)).offset(done)))
        if not part:
            return
        yield part
        done += len(part)


# --- indexing ------------------------------------------------------------------------------------------


def _body(description: str, replies: list[str]) -> str:
    return "\n".join(part for part in (description, *replies) if part)


def _replies(session: Session, ticket_id: int) -> list[str]:
    stmt = (
        select(TicketLog.comment)
        .where(TicketLog.ticket_id == ticket_id, TicketLog.action.in_(REPLY_ACTIONS))
        .order_by(TicketLog.id)
    )
    return [c for c in session.scalars(stmt) if c]


def name_keys(session: Session, ticket: Ticket) -> set[tuple[str, str]]:
    """The keys of the customer name as registered and of the linked customer's name."""
    keys = names.search_keys(ticket.customer_name, person=True) if ticket.customer_name else set()
    if ticket.customer_id is not None:
        linked = session.execute(
            select(Customer.name, Customer.kind).where(Customer.id == ticket.customer_id)
        ).first()
        if linked is not None and linked.name:
            keys |= names.search_keys(linked.name, person=linked.kind == CustomerKind.INDIVIDUAL)
    return keys


def index_ticket(session: Session, ticket: Ticket) -> None:
    """Put the ticket's subject, description and replies in the full-text index and its customer
    name's keys in `ticket_name_key`, in the caller's transaction (registration and every reply)."""
    from kefu.core import search

    session.flush()
    search.index(
        session,
        KIND,
        ticket.id,
        title=ticket.subject,
        body=_body(ticket.description, _replies(session, ticket.id)),
    )
    wanted = name_keys(session, ticket)
    have = set(
        session.execute(
            select(TicketNameKey.kind, TicketNameKey.key).where(TicketNameKey.ticket_id == ticket.id)
        ).tuples()
    )
    if have != wanted:
        session.execute(delete(TicketNameKey).where(TicketNameKey.ticket_id == ticket.id))
        session.add_all(TicketNameKey(ticket_id=ticket.id, kind=k, key=key) for k, key in sorted(wanted))
        session.flush()
        facets.note(session, ticket.id)  # the name keys are facets too (a bulk delete is not seen)


def rebuild_name_keys(session: Session, *, batch: int = 500) -> int:
    """Write `ticket_name_key` afresh for every ticket (tickets registered before the search existed,
    or after customers were renamed), `batch` tickets at a time; returns the number of tickets."""
    last, done = 0, 0
    while True:
        part = list(session.scalars(select(Ticket).where(Ticket.id > last).order_by(Ticket.id).limit(batch)))
        if not part:
            return done
        ids = [t.id for t in part]
        session.execute(delete(TicketNameKey).where(TicketNameKey.ticket_id.in_(ids)))
        session.add_all(
            TicketNameKey(ticket_id=t.id, kind=k, key=key)
            for t in part
            for k, key in sorted(name_keys(session, t))
        )
        session.flush()
        for ticket_id in ids:
            facets.note(session, ticket_id)
        done += len(part)
        last = ids[-1]


def load_all(session: Session) -> Iterator[tuple[int, str, str, str]]:
    """Every ticket's text for re-indexing (`search.register_kind`), in id order, 500 at a time."""
    last = 0
    while True:
        part = session.execute(
            select(Ticket.id, Ticket.subject, Ticket.description)
            .where(Ticket.id > last)
            .order_by(Ticket.id)
            .limit(500)
        ).all()
        if not part:
            return
        ids = [r.id for r in part]
        replies: dict[int, list[str]] = {}
        logs = (
            select(TicketLog.ticket_id, TicketLog.comment)
            .where(TicketLog.ticket_id.in_(ids), TicketLog.action.in_(REPLY_ACTIONS))
            .order_by(TicketLog.id)
        )
        for ticket_id, comment in session.execute(logs):
            if comment:
                replies.setdefault(ticket_id, []).append(comment)
        for r in part:
            yield r.id, r.subject, _body(r.description, replies.get(r.id, [])), ""
        last = ids[-1]


def register() -> None:
    """Tell the search interface how to re-index tickets."""
    from kefu.core import search

    search.register_kind(KIND, load_all, after_reload=facets.rebuild)


register()
