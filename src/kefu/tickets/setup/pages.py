"""Administration pages of the ticket configuration (/admin/tickets/...): business categories, form
templates with their element editor, ticket types and case templates.

Every form posts to a page route that calls the same service function as the JSON API. Bad input
re-shows the form with the message beside each field (422) and nothing is saved; a form saved from a
stale version is re-shown with the conflict (409).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kefu.core import clock, i18n
from kefu.core.errors import FieldErrors, KefuError
from kefu.core.i18n import lazy
from kefu.org.config import dictionary_cache
from kefu.org.config.models import DictType
from kefu.org.departments import department_tree
from kefu.tickets import formdef
from kefu.tickets.models import BusinessCategory, CaseTemplate, FormTemplate, TemplateStatus, TicketType
from kefu.tickets.setup import editor, service
from kefu.web.deps import Requires, SessionDep
from kefu.web.nav import NavItem, register
from kefu.web.templating import render
from kefu.workflow import flows

router = APIRouter(prefix="/admin/tickets", include_in_schema=False)

_SEE = ("tickets.config.view", "tickets.config.edit")
register(NavItem("admin", "Business categories", "/admin/tickets/categories", "bi-diagram-2", _SEE, 110))
register(NavItem("admin", "Form templates", "/admin/tickets/forms", "bi-ui-checks", _SEE, 120))
register(NavItem("admin", "Ticket types", "/admin/tickets/types", "bi-tags", _SEE, 130))
register(NavItem("admin", "Case templates", "/admin/tickets/cases", "bi-journal-text", _SEE, 140))

STATUS_LABELS = {
    TemplateStatus.DRAFT: lazy("Draft"),
    TemplateStatus.ACTIVE: lazy("Active"),
    TemplateStatus.DISABLED: lazy("Disabled"),
}
NOT_PUBLISHED = lazy("not published")
ViewConfig = Requires(*_SEE)
EditConfig = Requires("tickets.config.edit")


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _id(form: FormData, key: str) -> int | None:
    value = _text(form, key).strip()
    return int(value) if value.isdigit() else None


def _values(form: FormData) -> dict[str, str]:
    """The submitted text fields, to show them again."""
    return {key: value for key, value in form.items() if isinstance(value, str) and key != "csrf_token"}


def _messages(session: Session, exc: KefuError) -> dict[str, str]:
    """Undo the half-done change; field → message (`_` for a message about the whole form)."""
    session.rollback()
    if isinstance(exc, FieldErrors):
        return exc.by_field(i18n.gettext)
    return {getattr(exc, "field", "_"): exc.render(i18n.gettext)}


def _failed(exc: KefuError) -> bool:
    """Whether the form is shown again (bad input, conflict); other errors become the error page."""
    return exc.status_code in (409, 422)


def _category_options(session: Session) -> list[tuple[int, str]]:
    return [(c.id, "— " * depth + c.name) for c, depth in service.category_tree(session)]


def _department_options(session: Session) -> list[tuple[int, str]]:
    return [(d.id, "— " * depth + d.name) for d, depth in department_tree(session)]


def _dictionary_options(session: Session, code: str) -> list[tuple[str, str]]:
    try:
        items = dictionary_cache.items(session, code)
    except KefuError:
        return []
    return [(item.code, item.text(i18n.get_locale())) for item in items]


# --- Business categories ----------------------------------------------------------------------------


def _categories_page(
    request: Request,
    session: Session,
    *,
    edit: BusinessCategory | None = None,
    parent_id: int | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "tickets/tickets/setup/categories.html",
        {
            "tree": service.category_tree(session),
            "edit": edit,
            "parent_id": parent_id,
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status,
    )


@router.get("/categories")
def categories(
    request: Request,
    session: SessionDep,
    actor: ViewConfig,
    edit: int | None = None,
    parent: int | None = None,
) -> Response:
    """The category tree; `?edit=ID` opens a category in the form, `?parent=ID` adds under one."""
    category = service.get_category(session, edit) if edit else None
    return _categories_page(request, session, edit=category, parent_id=parent)


@router.post("/categories")
def save_category(request: Request, session: SessionDep, actor: EditConfig, form: FormDep) -> Response:
    category_id = _id(form, "id")
    fields: dict[str, Any] = {
        "code": _text(form, "code"),
        "name": _text(form, "name"),
        "parent_id": _id(form, "parent_id"),
        "description": _text(form, "description"),
        "sort": _text(form, "sort") or 0,
    }
    try:
        if category_id:
            category = service.get_category(session, category_id)
            service.update_category(
                session, actor=actor, category=category, **fields, enabled=form.get("enabled") == "on"
            )
        else:
            service.create_category(session, actor=actor, **fields)
    except KefuError as exc:
        if not _failed(exc):
            raise
        errors = _messages(session, exc)
        edit = session.get(BusinessCategory, category_id) if category_id else None
        return _categories_page(
            request, session, edit=edit, errors=errors, values=_values(form), status=exc.status_code
        )
    return RedirectResponse("/admin/tickets/categories", status_code=303)


@router.post("/categories/{category_id}/toggle")
def toggle_category(request: Request, session: SessionDep, actor: EditConfig, category_id: int) -> Response:
    category = service.get_category(session, category_id)
    service.set_category_enabled(session, actor=actor, category=category, enabled=not category.enabled)
    return RedirectResponse("/admin/tickets/categories", status_code=303)


@router.post("/categories/{category_id}/delete")
def remove_category(request: Request, session: SessionDep, actor: EditConfig, category_id: int) -> Response:
    try:
        service.delete_category(session, actor=actor, category=service.get_category(session, category_id))
    except KefuError as exc:
        if not _failed(exc):
            raise
        return _categories_page(request, session, errors=_messages(session, exc), status=exc.status_code)
    return RedirectResponse("/admin/tickets/categories", status_code=303)


# --- Form templates ---------------------------------------------------------------------------------


@router.get("/forms")
def form_templates(request: Request, session: SessionDep, actor: ViewConfig) -> Response:
    today = clock.to_local(clock.now()).date()
    templates = service.list_form_templates(session)
    return render(
        request,
        "tickets/tickets/setup/forms.html",
        {
            "templates": templates,
            "effective": {t.id for t in templates if service.effective_template(session, t, today)},
            "categories": {c.id: c.name for c, _ in service.category_tree(session)},
            "status_labels": STATUS_LABELS,
        },
    )


def _form_page(
    request: Request,
    session: Session,
    *,
    template: FormTemplate | None,
    elements: list[dict[str, Any]] | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    dictionaries = list(session.scalars(select(DictType).order_by(DictType.code)))
    return render(
        request,
        "tickets/tickets/setup/form_edit.html",
        {
            "template": template,
            "elements": [
                editor.element_row(e) for e in (elements if elements is not None else _stored(template))
            ],
            "errors": errors or {},
            "values": values or {},
            "categories": _category_options(session),
            "departments": _department_options(session),
            "statuses": [(s.value, i18n.gettext(label)) for s, label in STATUS_LABELS.items()],
            "element_types": [
                (t.value, i18n.gettext(label)) for t, label in editor.ELEMENT_TYPE_LABELS.items()
            ],
            "inline_keys": editor.INLINE_KEYS,
            "dictionaries": [(d.code, f"{d.name} ({d.code})") for d in dictionaries],
        },
        status_code=status,
    )


def _stored(template: FormTemplate | None) -> list[dict[str, Any]]:
    return list(template.elements) if template is not None else []


@router.get("/forms/new")
def new_form_template(request: Request, session: SessionDep, actor: EditConfig) -> Response:
    return _form_page(request, session, template=None)


@router.get("/forms/{template_id}")
def edit_form_template(
    request: Request, session: SessionDep, actor: ViewConfig, template_id: int
) -> Response:
    return _form_page(request, session, template=service.get_form_template(session, template_id))


@router.post("/forms")
def save_form_template(request: Request, session: SessionDep, actor: EditConfig, form: FormDep) -> Response:
    template_id = _id(form, "id")
    elements = editor.posted_elements(form)
    fields: dict[str, Any] = {
        "code": _text(form, "code"),
        "name": _text(form, "name"),
        "category_id": _id(form, "category_id"),
        "department_id": _id(form, "department_id"),
        "effective_from": _text(form, "effective_from") or None,
        "effective_to": _text(form, "effective_to") or None,
        "status": _text(form, "status") or TemplateStatus.DRAFT,
        "elements": elements,
        "description": _text(form, "description"),
    }
    try:
        if template_id:
            template = service.get_form_template(session, template_id)
            service.update_form_template(
                session, actor=actor, template=template, version=_id(form, "version"), **fields
            )
        else:
            template = service.create_form_template(session, actor=actor, **fields)
    except KefuError as exc:
        if not _failed(exc):
            raise
        errors = _messages(session, exc)
        edit = session.get(FormTemplate, template_id) if template_id else None
        return _form_page(
            request,
            session,
            template=edit,
            elements=elements,
            errors=errors,
            values=_values(form),
            status=exc.status_code,
        )
    return RedirectResponse(f"/admin/tickets/forms/{template.id}?saved=1", status_code=303)


@router.post("/forms/{template_id}/delete")
def remove_form_template(
    request: Request, session: SessionDep, actor: EditConfig, template_id: int
) -> Response:
    template = service.get_form_template(session, template_id)
    try:
        service.delete_form_template(session, actor=actor, template=template)
    except KefuError as exc:
        if not _failed(exc):
            raise
        errors = _messages(session, exc)
        return _form_page(
            request,
            session,
            template=service.get_form_template(session, template_id),
            errors=errors,
            status=409,
        )
    return RedirectResponse("/admin/tickets/forms", status_code=303)


# --- Ticket types -----------------------------------------------------------------------------------


@router.get("/types")
def ticket_types(request: Request, session: SessionDep, actor: ViewConfig) -> Response:
    return render(
        request,
        "tickets/tickets/setup/types.html",
        {
            "types": service.list_ticket_types(session),
            "categories": {c.id: c.name for c, _ in service.category_tree(session)},
            "forms": {t.id: t.name for t in service.list_form_templates(session)},
            "flows": {t.id: t.name for t in flows.list_templates(session)},
        },
    )


def _type_page(
    request: Request,
    session: Session,
    *,
    ticket_type: TicketType | None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    unpublished = i18n.gettext(NOT_PUBLISHED)
    flow_options = [
        (t.id, t.name if flows.current_published(t) else f"{t.name} · {unpublished}")
        for t in flows.list_templates(session)
    ]
    return render(
        request,
        "tickets/tickets/setup/type_edit.html",
        {
            "ticket_type": ticket_type,
            "errors": errors or {},
            "values": values or {},
            "categories": _category_options(session),
            "departments": _department_options(session),
            "form_templates": [(t.id, f"{t.name} ({t.code})") for t in service.list_form_templates(session)],
            "flow_templates": flow_options,
            "priorities": _dictionary_options(session, service.URGENCY),
        },
        status_code=status,
    )


@router.get("/types/new")
def new_ticket_type(request: Request, session: SessionDep, actor: EditConfig) -> Response:
    return _type_page(request, session, ticket_type=None)


@router.get("/types/{type_id}")
def edit_ticket_type(request: Request, session: SessionDep, actor: ViewConfig, type_id: int) -> Response:
    return _type_page(request, session, ticket_type=service.get_ticket_type(session, type_id))


@router.post("/types")
def save_ticket_type(request: Request, session: SessionDep, actor: EditConfig, form: FormDep) -> Response:
    type_id = _id(form, "id")
    fields: dict[str, Any] = {
        "code": _text(form, "code"),
        "name": _text(form, "name"),
        "prefix": _text(form, "prefix"),
        "flow_template_id": _id(form, "flow_template_id"),
        "category_id": _id(form, "category_id"),
        "form_template_id": _id(form, "form_template_id"),
        "limit": _text(form, "limit"),
        "default_department_id": _id(form, "default_department_id"),
        "default_priority": _text(form, "default_priority"),
        "description": _text(form, "description"),
        "sort": _text(form, "sort") or 0,
        "enabled": form.get("enabled") == "on",
    }
    try:
        if type_id:
            ticket_type = service.get_ticket_type(session, type_id)
            service.update_ticket_type(
                session, actor=actor, ticket_type=ticket_type, version=_id(form, "version"), **fields
            )
        else:
            service.create_ticket_type(session, actor=actor, **fields)
    except KefuError as exc:
        if not _failed(exc):
            raise
        errors = _messages(session, exc)
        edit = session.get(TicketType, type_id) if type_id else None
        return _type_page(
            request, session, ticket_type=edit, errors=errors, values=_values(form), status=exc.status_code
        )
    return RedirectResponse("/admin/tickets/types", status_code=303)


@router.post("/types/{type_id}/delete")
def remove_ticket_type(request: Request, session: SessionDep, actor: EditConfig, type_id: int) -> Response:
    try:
        service.delete_ticket_type(
            session, actor=actor, ticket_type=service.get_ticket_type(session, type_id)
        )
    except KefuError as exc:
        if not _failed(exc):
            raise
        errors = _messages(session, exc)
        return _type_page(
            request, session, ticket_type=service.get_ticket_type(session, type_id), errors=errors, status=409
        )
    return RedirectResponse("/admin/tickets/types", status_code=303)


# --- Case templates ---------------------------------------------------------------------------------


@router.get("/cases")
def case_templates(request: Request, session: SessionDep, actor: ViewConfig) -> Response:
    return render(
        request,
        "tickets/tickets/setup/cases.html",
        {
            "cases": service.list_case_templates(session),
            "types": {t.id: t.name for t in service.list_ticket_types(session)},
            "priorities": dict(_dictionary_options(session, service.URGENCY)),
            "natures": dict(_dictionary_options(session, service.CASE_NATURE)),
        },
    )


def _field_inputs(session: Session, type_id: int | None) -> list[dict[str, Any]]:
    """The form elements of a type as prefill inputs (attachments cannot be prefilled)."""
    ticket_type = session.get(TicketType, type_id) if type_id else None
    rows = []
    for element in service.element_defs(ticket_type.form_template if ticket_type else None):
        if element.type is formdef.ElementType.ATTACHMENT:
            continue
        choices = list(element.options)
        if element.dictionary:
            choices = _dictionary_options(session, element.dictionary)
        rows.append({"element": element, "choices": choices})
    return rows


def _case_page(
    request: Request,
    session: Session,
    *,
    case: CaseTemplate | None,
    type_id: int | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    prefill: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    type_id = type_id or (case.type_id if case else None)
    return render(
        request,
        "tickets/tickets/setup/case_edit.html",
        {
            "case": case,
            "type_id": type_id,
            "errors": errors or {},
            "values": values or {},
            "prefill": prefill if prefill is not None else (dict(case.fields) if case else {}),
            "inputs": _field_inputs(session, type_id),
            "types": [(t.id, f"{t.name} ({t.code})") for t in service.list_ticket_types(session)],
            "categories": _category_options(session),
            "priorities": _dictionary_options(session, service.URGENCY),
            "natures": _dictionary_options(session, service.CASE_NATURE),
        },
        status_code=status,
    )


@router.get("/cases/new")
def new_case_template(
    request: Request, session: SessionDep, actor: EditConfig, type_id: int | None = None
) -> Response:
    """A new case template; `?type_id=` shows that type's fields to prefill."""
    return _case_page(request, session, case=None, type_id=type_id)


