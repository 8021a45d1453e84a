"""The numbers an outbound campaign calls (外呼名单): from a customer selection (messaging's batch
filter, so both reach customers alike), from an uploaded CSV or XLSX list, or from another system
over the API as JSON.

Every way is all or nothing: the whole input is checked first and an error names the line (or item)
and the column; nothing is added then. Numbers are normalised to E.164 keys; a number given twice is
merged (the later values fill in), and a number already in the campaign is left as it is, so sending
the same list again adds nothing. Do-not-disturb and the blacklist are checked when the number is
dialled (`campaign_dialer`), not here: they may change before the call.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.callcenter.campaigns import FUNCTION, _require
from kefu.callcenter.models import Campaign, CampaignStatus, CampaignTarget, TargetStatus
from kefu.core import clock
from kefu.core.errors import Conflict, FieldError, FieldErrors
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.customers import phones
from kefu.customers.models import Customer, CustomerPhone, PhoneKind
from kefu.messaging import batch_selection

LIST_MAX = 50_000
JSON_MAX = 5_000
VALUE_MAX = 500
NAME_MAX = 100
VARIABLES_MAX = 30
COLUMN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
OWN_COLUMNS = ("number", "name", "customer_code", "ticket_id")
OPEN_FOR_TARGETS = (CampaignStatus.DRAFT, CampaignStatus.PAUSED, CampaignStatus.RUNNING)

ENDED = lazy("The campaign has ended: no numbers can be added")
LINE_BAD_NUMBER = lazy("Line %(line)s: enter a valid phone number")
LINE_TOO_LONG = lazy("Line %(line)s: %(name)s is longer than %(max)s characters")
LINE_EXTRA_CELLS = lazy("Line %(line)s has more cells than the header")
LINE_UNKNOWN_CUSTOMER = lazy("Line %(line)s: no customer %(code)s among those you may see")
LINE_UNKNOWN_TICKET = lazy("Line %(line)s: no ticket %(id)s among those you may see")
BAD_COLUMN = lazy("Column names use lower-case letters, digits and _: %(column)s")
COLUMN_TWICE = lazy("The column %(column)s appears twice")
NO_NUMBER_COLUMN = lazy("The list needs a column number")
LIST_EMPTY = lazy("The list has no lines")
LIST_TOO_LONG = lazy("At most %(max)s lines in one list")
TOO_MANY_VARIABLES = lazy("At most %(max)s values per number")
BAD_NUMBER = lazy("Enter a valid phone number")
UNKNOWN_TICKET = lazy("No ticket %(id)s among those you may see")
UNKNOWN_CUSTOMER = lazy("No customer %(code)s among those you may see")
NOTHING = lazy("Give at least one number")
TOO_MANY = lazy("At most %(max)s numbers at a time")
UNREADABLE = lazy("The file cannot be read: save it as CSV (UTF-8 or GBK) or XLSX")


@dataclass
class Row:
    """One number to call, as given (checked): `where` names it in errors (`list.3`, `targets.0`)."""

    where: str
    number: str
    name: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    customer_id: int | None = None
    customer_code: str = ""
    ticket_id: int | None = None
    key: str = ""


@dataclass
class Added:
    added: int = 0
    merged: int = 0  # given twice in this input
    existing: int = 0  # already in the campaign
    without_number: int = 0  # customers of a selection with no phone number
    total: int = 0  # targets of the campaign afterwards


def _open(campaign: Campaign) -> None:
    if campaign.status not in OPEN_FOR_TARGETS:
        raise Conflict(ENDED)


def _phone(raw: str) -> phones.Phone | None:
    try:
        phone = phones.normalise(raw)
    except phones.InvalidPhone:
        return None
    return phone


def _resolve(
    session: Session, actor: Actor, rows: Sequence[Row], errors: list[FieldError], *, lines: bool
) -> None:
    """Customer codes and ticket ids → ids, among those `actor` may see."""
    from kefu.tickets import access as ticket_access
    from kefu.tickets.models import Ticket

    codes = sorted({r.customer_code for r in rows if r.customer_code})
    found: dict[str, int] = {}
    for start in range(0, len(codes), 500):
        found.update(batch_selection.visible_by_code(session, actor, codes[start : start + 500]))
    ticket_ids = sorted({r.ticket_id for r in rows if r.ticket_id is not None})
    tickets: set[int] = set()
    for start in range(0, len(ticket_ids), 500):
        part = ticket_ids[start : start + 500]
        stmt = ticket_access.restrict(select(Ticket.id).where(Ticket.id.in_(part)), actor)
        tickets.update(session.scalars(stmt))
    for row in rows:
        line = row.where.split(".")[1]
        if row.customer_code:
            if row.customer_code in found:
                row.customer_id = found[row.customer_code]
            elif lines:
                errors.append(
                    FieldError(
                        f"{row.where}.customer_code", LINE_UNKNOWN_CUSTOMER, line=line, code=row.customer_code
                    )
                )
            else:
                errors.append(
                    FieldError(f"{row.where}.customer_code", UNKNOWN_CUSTOMER, code=row.customer_code)
                )
        if row.ticket_id is not None and row.ticket_id not in tickets:
            if lines:
                errors.append(
                    FieldError(f"{row.where}.ticket_id", LINE_UNKNOWN_TICKET, line=line, id=row.ticket_id)
                )
            else:
                errors.append(FieldError(f"{row.where}.ticket_id", UNKNOWN_TICKET, id=row.ticket_id))


def add(session: Session, actor: Actor, campaign: Campaign, rows: Sequence[Row], *, how: str) -> Added:
    """Add checked rows (numbers already keyed) to the campaign; merge duplicates; audited."""
    by_key: dict[str, Row] = {}
    result = Added()
    for row in rows:
        if row.key in by_key:
            kept = by_key[row.key]
            kept.name = row.name or kept.name
            kept.variables = {**kept.variables, **row.variables}
            kept.customer_id = row.customer_id or kept.customer_id
            kept.ticket_id = row.ticket_id or kept.ticket_id
            result.merged += 1
        else:
            by_key[row.key] = row
    keys = list(by_key)
    existing: set[str] = set()
    for start in range(0, len(keys), 500):
        existing.update(
            session.scalars(
                select(CampaignTarget.number_key).where(
                    CampaignTarget.campaign_id == campaign.id,
                    CampaignTarget.number_key.in_(keys[start : start + 500]),
                )
            )
        )
    now = clock.now()
    for key, row in by_key.items():
        if key in existing:
            result.existing += 1
            continue
        session.add(
            CampaignTarget(
                campaign_id=campaign.id,
                customer_id=row.customer_id,
                ticket_id=row.ticket_id,
                number=row.number,
                number_key=key,
                name=row.name[:NAME_MAX],
                variables=row.variables,
                status=TargetStatus.PENDING.value,
                attempts=0,
                answers={},
                created_at=now,
                updated_at=now,
            )
        )
        result.added += 1
    session.flush()
    result.total = session.scalar(select(func.count()).where(CampaignTarget.campaign_id == campaign.id)) or 0
    campaign.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="campaign.targets.add",
        function=FUNCTION,
        target=campaign,
        target_label=campaign.name,
        summary=f"{how}: {result.added} added, {result.merged} merged, {result.existing} already listed",
    )
    return result


# --- JSON (another system) ------------------------------------------------------------------------------


def _variables(raw: Any, where: str, errors: list[FieldError], line: str | None = None) -> dict[str, str]:
    found: dict[str, str] = {}
    if raw in (None, ""):
        return found
    if not isinstance(raw, Mapping):
        errors.append(FieldError(f"{where}.variables", batch_selection.CHOOSE))
        return found
    if len(raw) > VARIABLES_MAX:
        errors.append(FieldError(f"{where}.variables", TOO_MANY_VARIABLES, max=VARIABLES_MAX))
        return found
    for name, value in raw.items():
        text = "" if value is None else str(value).strip()
        if not COLUMN.match(str(name)):
            errors.append(FieldError(f"{where}.variables.{name}", BAD_COLUMN, column=name))
        elif len(text) > VALUE_MAX:
            errors.append(FieldError(f"{where}.variables.{name}", TOO_LONG_VALUE, max=VALUE_MAX))
        elif text:
            found[str(name)] = text
    return found


TOO_LONG_VALUE = lazy("At most %(max)s characters")


def from_json(
    session: Session, actor: Actor, campaign: Campaign, items: Sequence[Mapping[str, Any]]
) -> Added:
    """Numbers sent by another system: `[{"number", "name", "variables", "customer_code", "ticket_id"}]`.
    Errors name `targets.<index>.<field>`; idempotent by number."""
    _require(actor)
    _open(campaign)
    if not items:
        raise FieldError("targets", NOTHING)
    if len(items) > JSON_MAX:
        raise FieldError("targets", TOO_MANY, max=JSON_MAX)
    errors: list[FieldError] = []
    rows: list[Row] = []
    for i, item in enumerate(items):
        where = f"targets.{i}"
        phone = _phone(str(item.get("number") or ""))
        if phone is None:
            errors.append(FieldError(f"{where}.number", BAD_NUMBER))
            continue
        name = str(item.get("name") or "").strip()
        if len(name) > NAME_MAX:
            errors.append(FieldError(f"{where}.name", TOO_LONG_VALUE, max=NAME_MAX))
        ticket = item.get("ticket_id")
        rows.append(
            Row(
                where=where,
                number=phone.display,
                key=phone.e164,
                name=name,
                variables=_variables(item.get("variables"), where, errors),
                customer_code=str(item.get("customer_code") or "").strip(),
                ticket_id=int(ticket)
                if isinstance(ticket, int) or (isinstance(ticket, str) and ticket.isdigit())
                else None,
            )
        )
    _resolve(session, actor, rows, errors, lines=False)
    if errors:
        raise FieldErrors(errors)
    return add(session, actor, campaign, rows, how="api")


# --- an uploaded list --------------------------------------------------------------------------------


def _cells_of(filename: str, data: bytes) -> list[list[str]]:
    """The file's rows as text cells (XLSX: the first sheet; CSV: UTF-8 or GBK, comma, tab or semicolon)."""
    if filename.lower().endswith(".xlsx") or data[:2] == b"PK":
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # a damaged or foreign file
            raise FieldError("list", UNREADABLE) from None
        sheet = book.worksheets[0]
        rows = []
        for values in sheet.iter_rows(values_only=True):
            rows.append(
                [
                    "" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
                    for v in values
                ]
            )
        book.close()
        return rows
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FieldError("list", UNREADABLE)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first else ";" if ";" in first and "," not in first else ","
    return [list(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter)]


