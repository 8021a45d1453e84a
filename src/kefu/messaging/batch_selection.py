"""Whom a proactive-service batch (主动服务) goes to: a filter over the customers its creator may see,
or an uploaded list (CSV or pasted text) with values per line.

A filter is stored as ids and codes and resolved when the batch runs (the customers of that moment,
limited to the creator's data scope of `customers.customer.view`). A list is checked whole when the
batch is created — every address, every customer code, every value the template needs — and stored
normalised; an error names the line and the column (`list.<line>.<column>`, the header is line 1).

A customer's address for SMS is a mobile number (never a landline: the number itself decides, not the
label it was saved under), the primary one first; for e-mail the primary address first.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, exists, false, or_, select
from sqlalchemy.orm import Session

from kefu.core.errors import FieldError, NotFound
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor, subtree_range
from kefu.customers import access as customer_access
from kefu.customers import phones
from kefu.customers.models import (
    Customer,
    CustomerEmail,
    CustomerKind,
    CustomerPhone,
    CustomerStatus,
    PhoneKind,
    Subscriber,
    SubscriberKind,
    SubscriberStatus,
)
from kefu.messaging import outbox, render
from kefu.messaging.models import Channel, MessageTemplate
from kefu.org.models import Department

LIST_MAX = 50_000  # lines of one list
IDS_MAX = 1000  # explicit customers of a filter (a longer set is a list)
VALUE_MAX = 500  # characters of one value
ERRORS_SHOWN = 20
ADDRESS_COLUMNS = ("to", "customer_code")
LIST_COLUMNS = ADDRESS_COLUMNS + render.NOTICE_FIELDS
TIER_DICTIONARY = "customer_tier"

CHOOSE = lazy("Choose one of the offered values")
TOO_MANY = lazy("At most %(max)s entries")
NO_SUCH_CUSTOMER = lazy("No customer %(code)s among those you may see")
LINE_BAD_MOBILE = lazy("Line %(line)s: enter a mobile number")
LINE_BAD_EMAIL = lazy("Line %(line)s: enter a valid email address")
LINE_NO_RECIPIENT = lazy("Line %(line)s: give an address (to) or a customer code (customer_code)")
LINE_UNKNOWN_CUSTOMER = lazy("Line %(line)s: no customer %(code)s among those you may see")
LINE_MISSING = lazy("Line %(line)s: a value is missing for %(name)s")
LINE_NEEDS_CUSTOMER = lazy("Line %(line)s: the template uses the customer's details; give a customer_code")
LINE_TOO_LONG = lazy("Line %(line)s: %(name)s is longer than %(max)s characters")
LINE_EXTRA_CELLS = lazy("Line %(line)s has more cells than the header")
UNKNOWN_COLUMN = lazy("Unknown column %(column)s; the columns are: %(names)s")
COLUMN_TWICE = lazy("The column %(column)s appears twice")
NO_ADDRESS_COLUMN = lazy("The list needs a column to or customer_code")
LIST_EMPTY = lazy("The list has no lines")
LIST_TOO_LONG = lazy("At most %(max)s lines in one list")
MORE_ERRORS = lazy("%(count)s more errors not shown")
MISSING_SHARED = lazy("The template uses %(name)s: enter a value")


# --- the filter -------------------------------------------------------------------------------------


def _id_list(raw: Any, field_name: str, errors: list[FieldError]) -> list[int]:
    values = raw if isinstance(raw, (list, tuple)) else ([] if raw in (None, "") else [raw])
    found: list[int] = []
    for value in values:
        text = str(value).strip()
        if not text.isdigit() or len(text) > 18:
            errors.append(FieldError(field_name, CHOOSE))
            return []
        found.append(int(text))
    return list(dict.fromkeys(found))


def _text_list(raw: Any) -> list[str]:
    if isinstance(raw, str):
        raw = raw.replace("，", ",").replace("\n", ",").split(",")
    values = raw if isinstance(raw, (list, tuple)) else []
    return list(dict.fromkeys(str(v).strip() for v in values if str(v).strip()))


def _choices(raw: Any, offered: Iterable[str], field_name: str, errors: list[FieldError]) -> list[str]:
    chosen = _text_list(raw)
    allowed = set(offered)
    if any(c not in allowed for c in chosen):
        errors.append(FieldError(field_name, CHOOSE))
        return []
    return chosen


def _tier_codes(session: Session) -> list[str]:
    from kefu.org.config import dictionary_cache

    try:
        return [item.code for item in dictionary_cache.items(session, TIER_DICTIONARY, include_disabled=True)]
    except NotFound:  # the dictionary was deleted: no tier can be chosen
        return []


def visible_by_code(session: Session, actor: Actor, codes: Sequence[str]) -> dict[str, int]:
    """{code: id} of the customers with these codes that `actor` may see."""
    found: dict[str, int] = {}
    for start in range(0, len(codes), 500):
        part = codes[start : start + 500]
        stmt = customer_access.restrict(
            select(Customer.code, Customer.id).where(Customer.code.in_(part)), actor
        )
        found.update({code: cid for code, cid in session.execute(stmt).tuples() if code})
    return found


def _visible_ids(session: Session, actor: Actor, ids: Sequence[int]) -> set[int]:
    stmt = customer_access.restrict(select(Customer.id).where(Customer.id.in_(ids)), actor)
    return set(session.scalars(stmt))


def clean_filter(
    session: Session, actor: Actor, data: Mapping[str, Any], errors: list[FieldError]
) -> dict[str, Any]:
    """The filter as stored (`filter.<name>` errors are appended to `errors`). Customers given by id or
    code must be ones `actor` may see."""
    spec: dict[str, Any] = {"mode": "filter"}
    spec["kinds"] = _choices(data.get("kinds"), (k.value for k in CustomerKind), "filter.kinds", errors)
    spec["statuses"] = _choices(
        data.get("statuses"), (s.value for s in CustomerStatus), "filter.statuses", errors
    )
    spec["tiers"] = _choices(data.get("tiers"), _tier_codes(session), "filter.tiers", errors)
    departments = _id_list(data.get("department_ids"), "filter.department_ids", errors)
    if departments:
        known = set(session.scalars(select(Department.id).where(Department.id.in_(departments))))
        if known != set(departments):
            errors.append(FieldError("filter.department_ids", CHOOSE))
    spec["department_ids"] = departments
    kind = _id_list(data.get("subscriber_kind_id"), "filter.subscriber_kind_id", errors)
    if kind and session.get(SubscriberKind, kind[0]) is None:
        errors.append(FieldError("filter.subscriber_kind_id", CHOOSE))
    spec["subscriber_kind_id"] = kind[0] if kind else None
    parent = _id_list(data.get("parent_id"), "filter.parent_id", errors)
    parent_code = str(data.get("parent_code") or "").strip()
    if parent:
        if not _visible_ids(session, actor, parent[:1]):
            errors.append(FieldError("filter.parent_id", NO_SUCH_CUSTOMER, code=parent[0]))
    elif parent_code:
        found = visible_by_code(session, actor, [parent_code])
        if parent_code in found:
            parent = [found[parent_code]]
        else:
            errors.append(FieldError("filter.parent_code", NO_SUCH_CUSTOMER, code=parent_code))
    spec["parent_id"] = parent[0] if parent else None
    ids = _id_list(data.get("customer_ids"), "filter.customer_ids", errors)
    codes = _text_list(data.get("customer_codes"))
    if len(ids) > IDS_MAX or len(codes) > IDS_MAX:
        errors.append(
            FieldError("filter.customer_ids" if ids else "filter.customer_codes", TOO_MANY, max=IDS_MAX)
        )
        ids, codes = [], []
    if ids:
        missing = [i for i in ids if i not in _visible_ids(session, actor, ids)]
        if missing:
            errors.append(FieldError("filter.customer_ids", NO_SUCH_CUSTOMER, code=missing[0]))
    if codes:
        by_code = visible_by_code(session, actor, codes)
        unknown = [c for c in codes if c not in by_code]
        if unknown:
            errors.append(FieldError("filter.customer_codes", NO_SUCH_CUSTOMER, code=unknown[0]))
        ids = list(dict.fromkeys([*ids, *by_code.values()]))
    spec["customer_ids"] = ids
    return spec


def customers_stmt(session: Session, actor: Actor, spec: Mapping[str, Any]) -> Select[Any]:
    """The customers a filter selects, within `actor`'s customer data scope (not ordered)."""
    stmt = customer_access.restrict(select(Customer), actor)
    if spec.get("kinds"):
        stmt = stmt.where(Customer.kind.in_([CustomerKind(k) for k in spec["kinds"]]))
    if spec.get("statuses"):
        stmt = stmt.where(Customer.status.in_([CustomerStatus(s) for s in spec["statuses"]]))
    if spec.get("tiers"):
        stmt = stmt.where(Customer.tier.in_(spec["tiers"]))
    if spec.get("department_ids"):
        # A department covers its sub-departments (a district and its service points).
        paths = session.scalars(
            select(Department.path).where(Department.id.in_(spec["department_ids"]))
        ).all()
        subtrees = [Customer.department_id.in_(select(Department.id).where(*subtree_range(p))) for p in paths]
        stmt = stmt.where(or_(*subtrees) if subtrees else false())
    if spec.get("parent_id") is not None:
        stmt = stmt.where(Customer.parent_id == spec["parent_id"])
    if spec.get("subscriber_kind_id") is not None:
        stmt = stmt.where(
            exists().where(
                Subscriber.customer_id == Customer.id,
                Subscriber.kind_id == spec["subscriber_kind_id"],
                Subscriber.status == SubscriberStatus.ACTIVE,
            )
        )
    if spec.get("customer_ids"):
        stmt = stmt.where(Customer.id.in_(spec["customer_ids"]))
    return stmt