@router.get("/cases/fields")
def case_field_inputs(
    request: Request, session: SessionDep, actor: ViewConfig, type_id: str = ""
) -> Response:
    """The prefill inputs of a type's form (htmx swaps them in when the type changes)."""
    chosen = int(type_id) if type_id.isdigit() else None
    return render(
        request,
        "tickets/tickets/setup/_case_fields.html",
        {"inputs": _field_inputs(session, chosen), "prefill": {}, "errors": {}},
    )


@router.get("/cases/{case_id}")
def edit_case_template(request: Request, session: SessionDep, actor: ViewConfig, case_id: int) -> Response:
    return _case_page(request, session, case=service.get_case_template(session, case_id))


@router.post("/cases")
def save_case_template(request: Request, session: SessionDep, actor: EditConfig, form: FormDep) -> Response:
    case_id = _id(form, "id")
    type_id = _id(form, "type_id")
    ticket_type = session.get(TicketType, type_id) if type_id else None
    elements = service.element_defs(ticket_type.form_template if ticket_type else None)
    prefill = formdef.form_values(elements, form, prefix="fields-")
    fields: dict[str, Any] = {
        "code": _text(form, "code"),
        "name": _text(form, "name"),
        "type_id": type_id,
        "category_id": _id(form, "category_id"),
        "subject": _text(form, "subject"),
        "description": _text(form, "description"),
        "priority": _text(form, "priority") or None,
        "nature": _text(form, "nature") or None,
        "fields": prefill,
        "sort": _text(form, "sort") or 0,
        "enabled": form.get("enabled") == "on",
    }
    try:
        if case_id:
            case = service.get_case_template(session, case_id)
            service.update_case_template(session, actor=actor, case=case, **fields)
        else:
            service.create_case_template(session, actor=actor, **fields)
    except KefuError as exc:
        if not _failed(exc):
            raise
        errors = _messages(session, exc)
        edit = session.get(CaseTemplate, case_id) if case_id else None
        return _case_page(
            request,
            session,
            case=edit,
            type_id=type_id,
            errors=errors,
            values=_values(form),
            prefill=prefill,
            status=exc.status_code,
        )
    return RedirectResponse("/admin/tickets/cases", status_code=303)


@router.post("/cases/{case_id}/delete")
def remove_case_template(request: Request, session: SessionDep, actor: EditConfig, case_id: int) -> Response:
    service.delete_case_template(session, actor=actor, case=service.get_case_template(session, case_id))
    return RedirectResponse("/admin/tickets/cases", status_code=303)