def parse_list(cells: Sequence[Sequence[str]]) -> list[Row]:
    """Rows of a list with a header (`number` required; `name`, `customer_code`, `ticket_id`; any other
    column is a value for the script, e.g. `amount`). Errors name `list.<line>.<column>`; the header
    is line 1."""
    header_errors: list[FieldError] = []
    line_errors = batch_selection.ListErrors()
    columns: list[str] | None = None
    rows: list[Row] = []
    for line, raw in enumerate(cells, start=1):
        values = [str(c).strip() for c in raw]
        if not any(values):
            continue
        if columns is None:
            columns = [c.lower() for c in values]
            for column in columns:
                if column and not COLUMN.match(column):
                    header_errors.append(FieldError(f"list.1.{column}", BAD_COLUMN, column=column))
                elif column and columns.count(column) > 1:
                    header_errors.append(FieldError(f"list.1.{column}", COLUMN_TWICE, column=column))
                    break
            if "number" not in columns:
                header_errors.append(FieldError("list", NO_NUMBER_COLUMN))
            if header_errors:
                raise FieldErrors(header_errors)
            continue
        if len(rows) >= LIST_MAX:
            raise FieldError("list", LIST_TOO_LONG, max=LIST_MAX)
        if len(values) > len(columns) and any(values[len(columns) :]):
            line_errors.add(line, "_", LINE_EXTRA_CELLS)
            continue
        record = {col: values[i] for i, col in enumerate(columns) if col and i < len(values)}
        phone = _phone(record.get("number", ""))
        if phone is None:
            line_errors.add(line, "number", LINE_BAD_NUMBER)
            continue
        row = Row(where=f"list.{line}", number=phone.display, key=phone.e164)
        for name, value in record.items():
            limit = NAME_MAX if name == "name" else VALUE_MAX
            if len(value) > limit:
                line_errors.add(line, name, LINE_TOO_LONG, name=name, max=limit)
            elif name == "name":
                row.name = value
            elif name == "customer_code":
                row.customer_code = value
            elif name == "ticket_id" and value:
                if value.isdigit() and len(value) < 18:
                    row.ticket_id = int(value)
                else:
                    line_errors.add(line, name, LINE_UNKNOWN_TICKET, id=value)
            elif name != "number" and value:
                row.variables[name] = value
        rows.append(row)
    if columns is None or (not rows and not line_errors.items):
        raise FieldError("list", LIST_EMPTY)
    if line_errors.items:
        raise FieldErrors(line_errors.reported())
    return rows


