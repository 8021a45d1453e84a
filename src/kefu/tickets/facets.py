"""Facet lexemes of a ticket's full-text row, so a keyword search with conditions is one index scan
(PostgreSQL only; the comprehensive search, TKT-10).

A common keyword matches a tenth of all tickets; a department, a status or a priority each match many
more; together they often leave a few hundred. Checked one after the other, either the keyword's
matches or the condition's tickets must all be read — 100,000 rows at a million tickets, hundreds
of milliseconds. So the ticket's row in `search_fts` carries a third tsvector, `facets`, holding
one lexeme per searchable value:

    s:<status>  t:<type>  c:<category>  d:<department now>  h:<handler now>
    ad:<accepting department>  au:<accepting user>  n:<nature>  p:<priority>  ch:<channel>
    a:<area>  m:<year and month registered, UTC>  cb:yes / cb:done (callback work)
    ph:<any past handler>  pd:<any past handling department>
    nk:<every customer-name key>  nn:<the folded-name keys>, asked for by prefix ('nk:zhangs':*),
    and their first 1–4 characters: nk2:zh, nn1:张 (a short prefix would expand to thousands of
    keys: 'nk:zh':* to 1,925 at a million tickets, 45 ms of index scan)

and one GIN index over (tsv, facets) answers `tsv @@ keyword AND facets @@ conditions` by
intersecting the posting lists: only the intersection is read. The conditions the facets answer
exactly are then not checked on the ticket again: repeated, they would only make PostgreSQL
underestimate the matches (it multiplies the selectivities) and pick plans for a handful of rows
that meet tens of thousands (a customer-name prefix, estimated at 8 rows, matched 36,000).

So the facets must never be stale, which is why the session keeps them, not each service: whenever
a flush changes a ticket's watched columns, adds or moves a processing-log entry, touches its
callback work or its customer-name keys, the ticket is noted (`note`), and its facets are rewritten
from the database (one UPDATE … FROM for all noted tickets) before the transaction commits — or
before a search in that transaction (`settle`). `rebuild` rewrites all (after `kefu reindex`, which
rebuilds the rows). Changing those tables with bulk UPDATE statements would bypass this: don't.

On SQLite nothing here runs: the keyword goes through FTS5 and the conditions through the ticket
table's own indexes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Session

from kefu.customers import names
from kefu.tickets.models import CallbackTask, Ticket, TicketLog
from kefu.tickets.search_models import TicketNameKey

_PENDING = "kefu.tickets.facets"
_NOTED = "kefu.tickets.facets.noted"  # on the session: it changed tickets in this transaction
MAX_MONTHS = 24  # a wider time window is left to the ticket table
NAME_PREFIX_MAX = 4  # customer-name keys carry their first 1–4 characters as lexemes of their own
MAX_CHOICES = 64  # a category subtree with more categories is left to the ticket table

WATCHED = (
    "status",
    "type_id",
    "category_id",
    "department_id",
    "handler_id",
    "creator_department_id",
    "creator_id",
    "nature",
    "priority",
    "channel",
    "area",
    "created_at",
)

# The facets of the tickets in :ids, written onto their full-text rows. NULL values drop out
# (`'d:' || NULL` is NULL); the category is the ticket's own (a subtree is asked for as OR).
_REFRESH = """
UPDATE search_fts AS f SET facets = x.facets
FROM (
    SELECT t.id, array_to_tsvector(
        array_remove(ARRAY[
            's:' || t.status, 't:' || t.type_id, 'c:' || t.category_id,
            'd:' || t.department_id, 'h:' || t.handler_id,
            'ad:' || t.creator_department_id, 'au:' || t.creator_id,
            'n:' || t.nature, 'p:' || t.priority, 'ch:' || t.channel, 'a:' || t.area,
            'm:' || to_char(t.created_at AT TIME ZONE 'UTC', 'YYYYMM'),
            CASE WHEN EXISTS (SELECT 1 FROM ticket_callback cb WHERE cb.ticket_id = t.id)
                 THEN 'cb:yes' END,
            CASE WHEN EXISTS (SELECT 1 FROM ticket_callback cb
                              WHERE cb.ticket_id = t.id AND cb.status = 'done')
                 THEN 'cb:done' END
        ], NULL)
        || ARRAY(SELECT DISTINCT 'ph:' || l.user_id FROM ticket_log l
                 WHERE l.ticket_id = t.id AND l.user_id IS NOT NULL)
        || ARRAY(SELECT DISTINCT 'pd:' || l.department_id FROM ticket_log l
                 WHERE l.ticket_id = t.id AND l.department_id IS NOT NULL)
        || ARRAY(SELECT DISTINCT 'nk:' || k.key FROM ticket_name_key k WHERE k.ticket_id = t.id)
        || ARRAY(SELECT 'nn:' || k.key FROM ticket_name_key k
                 WHERE k.ticket_id = t.id AND k.kind = 'name')
        || ARRAY(SELECT DISTINCT 'nk' || n || ':' || left(k.key, n)
                 FROM ticket_name_key k, generate_series(1, least(4, length(k.key))) AS n
                 WHERE k.ticket_id = t.id)
        || ARRAY(SELECT DISTINCT 'nn' || n || ':' || left(k.key, n)
                 FROM ticket_name_key k, generate_series(1, least(4, length(k.key))) AS n
                 WHERE k.ticket_id = t.id AND k.kind = 'name')
    ) AS facets
    FROM ticket AS t
    WHERE {where}
) AS x
WHERE f.kind = 'tickets' AND f.ref_id = x.id
"""
REFRESH_IDS = _REFRESH.format(where="t.id = ANY(:ids)")
REFRESH_RANGE = _REFRESH.format(where="t.id > :after AND t.id <= :upto")


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def refresh(session: Session, ticket_ids: Iterable[int]) -> None:
    """Rewrite the facets of these tickets' full-text rows from the database (PostgreSQL)."""
    ids = sorted({int(i) for i in ticket_ids if i is not None})
    if ids and _postgres(session):
        session.execute(text(REFRESH_IDS), {"ids": ids})


