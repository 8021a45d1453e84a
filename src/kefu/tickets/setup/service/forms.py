"""Form templates (工单模板): their elements are checked by `formdef` and stored cleaned; a template is
used for new tickets while it is active and within its effective dates."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock
from kefu.core.errors import Conflict, FieldError, FieldErrors, NotFound
from kefu.core.permissions import Actor
from kefu.org.config.models import DictType
from kefu.org.validation import require_text
from kefu.tickets import formdef
from kefu.tickets.models import (
    FormTemplate,
    TemplateStatus,
    Ticket,
    TicketType,
)
from kefu.tickets.setup.service.common import (
    DESCRIPTION_MAX,
    FORM_FIELDS,
    KEEP,
    NAME_MAX,
    Problems,
    category_ref,
    changed_only,
    check_version,
    department_ref,
    flush_or_conflict,
    in_use,
    optional_date,
    optional_text,
    record_change,
    require_edit,
    unique_code,
)


def list_form_templates(
    session: Session, *, category_id: int | None = None, status: TemplateStatus | None = None
) -> list[FormTemplate]:
    stmt = select(FormTemplate).order_by(FormTemplate.code)
    if category_id is not None:
        stmt = stmt.where(FormTemplate.category_id == category_id)
    if status is not None:
        stmt = stmt.where(FormTemplate.status == status)
    return list(session.scalars(stmt))


def get_form_template(session: Session, template_id: int) -> FormTemplate:
    template = session.get(FormTemplate, template_id)
    if template is None:
        raise NotFound()
    return template


def _elements(session: Session, raw: Any) -> list[dict[str, Any]]:
    """The checked elements as stored; FieldErrors naming `elements.N.key`. Dictionaries must exist."""
    elements = formdef.check_definition(raw)
    wanted = {e.dictionary for e in elements if e.dictionary}
    known = set(session.scalars(select(DictType.code).where(DictType.code.in_(wanted)))) if wanted else set()
    missing = [
        FieldError(f"elements.{index}.dictionary", "No such dictionary")
        for index, element in enumerate(elements)
        if element.dictionary and element.dictionary not in known
    ]
    if missing:
        raise FieldErrors(missing)
    return [element.to_dict() for element in elements]


def _status(value: Any) -> TemplateStatus:
    try:
        return TemplateStatus(value)
    except ValueError:
        raise FieldError("status", "Choose one of the offered values") from None


def _clean_form(session: Session, given: Mapping[str, Any], current: FormTemplate | None) -> dict[str, Any]:
    check = Problems()
    out: dict[str, Any] = {}
    if "code" in given:
        out["code"] = check(lambda: unique_code(session, FormTemplate, given["code"], current))
    if "name" in given:
        out["name"] = check(lambda: require_text("name", given["name"], max_len=NAME_MAX))
    if "description" in given:
        out["description"] = check(
            lambda: optional_text("description", given["description"], DESCRIPTION_MAX)
        )
    if "category_id" in given:
        out["category_id"] = check(lambda: category_ref(session, given["category_id"]))
    if "department_id" in given:
        out["department_id"] = check(lambda: department_ref(session, "department_id", given["department_id"]))
    for field in ("effective_from", "effective_to"):
        if field in given:
            out[field] = check(lambda field=field: optional_date(field, given[field]))  # type: ignore[misc]
    if "status" in given:
        out["status"] = check(lambda: _status(given["status"]))
    if "elements" in given:
        out["elements"] = check(lambda: _elements(session, given["elements"]))
    start = out.get("effective_from", current.effective_from if current else None)
    end = out.get("effective_to", current.effective_to if current else None)
    if start is not None and end is not None and not check.errors and end < start:
        check.errors.append(FieldError("effective_to", "The end date is before the start date"))
    check.raise_any()
    return out


def create_form_template(
    session: Session,
    *,
    actor: Actor,
    code: str,
    name: str,
    category_id: int | None = None,
    department_id: int | None = None,
    effective_from: date | str | None = None,
    effective_to: date | str | None = None,
    status: TemplateStatus | str = TemplateStatus.DRAFT,
    elements: Any = (),
    description: str = "",
) -> FormTemplate:
    """A new form template; `elements` are checked by `formdef.check_definition` and stored cleaned."""
    require_edit(actor)
    given = {
        "code": code,
        "name": name,
        "category_id": category_id,
        "department_id": department_id,
        "effective_from": effective_from,
        "effective_to": effective_to,
        "status": status,
        "elements": list(elements) if isinstance(elements, tuple) else elements,
        "description": description,
    }
    template = FormTemplate(**_clean_form(session, given, None), updated_at=clock.now())
    session.add(template)
    after = audit.snapshot(template, FORM_FIELDS)
    record_change(session, actor, "form_template.create", template, after=after)
    return template


def update_form_template(
    session: Session,
    *,
    actor: Actor,
    template: FormTemplate,
    version: int | None = None,
    code: Any = KEEP,
    name: Any = KEEP,
    category_id: Any = KEEP,
    department_id: Any = KEEP,
    effective_from: Any = KEEP,
    effective_to: Any = KEEP,
    status: Any = KEEP,
    elements: Any = KEEP,
    description: Any = KEEP,
) -> FormTemplate:
    """Change a form template made from `version` (None: not checked); Conflict when it moved on."""
    require_edit(actor)
    check_version(template, version)
    given = changed_only(
        code=code,
        name=name,
        category_id=category_id,
        department_id=department_id,
        effective_from=effective_from,
        effective_to=effective_to,
        status=status,
        elements=elements,
        description=description,
    )
    values = _clean_form(session, given, template)
    before = audit.snapshot(template, FORM_FIELDS)
    for key, value in values.items():
        setattr(template, key, value)
    old, new = audit.diff(before, audit.snapshot(template, FORM_FIELDS))
    if new:
        template.updated_at = clock.now()
        record_change(session, actor, "form_template.update", template, before=old, after=new)
    return template


def delete_form_template(session: Session, *, actor: Actor, template: FormTemplate) -> None:
    """Delete a template no type uses and no ticket was filed with (Conflict otherwise: disable it)."""
    require_edit(actor)
    if in_use(session, TicketType.form_template_id, template.id):
        raise Conflict("Ticket types use this form template; change them first")
    if in_use(session, Ticket.form_template_id, template.id):
        raise Conflict("Tickets were filed with this form template; disable it instead")
    before = audit.snapshot(template, FORM_FIELDS)
    record_change(session, actor, "form_template.delete", template, before=before)
    session.delete(template)
    flush_or_conflict(session)


def effective_template(
    session: Session, template: FormTemplate | None, today: date | None = None
) -> FormTemplate | None:
    """`template` if tickets may be registered with it on `today` (the deployment's date by default):
    active, and `today` within its effective dates (both ends included, an open end unbounded)."""
    if template is None or template.status is not TemplateStatus.ACTIVE:
        return None
    today = today or clock.to_local(clock.now()).date()
    if template.effective_from is not None and today < template.effective_from:
        return None
    if template.effective_to is not None and today > template.effective_to:
        return None
    return template


def element_defs(template: FormTemplate | None) -> list[formdef.ElementDef]:
    """The stored elements of `template` as definitions (none without a template)."""
    return [formdef.ElementDef.from_dict(raw) for raw in template.elements] if template else []