def from_upload(session: Session, actor: Actor, campaign: Campaign, filename: str, data: bytes) -> Added:
    """Add an uploaded list (CSV or XLSX); all or nothing, an error names the line."""
    _require(actor)
    _open(campaign)
    rows = parse_list(_cells_of(filename, data))
    errors: list[FieldError] = []
    _resolve(session, actor, rows, errors, lines=True)
    if errors:
        raise FieldErrors(errors)
    return add(session, actor, campaign, rows, how=f"upload {filename}"[:60])


# --- a customer selection --------------------------------------------------------------------------------


def customer_numbers(session: Session, customer_ids: Sequence[int]) -> dict[int, phones.Phone]:
    """Each customer's number to call: the primary one first, then mobiles, then any valid one."""
    found: dict[int, phones.Phone] = {}
    for start in range(0, len(customer_ids), 500):
        part = customer_ids[start : start + 500]
        rows = session.execute(
            select(
                CustomerPhone.customer_id, CustomerPhone.e164, CustomerPhone.is_primary, CustomerPhone.kind
            )
            .where(CustomerPhone.customer_id.in_(part))
            .order_by(CustomerPhone.id)
        ).all()
        for row in sorted(rows, key=lambda r: (not r.is_primary, r.kind is not PhoneKind.MOBILE)):
            if row.customer_id not in found:
                phone = _phone(row.e164)
                if phone is not None:
                    found[row.customer_id] = phone
    return found