# --- the list ---------------------------------------------------------------------------------------


@dataclass
class ListErrors:
    """Errors of a list in line order; only the first few are reported, with how many more."""

    items: list[tuple[int, FieldError]] = field(default_factory=list)

    def add(self, line: int, column: str, message: str, **params: object) -> None:
        self.items.append((line, FieldError(f"list.{line}.{column}", message, line=line, **params)))

    def reported(self) -> list[FieldError]:
        ordered = [e for _, e in sorted(self.items, key=lambda item: item[0])]
        shown = ordered[:ERRORS_SHOWN]
        if len(ordered) > ERRORS_SHOWN:
            shown.append(FieldError("list", MORE_ERRORS, count=len(ordered) - ERRORS_SHOWN))
        return shown


def _reader(text: str) -> Any:
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first else ";" if ";" in first and "," not in first else ","
    return csv.reader(io.StringIO(text), delimiter=delimiter)


def _header(cells: list[str], errors: list[FieldError]) -> list[str]:
    columns = [c.strip().lower() for c in cells]
    for column in columns:
        if column and column not in LIST_COLUMNS:
            errors.append(
                FieldError(f"list.1.{column}", UNKNOWN_COLUMN, column=column, names=", ".join(LIST_COLUMNS))
            )
        elif column and columns.count(column) > 1:
            errors.append(FieldError(f"list.1.{column}", COLUMN_TWICE, column=column))
            break
    if not set(ADDRESS_COLUMNS) & set(columns):
        errors.append(FieldError("list", NO_ADDRESS_COLUMN))
    return columns