def rebuild(session: Session, *, batch: int = 20_000) -> int:
    """Rewrite the facets of every ticket, `batch` ids at a time; returns the highest id seen."""
    if not _postgres(session):
        return 0
    session.flush()
    top = int(session.scalar(text("SELECT coalesce(max(id), 0) FROM ticket")) or 0)
    for after in range(0, top, batch):
        session.execute(text(REFRESH_RANGE), {"after": after, "upto": after + batch})
    _pending(session).clear()  # every ticket is written now
    return top


def _pending(session: Session) -> set[int]:
    # Kept on the connection, not the session: every session working in this transaction (a test's
    # fixture session beside the request's, say) settles what the others changed. Ids left over from
    # a transaction that did not commit only cost a refresh that changes nothing.
    found: set[int] = session.connection().info.setdefault(_PENDING, set())
    return found


def settle(session: Session) -> None:
    """Write the facets of the tickets changed so far in this transaction (before a search in it)."""
    if not _postgres(session):
        return
    session.flush()
    session.info.pop(_NOTED, None)
    pending = _pending(session)
    if pending:
        ids = set(pending)
        pending.clear()
        refresh(session, ids)


def note(session: Session, ticket_id: Any) -> None:
    """Have the ticket's facets rewritten before this transaction commits (or searches)."""
    if ticket_id is not None and _postgres(session):
        _pending(session).add(int(ticket_id))
        session.info[_NOTED] = True


