"""Ticket configuration over HTTP: business categories, form templates, ticket types, case templates."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from kefu.core import i18n
from kefu.tickets.models import BusinessCategory, CaseTemplate, FormTemplate, TemplateStatus, TicketType
from kefu.tickets.setup import service
from kefu.tickets.setup.schemas import (
    CaseTemplateCreate,
    CaseTemplateRead,
    CaseTemplateUpdate,
    CategoryCreate,
    CategoryRead,
    CategoryUpdate,
    FormTemplateCreate,
    FormTemplateRead,
    FormTemplateUpdate,
    TicketTypeCreate,
    TicketTypeRead,
    TicketTypeUpdate,
    TypeFormRead,
)
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/tickets/setup", tags=["tickets"])

ViewConfig = Requires("tickets.config.view", "tickets.config.edit")
EditConfig = Requires("tickets.config.edit")


def _changes(body: Any) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True)


# --- Business categories ----------------------------------------------------------------------------


@router.get("/categories", response_model=list[CategoryRead])
def list_categories(session: SessionDep, actor: ViewConfig) -> list[CategoryRead]:
    """Every business category (业务类型) in tree order, with its depth."""
    return [
        CategoryRead.model_validate(category).model_copy(update={"depth": depth})
        for category, depth in service.category_tree(session)
    ]


@router.post("/categories", response_model=CategoryRead, status_code=201)
def create_category(session: SessionDep, actor: EditConfig, body: CategoryCreate) -> BusinessCategory:
    return service.create_category(session, actor=actor, **body.model_dump())


@router.get("/categories/{category_id}", response_model=CategoryRead)
def get_category(session: SessionDep, actor: ViewConfig, category_id: int) -> BusinessCategory:
    return service.get_category(session, category_id)


@router.patch("/categories/{category_id}", response_model=CategoryRead)
def update_category(
    session: SessionDep, actor: EditConfig, category_id: int, body: CategoryUpdate
) -> BusinessCategory:
    """Change a category; a new `parent_id` moves it with its subtree (null: to the top level)."""
    category = service.get_category(session, category_id)
    return service.update_category(session, actor=actor, category=category, **_changes(body))


@router.delete("/categories/{category_id}", status_code=204)
def delete_category(session: SessionDep, actor: EditConfig, category_id: int) -> Response:
    """Delete a category nothing refers to (409 naming what still does)."""
    service.delete_category(session, actor=actor, category=service.get_category(session, category_id))
    return Response(status_code=204)


# --- Form templates ---------------------------------------------------------------------------------


@router.get("/form-templates", response_model=list[FormTemplateRead])
def list_form_templates(
    session: SessionDep,
    actor: ViewConfig,
    category_id: int | None = None,
    status: TemplateStatus | None = None,
) -> list[FormTemplate]:
    return service.list_form_templates(session, category_id=category_id, status=status)


@router.post("/form-templates", response_model=FormTemplateRead, status_code=201)
def create_form_template(session: SessionDep, actor: EditConfig, body: FormTemplateCreate) -> FormTemplate:
    """A new form template (工单模板); every bad element setting is named (`elements.3.code`)."""
    return service.create_form_template(session, actor=actor, **body.model_dump())


@router.get("/form-templates/{template_id}", response_model=FormTemplateRead)
def get_form_template(session: SessionDep, actor: ViewConfig, template_id: int) -> FormTemplate:
    return service.get_form_template(session, template_id)


@router.patch("/form-templates/{template_id}", response_model=FormTemplateRead)
def update_form_template(
    session: SessionDep, actor: EditConfig, template_id: int, body: FormTemplateUpdate
) -> FormTemplate:
    """Change a form template; with `version`, a 409 when someone saved it in between."""
    template = service.get_form_template(session, template_id)
    return service.update_form_template(session, actor=actor, template=template, **_changes(body))


@router.delete("/form-templates/{template_id}", status_code=204)
def delete_form_template(session: SessionDep, actor: EditConfig, template_id: int) -> Response:
    template = service.get_form_template(session, template_id)
    service.delete_form_template(session, actor=actor, template=template)
    return Response(status_code=204)


# --- Ticket types -----------------------------------------------------------------------------------


@router.get("/types", response_model=list[TicketTypeRead])
def list_ticket_types(
    session: SessionDep, actor: ViewConfig, enabled: bool | None = None
) -> list[TicketType]:
    return service.list_ticket_types(session, enabled=enabled)


@router.post("/types", response_model=TicketTypeRead, status_code=201)
def create_ticket_type(session: SessionDep, actor: EditConfig, body: TicketTypeCreate) -> TicketType:
    """A new ticket type (工单类型); its flow template needs a published version."""
    return service.create_ticket_type(session, actor=actor, **body.model_dump())


@router.get("/types/{type_id}", response_model=TicketTypeRead)
def get_ticket_type(session: SessionDep, actor: ViewConfig, type_id: int) -> TicketType:
    return service.get_ticket_type(session, type_id)


@router.get("/types/{type_id}/form", response_model=TypeFormRead)
def ticket_type_form(
    session: SessionDep,
    actor: Requires("tickets.config.view", "tickets.config.edit", "tickets.ticket.create"),
    type_id: int,
) -> dict[str, Any]:
    """The elements a registration of this type shows today, with the items of their dictionaries."""
    ticket_type = service.get_ticket_type(session, type_id)
    return service.registration_form(session, ticket_type, locale=i18n.get_locale())


@router.patch("/types/{type_id}", response_model=TicketTypeRead)
def update_ticket_type(
    session: SessionDep, actor: EditConfig, type_id: int, body: TicketTypeUpdate
) -> TicketType:
    """Change a ticket type; with `version`, a 409 when someone saved it in between."""
    ticket_type = service.get_ticket_type(session, type_id)
    return service.update_ticket_type(session, actor=actor, ticket_type=ticket_type, **_changes(body))


@router.delete("/types/{type_id}", status_code=204)
def delete_ticket_type(session: SessionDep, actor: EditConfig, type_id: int) -> Response:
    """Delete a type no ticket has, with its case templates (409 otherwise)."""
    ticket_type = service.get_ticket_type(session, type_id)
    service.delete_ticket_type(session, actor=actor, ticket_type=ticket_type)
    return Response(status_code=204)


# --- Case templates ---------------------------------------------------------------------------------


@router.get("/case-templates", response_model=list[CaseTemplateRead])
def list_case_templates(
    session: SessionDep, actor: ViewConfig, type_id: int | None = None
) -> list[CaseTemplate]:
    return service.list_case_templates(session, type_id=type_id)


@router.post("/case-templates", response_model=CaseTemplateRead, status_code=201)
def create_case_template(session: SessionDep, actor: EditConfig, body: CaseTemplateCreate) -> CaseTemplate:
    """A new case template (案例模板); prefilled `fields` are checked against the type's form."""
    return service.create_case_template(session, actor=actor, **body.model_dump())


@router.get("/case-templates/{case_id}", response_model=CaseTemplateRead)
def get_case_template(session: SessionDep, actor: ViewConfig, case_id: int) -> CaseTemplate:
    return service.get_case_template(session, case_id)


@router.patch("/case-templates/{case_id}", response_model=CaseTemplateRead)
def update_case_template(
    session: SessionDep, actor: EditConfig, case_id: int, body: CaseTemplateUpdate
) -> CaseTemplate:
    case = service.get_case_template(session, case_id)
    return service.update_case_template(session, actor=actor, case=case, **_changes(body))


@router.delete("/case-templates/{case_id}", status_code=204)
def delete_case_template(session: SessionDep, actor: EditConfig, case_id: int) -> Response:
    service.delete_case_template(session, actor=actor, case=service.get_case_template(session, case_id))
    return Response(status_code=204)