def parse_list(
    session: Session, actor: Actor, channel: Channel, text: str, errors: list[FieldError]
) -> dict[str, Any]:
    """The list as stored: `{"mode": "list", "columns": [...], "rows": [{"line", "to", "key",
    "customer_id", "values"}]}`. Addresses are checked for the channel; customer codes must be of
    customers `actor` may see. Errors (at most a few, in line order) are appended to `errors`."""
    reader = _reader(text.lstrip("\ufeff"))
    columns: list[str] | None = None
    rows: list[dict[str, Any]] = []
    line_errors = ListErrors()
    codes: dict[int, str] = {}
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        if columns is None:
            columns = _header(cells, errors)
            if errors:
                return {}
            continue
        line = reader.line_num
        if len(rows) >= LIST_MAX:
            errors.append(FieldError("list", LIST_TOO_LONG, max=LIST_MAX))
            return {}
        if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
            line_errors.add(line, "_", LINE_EXTRA_CELLS)
            continue
        record = {col: cells[i].strip() for i, col in enumerate(columns) if col and i < len(cells)}
        row: dict[str, Any] = {"line": line, "to": "", "key": "", "customer_id": None, "values": {}}
        if record.get("to"):
            try:
                target = outbox.recipient(channel, record["to"])
                row["to"], row["key"] = target.shown, target.key
            except FieldError:
                bad = LINE_BAD_MOBILE if channel is Channel.SMS else LINE_BAD_EMAIL
                line_errors.add(line, "to", bad)
        if record.get("customer_code"):
            codes[line] = record["customer_code"]
        elif not record.get("to"):
            line_errors.add(line, "to", LINE_NO_RECIPIENT)
        for name in render.NOTICE_FIELDS:
            value = record.get(name, "")
            if len(value) > VALUE_MAX:
                line_errors.add(line, name, LINE_TOO_LONG, name=name, max=VALUE_MAX)
            elif value:
                row["values"][name] = value
        rows.append(row)
    if columns is None or not rows:
        errors.append(FieldError("list", LIST_EMPTY))
        return {}
    if codes:
        found = visible_by_code(session, actor, sorted(set(codes.values())))
        by_line = {row["line"]: row for row in rows}
        for line, code in codes.items():
            if code in found:
                by_line[line]["customer_id"] = found[code]
            else:
                line_errors.add(line, "customer_code", LINE_UNKNOWN_CUSTOMER, code=code)
    errors.extend(line_errors.reported())
    return {"mode": "list", "columns": [c for c in columns if c], "rows": rows}


