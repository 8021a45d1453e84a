"""Ticket types (工单类型): category + form template + published flow + time limit + serial prefix."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core.errors import Conflict, FieldError, NotFound
from kefu.core.permissions import Actor
from kefu.org.config import dictionary_cache
from kefu.org.validation import ensure_unique, require_text
from kefu.tickets.models import (
    CaseTemplate,
    FormTemplate,
    Ticket,
    TicketType,
)
from kefu.tickets.setup.service.common import (
    DESCRIPTION_MAX,
    KEEP,
    NAME_MAX,
    PREFIX_RE,
    TYPE_FIELDS,
    URGENCY,
    Problems,
    category_ref,
    changed_only,
    check_version,
    department_ref,
    dictionary_item,
    existing_id,
    flag,
    flush_or_conflict,
    in_use,
    optional_text,
    record_change,
    require_edit,
    sort_value,
    unique_code,
)
from kefu.tickets.setup.service.forms import effective_template
from kefu.workflow import flows
from kefu.workflow.models import FlowTemplate
from kefu.workflow.runtime.limits import working_duration


def list_ticket_types(session: Session, *, enabled: bool | None = None) -> list[TicketType]:
    stmt = select(TicketType).order_by(TicketType.sort, TicketType.name, TicketType.id)
    if enabled is not None:
        stmt = stmt.where(TicketType.enabled.is_(enabled))
    return list(session.scalars(stmt))


def get_ticket_type(session: Session, type_id: int) -> TicketType:
    ticket_type = session.get(TicketType, type_id)
    if ticket_type is None:
        raise NotFound()
    return ticket_type


def _prefix(session: Session, value: Any, current: TicketType | None) -> str:
    prefix = require_text("prefix", value, max_len=6)
    if not PREFIX_RE.fullmatch(prefix):
        raise FieldError("prefix", "Use 1 to 6 upper-case letters or digits")
    ensure_unique(session, TicketType.prefix, prefix, "prefix", exclude_id=current.id if current else None)
    return prefix


def _flow_template_id(session: Session, value: Any) -> int:
    if value in (None, ""):
        raise FieldError("flow_template_id", "This field is required")
    found = existing_id(session, FlowTemplate, "flow_template_id", value, "No such flow template")
    template = session.get(FlowTemplate, found)
    assert template is not None
    if flows.current_published(template) is None:
        raise FieldError("flow_template_id", "This flow has no published version; publish it first")
    return template.id


def _limit(session: Session, value: Any) -> str | None:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return None
    if len(text) > 40:
        raise FieldError("limit", "At most %(n)s characters", n=40)
    working_duration(session, text, field="limit")
    return text


def _clean_type(session: Session, given: Mapping[str, Any], current: TicketType | None) -> dict[str, Any]:
    check = Problems()
    out: dict[str, Any] = {}
    if "code" in given:
        out["code"] = check(lambda: unique_code(session, TicketType, given["code"], current))
    if "name" in given:
        out["name"] = check(lambda: require_text("name", given["name"], max_len=NAME_MAX))
    if "prefix" in given:
        out["prefix"] = check(lambda: _prefix(session, given["prefix"], current))
    if "category_id" in given:
        out["category_id"] = check(lambda: category_ref(session, given["category_id"]))
    if "form_template_id" in given:
        out["form_template_id"] = check(
            lambda: existing_id(
                session, FormTemplate, "form_template_id", given["form_template_id"], "No such form template"
            )
        )
    if "flow_template_id" in given:
        out["flow_template_id"] = check(lambda: _flow_template_id(session, given["flow_template_id"]))
    if "limit" in given:
        out["limit"] = check(lambda: _limit(session, given["limit"]))
    if "default_department_id" in given:
        out["default_department_id"] = check(
            lambda: department_ref(session, "default_department_id", given["default_department_id"])
        )
    if "default_priority" in given:
        out["default_priority"] = check(
            lambda: dictionary_item(
                session, "default_priority", URGENCY, given["default_priority"], required=True
            )
        )
    if "description" in given:
        out["description"] = check(
            lambda: optional_text("description", given["description"], DESCRIPTION_MAX)
        )
    if "sort" in given:
        out["sort"] = check(lambda: sort_value(given["sort"]))
    if "enabled" in given:
        out["enabled"] = check(lambda: flag("enabled", given["enabled"]))
    check.raise_any()
    return out


def create_ticket_type(
    session: Session,
    *,
    actor: Actor,
    code: str,
    name: str,
    prefix: str,
    flow_template_id: int | None,
    category_id: int | None = None,
    form_template_id: int | None = None,
    limit: str | None = None,
    default_department_id: int | None = None,
    default_priority: str = "normal",
    description: str = "",
    sort: int = 0,
    enabled: bool = True,
) -> TicketType:
    """A new ticket type; its flow template must have a published version, its limit must parse."""
    require_edit(actor)
    given = {
        "code": code,
        "name": name,
        "prefix": prefix,
        "flow_template_id": flow_template_id,
        "category_id": category_id,
        "form_template_id": form_template_id,
        "limit": limit,
        "default_department_id": default_department_id,
        "default_priority": default_priority,
        "description": description,
        "sort": sort,
        "enabled": enabled,
    }
    ticket_type = TicketType(**_clean_type(session, given, None))
    session.add(ticket_type)
    after = audit.snapshot(ticket_type, TYPE_FIELDS)
    record_change(session, actor, "ticket_type.create", ticket_type, after=after)
    return ticket_type


def update_ticket_type(
    session: Session,
    *,
    actor: Actor,
    ticket_type: TicketType,
    version: int | None = None,
    code: Any = KEEP,
    name: Any = KEEP,
    prefix: Any = KEEP,
    flow_template_id: Any = KEEP,
    category_id: Any = KEEP,
    form_template_id: Any = KEEP,
    limit: Any = KEEP,
    default_department_id: Any = KEEP,
    default_priority: Any = KEEP,
    description: Any = KEEP,
    sort: Any = KEEP,
    enabled: Any = KEEP,
) -> TicketType:
    """Change a ticket type made from `version` (None: not checked); Conflict when it moved on.

    Running tickets keep the flow version they started on; new ones start on the newest published
    version of the (possibly new) flow template."""
    require_edit(actor)
    check_version(ticket_type, version)
    given = changed_only(
        code=code,
        name=name,
        prefix=prefix,
        flow_template_id=flow_template_id,
        category_id=category_id,
        form_template_id=form_template_id,
        limit=limit,
        default_department_id=default_department_id,
        default_priority=default_priority,
        description=description,
        sort=sort,
        enabled=enabled,
    )
    if given.get("default_priority") == ticket_type.default_priority:
        del given["default_priority"]  # an item disabled since stays valid until it is changed
    values = _clean_type(session, given, ticket_type)
    before = audit.snapshot(ticket_type, TYPE_FIELDS)
    for key, value in values.items():
        setattr(ticket_type, key, value)
    old, new = audit.diff(before, audit.snapshot(ticket_type, TYPE_FIELDS))
    if new:
        record_change(session, actor, "ticket_type.update", ticket_type, before=old, after=new)
    return ticket_type


def delete_ticket_type(session: Session, *, actor: Actor, ticket_type: TicketType) -> None:
    """Delete a type that no ticket has, with its case templates (Conflict otherwise: disable it)."""
    require_edit(actor)
    if in_use(session, Ticket.type_id, ticket_type.id):
        raise Conflict("Tickets of this type exist; disable the type instead")
    cases = list(session.scalars(select(CaseTemplate).where(CaseTemplate.type_id == ticket_type.id)))
    before = {**audit.snapshot(ticket_type, TYPE_FIELDS), "case_templates": [c.code for c in cases]}
    record_change(session, actor, "ticket_type.delete", ticket_type, before=before)
    for case in cases:
        session.delete(case)
    session.delete(ticket_type)
    flush_or_conflict(session)


def registration_form(
    session: Session, ticket_type: TicketType, *, locale: str, today: date | None = None
) -> dict[str, Any]:
    """What the registration form of `ticket_type` shows today: the elements of its form template if
    that is effective (none otherwise), and the enabled items of the dictionaries they choose from."""
    template = effective_template(session, ticket_type.form_template, today)
    elements = list(template.elements) if template is not None else []
    choices: dict[str, list[dict[str, str]]] = {}
    for element in elements:
        code = element.get("dictionary")
        if code and code not in choices:
            try:
                items = dictionary_cache.items(session, code)
            except NotFound:
                items = []
            choices[code] = [{"code": item.code, "label": item.text(locale)} for item in items]
    return {
        "type_id": ticket_type.id,
        "form_template_id": template.id if template is not None else None,
        "elements": elements,
        "choices": choices,
    }
