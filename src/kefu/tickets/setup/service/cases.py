"""Case templates (案例模板): prefilled subject, description and form values for frequent cases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core.errors import FieldError, NotFound
from kefu.core.permissions import Actor
from kefu.org.validation import require_text
from kefu.tickets import formdef
from kefu.tickets.models import (
    CaseTemplate,
    TicketType,
)
from kefu.tickets.setup.service.common import (
    CASE_FIELDS,
    CASE_NATURE,
    KEEP,
    NAME_MAX,
    SUBJECT_MAX,
    URGENCY,
    Problems,
    category_ref,
    changed_only,
    dictionary_item,
    existing_id,
    flag,
    flush_or_conflict,
    item_codes,
    optional_text,
    record_change,
    require_edit,
    sort_value,
    unique_code,
)
from kefu.tickets.setup.service.forms import element_defs


def list_case_templates(session: Session, *, type_id: int | None = None) -> list[CaseTemplate]:
    stmt = select(CaseTemplate).order_by(CaseTemplate.type_id, CaseTemplate.sort, CaseTemplate.name)
    if type_id is not None:
        stmt = stmt.where(CaseTemplate.type_id == type_id)
    return list(session.scalars(stmt))


def get_case_template(session: Session, case_id: int) -> CaseTemplate:
    case = session.get(CaseTemplate, case_id)
    if case is None:
        raise NotFound()
    return case


def _case_fields(session: Session, ticket_type: TicketType | None, raw: Any) -> dict[str, Any]:
    """The prefilled values, checked against the type's form template (partially: any subset)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise FieldError("fields", "Enter the fields as an object")
    given = {key: value for key, value in raw.items() if value not in (None, "", [])}
    if not given:
        return {}
    elements = element_defs(ticket_type.form_template if ticket_type else None)
    return formdef.validate(elements, given, choices=lambda code: item_codes(session, code), partial=True)


def _clean_case(session: Session, given: Mapping[str, Any], current: CaseTemplate | None) -> dict[str, Any]:
    check = Problems()
    out: dict[str, Any] = {}
    if "code" in given:
        out["code"] = check(lambda: unique_code(session, CaseTemplate, given["code"], current))
    if "name" in given:
        out["name"] = check(lambda: require_text("name", given["name"], max_len=NAME_MAX))
    if "type_id" in given:
        out["type_id"] = check(
            lambda: (
                existing_id(session, TicketType, "type_id", given["type_id"], "No such ticket type")
                or _required("type_id")
            )
        )
    if "category_id" in given:
        out["category_id"] = check(lambda: category_ref(session, given["category_id"]))
    if "subject" in given:
        out["subject"] = check(lambda: optional_text("subject", given["subject"], SUBJECT_MAX))
    if "description" in given:
        out["description"] = check(lambda: optional_text("description", given["description"], 10_000))
    if "priority" in given:
        out["priority"] = check(
            lambda: dictionary_item(session, "priority", URGENCY, given["priority"], required=False)
        )
    if "nature" in given:
        out["nature"] = check(
            lambda: dictionary_item(session, "nature", CASE_NATURE, given["nature"], required=False)
        )
    if "sort" in given:
        out["sort"] = check(lambda: sort_value(given["sort"]))
    if "enabled" in given:
        out["enabled"] = check(lambda: flag("enabled", given["enabled"]))
    if ("fields" in given or "type_id" in given) and not check.errors:
        type_id = out.get("type_id", current.type_id if current else None)
        raw = given.get("fields", current.fields if current else {})
        ticket_type = session.get(TicketType, type_id) if type_id is not None else None
        out["fields"] = check(lambda: _case_fields(session, ticket_type, raw))
    check.raise_any()
    return out


def _required(field: str) -> Any:
    raise FieldError(field, "This field is required")


def create_case_template(
    session: Session,
    *,
    actor: Actor,
    code: str,
    name: str,
    type_id: int | None,
    category_id: int | None = None,
    subject: str = "",
    description: str = "",
    priority: str | None = None,
    nature: str | None = None,
    fields: Mapping[str, Any] | None = None,
    sort: int = 0,
    enabled: bool = True,
) -> CaseTemplate:
    """A new case template of a type; prefilled `fields` must be valid values of the type's form."""
    require_edit(actor)
    given = {
        "code": code,
        "name": name,
        "type_id": type_id,
        "category_id": category_id,
        "subject": subject,
        "description": description,
        "priority": priority,
        "nature": nature,
        "fields": fields,
        "sort": sort,
        "enabled": enabled,
    }
    case = CaseTemplate(**_clean_case(session, given, None))
    session.add(case)
    record_change(session, actor, "case_template.create", case, after=audit.snapshot(case, CASE_FIELDS))
    return case


def update_case_template(
    session: Session,
    *,
    actor: Actor,
    case: CaseTemplate,
    code: Any = KEEP,
    name: Any = KEEP,
    type_id: Any = KEEP,
    category_id: Any = KEEP,
    subject: Any = KEEP,
    description: Any = KEEP,
    priority: Any = KEEP,
    nature: Any = KEEP,
    fields: Any = KEEP,
    sort: Any = KEEP,
    enabled: Any = KEEP,
) -> CaseTemplate:
    """Change a case template; a new type re-checks the prefilled fields against its form."""
    require_edit(actor)
    given = changed_only(
        code=code,
        name=name,
        type_id=type_id,
        category_id=category_id,
        subject=subject,
        description=description,
        priority=priority,
        nature=nature,
        fields=fields,
        sort=sort,
        enabled=enabled,
    )
    for key in ("priority", "nature"):
        if key in given and given[key] == getattr(case, key):
            del given[key]  # an item disabled since stays valid until it is changed
    values = _clean_case(session, given, case)
    before = audit.snapshot(case, CASE_FIELDS)
    for key, value in values.items():
        setattr(case, key, value)
    old, new = audit.diff(before, audit.snapshot(case, CASE_FIELDS))
    if new:
        record_change(session, actor, "case_template.update", case, before=old, after=new)
    return case


def delete_case_template(session: Session, *, actor: Actor, case: CaseTemplate) -> None:
    """Delete a case template (tickets made from it keep their content)."""
    require_edit(actor)
    record_change(session, actor, "case_template.delete", case, before=audit.snapshot(case, CASE_FIELDS))
    session.delete(case)
    flush_or_conflict(session)