# --- what the template needs ------------------------------------------------------------------------


def used_variables(template: MessageTemplate) -> set[str]:
    used = render.variables(template.body)
    if template.channel is Channel.EMAIL and template.subject:
        used |= render.variables(template.subject)
    return used


def check_coverage(
    template: MessageTemplate, spec: Mapping[str, Any], shared: Mapping[str, str], errors: list[FieldError]
) -> None:
    """Every value the template uses is given by the shared values or, for a list, by each line."""
    used = used_variables(template)
    needed = sorted((used & set(render.NOTICE_FIELDS)) - {k for k, v in shared.items() if v})
    if spec.get("mode") != "list":
        errors.extend(FieldError(f"variables.{name}", MISSING_SHARED, name=name) for name in needed)
        return
    line_errors = ListErrors()
    wants_customer = "customer" in used
    for row in spec.get("rows", []):
        line = row["line"]
        for name in needed:
            if not row["values"].get(name):
                line_errors.add(line, name, LINE_MISSING, name=name)
        if wants_customer and row.get("customer_id") is None:
            line_errors.add(line, "customer_code", LINE_NEEDS_CUSTOMER)
        if len(line_errors.items) > ERRORS_SHOWN * 5:
            break  # enough to tell the user what is wrong with the file
    errors.extend(line_errors.reported())


# --- addresses --------------------------------------------------------------------------------------


def _mobile(e164: str) -> phones.Phone | None:
    try:
        phone = phones.normalise(e164)
    except phones.InvalidPhone:
        return None
    return phone if phone.mobile and not phone.extension else None


def addresses(session: Session, channel: Channel, customer_ids: Sequence[int]) -> dict[int, outbox.Recipient]:
    """Each customer's address for the channel: the primary mobile number (SMS) or e-mail address,
    else another one; customers without one are left out."""
    found: dict[int, outbox.Recipient] = {}
    if not customer_ids:
        return found
    if channel is Channel.SMS:
        phone_rows = session.execute(
            select(
                CustomerPhone.customer_id, CustomerPhone.e164, CustomerPhone.is_primary, CustomerPhone.kind
            )
            .where(CustomerPhone.customer_id.in_(customer_ids))
            .order_by(CustomerPhone.id)
        ).all()
        ordered = sorted(phone_rows, key=lambda r: (not r.is_primary, r.kind is not PhoneKind.MOBILE))
        for row in ordered:
            if row.customer_id in found:
                continue
            phone = _mobile(row.e164)
            if phone is not None:
                found[row.customer_id] = outbox.Recipient(channel, phone.display, phone.e164)
        return found
    email_rows = session.execute(
        select(CustomerEmail.customer_id, CustomerEmail.address, CustomerEmail.is_primary)
        .where(CustomerEmail.customer_id.in_(customer_ids))
        .order_by(CustomerEmail.id)
    ).all()
    for email in sorted(email_rows, key=lambda r: not r.is_primary):
        if email.customer_id in found:
            continue
        try:
            found[email.customer_id] = outbox.recipient(channel, email.address)
        except FieldError:
            continue
    return found


def describe(spec: Mapping[str, Any]) -> str:
    """A short account of the selection for the audit log."""
    if spec.get("mode") == "list":
        return f"list: {len(spec.get('rows', []))} lines, columns {', '.join(spec.get('columns', []))}"
    parts = [f"{k}={v}" for k, v in spec.items() if k != "mode" and v not in (None, [], "")]
    return "filter: " + (", ".join(parts) if parts else "all customers")
