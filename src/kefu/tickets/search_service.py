"""Saved queries (自定义查询, TKT-18) and the export of a comprehensive search (综合查询, TKT-10).

A saved query belongs to its owner, who alone changes or deletes it; a shared one can be opened and run
by everyone who may search tickets (each sees only the tickets of their own data scope). Conditions
are checked like the search's own parameters and stored cleaned.

The export writes the search's rows (the searcher's data scope, the search's order) as CSV or XLSX
with the audit log's export helpers; it needs `tickets.search.export`, is audited with its conditions,
and is capped by the `tickets.search_export_max_rows` parameter (checked by a count first).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.audit.export import XLSX_MEDIA_TYPE, ExportFile, ExportTooLarge, _csv_cell, _save_temp, _xlsx_cell
from kefu.audit.schemas import ExportFormat
from kefu.core import clock, i18n
from kefu.core.errors import Conflict, FieldError, FieldErrors, NotFound, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor, register
from kefu.org.config import parameters
from kefu.org.models import Department, User
from kefu.tickets import finder
from kefu.tickets.models import Ticket
from kefu.tickets.page_views import ticket_status
from kefu.tickets.search_models import SavedQuery

FUNCTION = "tickets.search"
EXPORT = "tickets.search.export"
# Export the results of the comprehensive search (CSV / XLSX), within one's ticket data scope.
register(FUNCTION, "Ticket search", ("export",), area="tickets")

EXPORT_MAX_ROWS = parameters.declare(
    "tickets.search_export_max_rows",
    "Most rows in one ticket search export",
    int,
    50_000,
    group="tickets",
    minimum=100,
    maximum=1_000_000,
)
NAME_MAX = 100


# --- saved queries ---------------------------------------------------------------------------------------


def visible(session: Session, actor: Actor) -> list[SavedQuery]:
    """My saved queries, then those others shared, by name."""
    uid = actor.user.id
    stmt = (
        select(SavedQuery)
        .where(or_(SavedQuery.owner_id == uid, SavedQuery.shared.is_(True)))
        .order_by((SavedQuery.owner_id != uid), SavedQuery.name, SavedQuery.id)
    )
    return list(session.scalars(stmt))


def owner_names(session: Session, queries: list[SavedQuery]) -> dict[int, str]:
    ids = {q.owner_id for q in queries}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).tuples().all())


def get(session: Session, actor: Actor, query_id: int) -> SavedQuery:
    """A query I own or one that is shared, else 404."""
    q = session.get(SavedQuery, query_id)
    if q is None or (q.owner_id != actor.user.id and not q.shared):
        raise NotFound()
    return q


def _own(session: Session, actor: Actor, query_id: int) -> SavedQuery:
    q = get(session, actor, query_id)
    if q.owner_id != actor.user.id:
        raise PermissionDenied("Only the owner changes a saved query")
    return q


def _clean(
    session: Session, actor: Actor, data: Mapping[str, Any], current: SavedQuery | None
) -> dict[str, Any]:
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    if "name" in data or current is None:
        name = str(data.get("name") or "").strip()
        if not name:
            errors.append(FieldError("name", "This field is required"))
        elif len(name) > NAME_MAX:
            errors.append(FieldError("name", "At most %(n)s characters", n=NAME_MAX))
        else:
            clash = select(SavedQuery.id).where(SavedQuery.owner_id == actor.user.id, SavedQuery.name == name)
            if current is not None:
                clash = clash.where(SavedQuery.id != current.id)
            if session.scalar(clash) is not None:
                errors.append(FieldError("name", "You already have a saved query of this name"))
            out["name"] = name
    if "conditions" in data or current is None:
        raw = data.get("conditions") or {}
        if not isinstance(raw, Mapping):
            errors.append(FieldError("conditions", "Give the conditions as an object"))
        else:
            try:
                out["conditions"] = finder.parse(raw).params()
            except FieldErrors as exc:
                errors.extend(FieldError(f"conditions.{e.field}", e.message, **e.params) for e in exc.errors)
    if "shared" in data:
        out["shared"] = bool(data.get("shared"))
    if errors:
        raise FieldErrors(errors)
    return out


def _record(session: Session, actor: Actor, q: SavedQuery, action: str, **kw: Any) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"ticket_saved_query.{action}",
        function=FUNCTION,
        target=q,
        target_label=q.name,
        summary=q.name,
        **kw,
    )


def _state(q: SavedQuery) -> dict[str, Any]:
    return {"name": q.name, "conditions": q.conditions, "shared": q.shared}


def create(session: Session, actor: Actor, data: Mapping[str, Any]) -> SavedQuery:
    values = _clean(session, actor, data, None)
    now = clock.now()
    q = SavedQuery(owner_id=actor.user.id, created_at=now, updated_at=now, **{"shared": False, **values})
    session.add(q)
    session.flush()
    _record(session, actor, q, "create", after=_state(q))
    return q


def update(
    session: Session, actor: Actor, query_id: int, data: Mapping[str, Any], expected_version: int | None
) -> SavedQuery:
    q = _own(session, actor, query_id)
    if expected_version is not None and expected_version != q.lock_version:
        raise Conflict("The saved query was changed meanwhile; reload it")
    values = _clean(session, actor, data, q)
    before = _state(q)
    for name, value in values.items():
        setattr(q, name, value)
    q.updated_at = clock.now()
    session.flush()
    _record(session, actor, q, "update", before=before, after=_state(q))
    return q


def delete(session: Session, actor: Actor, query_id: int) -> None:
    q = _own(session, actor, query_id)
    _record(session, actor, q, "delete", before=_state(q))
    session.delete(q)
    session.flush()


# --- export ----------------------------------------------------------------------------------------------

COLUMNS = (
    lazy("Serial number"),
    lazy("Ticket subject"),
    lazy("Status"),
    lazy("Stage"),
    lazy("Customer"),
    lazy("Customer phone"),
    lazy("Urgency"),
    lazy("Case nature"),
    lazy("External code"),
    lazy("Terminal number"),
    lazy("Registered by"),
    lazy("Handling department"),
    lazy("Handler"),
    lazy("Created"),
    lazy("Closed"),
)


def _lookups(session: Session, tickets: list[Ticket]) -> tuple[dict[int, str], dict[int, str]]:
    users = {u for t in tickets for u in (t.creator_id, t.handler_id) if u}
    depts = {t.department_id for t in tickets if t.department_id}
    user_names = (
        dict(session.execute(select(User.id, User.name).where(User.id.in_(users))).tuples().all())
        if users
        else {}
    )
    dept_names = (
        dict(
            session.execute(select(Department.id, Department.name).where(Department.id.in_(depts)))
            .tuples()
            .all()
        )
        if depts
        else {}
    )
    return user_names, dept_names


def _when(value: Any) -> Any:
    return clock.to_local(value).replace(tzinfo=None) if value is not None else None


def _rows(session: Session, actor: Actor, c: finder.Conditions, limit: int) -> Iterator[list[Any]]:
    for part in finder.scan(session, actor, c, limit=limit):
        user_names, dept_names = _lookups(session, part)
        for t in part:
            yield [
                t.serial,
                t.subject,
                ticket_status(t.status),
                t.stage,
                t.customer_name,
                t.customer_phone,
                t.priority,
                t.nature or "",
                t.external_code,
                t.terminal_no,
                user_names.get(t.creator_id or 0, ""),
                dept_names.get(t.department_id or 0, ""),
                user_names.get(t.handler_id or 0, ""),
                _when(t.created_at),
                _when(t.closed_at),
            ]


def export_limit(session: Session) -> int:
    return int(parameters.get(session, EXPORT_MAX_ROWS))


def export(session: Session, actor: Actor, c: finder.Conditions, fmt: ExportFormat) -> ExportFile:
    """The tickets matching `c` within the actor's data scope as a file; audited; capped."""
    if not actor.can(EXPORT):
        raise PermissionDenied()
    limit = export_limit(session)
    n = finder.count(session, actor, c, cap=limit)
    if n > limit:
        raise ExportTooLarge(n, limit)
    described = c.params()
    audit.record(
        session,
        actor=actor,
        action="ticket_search.export",
        function=FUNCTION,
        target_type="ticket",
        summary=f"Exported {n} ticket(s) as {fmt.value.upper()}",
        after={"format": fmt.value, "rows": n, "conditions": described},
    )
    session.flush()
    headers = [i18n.gettext(h) for h in COLUMNS]
    stamp = clock.to_local(clock.now()).strftime("%Y%m%d-%H%M%S")
    filename = f"tickets-{stamp}.{fmt.value}"
    if fmt is ExportFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(headers)
        for row in _rows(session, actor, c, limit):
            writer.writerow([_csv_cell(v) for v in row])
        data = ("\ufeff" + buffer.getvalue()).encode("utf-8")
        return ExportFile(filename, "text/csv; charset=utf-8", n, chunks=iter([data]))
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(i18n.gettext("Tickets")[:31])
    sheet.freeze_panes = "A2"
    sheet.append(headers)
    for row in _rows(session, actor, c, limit):
        sheet.append([_xlsx_cell(sheet, v) for v in row])
    path = _save_temp(lambda fh: workbook.save(fh), ".xlsx")
    return ExportFile(filename, XLSX_MEDIA_TYPE, n, path=path)