def _changed(obj: Any, names: Sequence[str]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _ctx: Any) -> None:
    # The session's new / dirty / deleted sets and attribute histories still describe the flush.
    if not _postgres(session):
        return
    for obj in session.new:
        if isinstance(obj, Ticket):
            note(session, obj.id)
        elif isinstance(obj, TicketLog | CallbackTask | TicketNameKey):
            note(session, obj.ticket_id)
    for obj in session.dirty:
        if isinstance(obj, Ticket) and _changed(obj, WATCHED):
            note(session, obj.id)
        elif isinstance(obj, TicketLog | CallbackTask):
            # Moved to another ticket (a merge, a split-back): both tickets change.
            moved = inspect(obj).attrs["ticket_id"].history
            for ticket_id in (*moved.added, *moved.deleted):
                note(session, ticket_id)
            if isinstance(obj, CallbackTask) and _changed(obj, ("status",)):
                note(session, obj.ticket_id)
    for obj in session.deleted:
        if isinstance(obj, TicketLog | CallbackTask | TicketNameKey):
            note(session, obj.ticket_id)


@event.listens_for(Session, "before_commit")
def _write(session: Session) -> None:
    if session.info.pop(_NOTED, False):
        settle(session)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_NOTED, None)


# --- the query side ----------------------------------------------------------------------------------


def _quoted(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _any(lexemes: Sequence[str]) -> str:
    parts = [_quoted(x) for x in lexemes]
    return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"


def _prefix(family: str, key: str) -> str:
    """Keys starting with `key`: its own lexeme when short, else a prefix match."""
    if len(key) <= NAME_PREFIX_MAX:
        return _quoted(f"{family}{len(key)}:{key}")
    return _quoted(f"{family}:{key}") + ":*"


def months(start: datetime | None, end: datetime | None) -> list[str] | None:
    """The UTC months `YYYYMM` that [start, end) touches; None when open-ended or too wide."""
    if start is None or end is None:
        return None
    from kefu.core import clock

    a, b = start.astimezone(clock.UTC), end.astimezone(clock.UTC)
    year, month = a.year, a.month
    found: list[str] = []
    while (year, month) <= (b.year, b.month):
        found.append(f"m:{year:04d}{month:02d}")
        if len(found) > MAX_MONTHS:
            return None
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


@dataclass(frozen=True)
class FacetQuery:
    """The facet conditions of a search as tsquery text, and which conditions it answers exactly
    (the search need not check those on the ticket again; a time window only narrows by month)."""

    text: str
    covered: frozenset[str]


_EXACT: tuple[tuple[str, str], ...] = (
    ("type_id", "t"),
    ("department_id", "d"),
    ("handler_id", "h"),
    ("accept_department_id", "ad"),
    ("accept_user_id", "au"),
    ("nature", "n"),
    ("priority", "p"),
    ("channel", "ch"),
    ("area", "a"),
    ("past_handler_id", "ph"),
    ("past_department_id", "pd"),
)


def query(values: dict[str, Any], *, categories: Sequence[int] | None = None) -> FacetQuery | None:
    """The facet conditions among the search's `values` (see `finder.parse`), None when there are
    none. `categories`: the chosen category and its subcategories."""
    parts: list[str] = []
    covered: set[str] = set()

    def add(name: str, part: str) -> None:
        parts.append(part)
        covered.add(name)

    key = names.fold(values.get("customer_name") or "")[: names.MAX_KEY]
    if key:
        add("customer_name", _prefix("nn", key))
    if values.get("customer_pinyin"):
        add("customer_pinyin", _prefix("nk", values["customer_pinyin"]))
    if values.get("status"):
        add("status", _any([f"s:{s}" for s in values["status"]]))
    if categories and len(categories) <= MAX_CHOICES:
        add("category_id", _any([f"c:{c}" for c in categories]))
    for name, prefix in _EXACT:
        if name in values:
            add(name, _quoted(f"{prefix}:{values[name]}"))
    callback = values.get("callback")
    if callback in ("yes", "done"):
        add("callback", _quoted(f"cb:{callback}"))
    elif callback == "no":
        add("callback", "!" + _quoted("cb:yes"))
    window = months(values.get("created_from"), values.get("created_to"))
    if window:
        parts.append(_any(window))  # narrows only: the exact times are checked on the ticket
    if not parts or all(p.startswith("!") for p in parts):
        return None  # a lone negation would read the whole index
    return FacetQuery(" & ".join(parts), frozenset(covered))