def from_customers(session: Session, actor: Actor, campaign: Campaign, spec: Mapping[str, Any]) -> Added:
    """Add the customers a filter selects (messaging's batch filter, within `actor`'s customer scope);
    errors name `filter.<name>`. Customers without a phone number are counted and left out."""
    _require(actor)
    _open(campaign)
    errors: list[FieldError] = []
    cleaned = batch_selection.clean_filter(session, actor, spec, errors)
    if errors:
        raise FieldErrors(errors)
    stmt = batch_selection.customers_stmt(session, actor, cleaned).with_only_columns(
        Customer.id, Customer.name, Customer.code
    )
    customers = session.execute(stmt.order_by(Customer.id).limit(LIST_MAX + 1)).all()
    if len(customers) > LIST_MAX:
        raise FieldError("filter", LIST_TOO_LONG, max=LIST_MAX)
    numbers = customer_numbers(session, [c.id for c in customers])
    rows = [
        Row(
            where=f"customers.{c.id}",
            number=numbers[c.id].display,
            key=numbers[c.id].e164,
            name=c.name[:NAME_MAX],
            customer_id=c.id,
            variables={"customer_code": c.code} if c.code else {},
        )
        for c in customers
        if c.id in numbers
    ]
    found = add(session, actor, campaign, rows, how=batch_selection.describe(cleaned)[:200])
    found.without_number = len(customers) - len(rows)
    return found
