"""API shapes of the ticket configuration. Lengths and formats are checked by the service, so that every
message names its field in the reader's language; these shapes only fix the types."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kefu.tickets.models import TemplateStatus


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class _Update(BaseModel):
    """Only the fields sent are changed (a field sent as null is set to null where it may be)."""


class CategoryCreate(BaseModel):
    code: str
    name: str
    parent_id: int | None = None
    description: str = ""
    sort: int = 0
    enabled: bool = True


class CategoryUpdate(_Update):
    code: str | None = None
    name: str | None = None
    parent_id: int | None = Field(
        default=None, description="A new parent moves the category with its subtree."
    )
    description: str | None = None
    sort: int | None = None
    enabled: bool | None = None


class CategoryRead(_Read):
    id: int
    code: str
    name: str
    parent_id: int | None
    path: str
    description: str
    sort: int
    enabled: bool
    depth: int = Field(default=0, description="Depth in the tree (0: top level); lists only.")


class FormTemplateCreate(BaseModel):
    code: str
    name: str
    category_id: int | None = None
    department_id: int | None = None
    effective_from: date | None = None
    effective_to: date | None = None
    status: TemplateStatus = TemplateStatus.DRAFT
    elements: list[Any] = Field(
        default=[],
        description="Elements (工单元素): code, type, label, required, default, dictionary or options, "
        "min/max length or value, pattern, validation (expression) and validation_message, help_text.",
    )
    description: str = ""


class FormTemplateUpdate(_Update):
    version: int | None = Field(
        default=None, description="The version the change was made from (409 if stale)."
    )
    code: str | None = None
    name: str | None = None
    category_id: int | None = None
    department_id: int | None = None
    effective_from: date | None = None
    effective_to: date | None = None
    status: TemplateStatus | None = None
    elements: list[Any] | None = None
    description: str | None = None


class FormTemplateRead(_Read):
    id: int
    code: str
    name: str
    category_id: int | None
    department_id: int | None
    effective_from: date | None
    effective_to: date | None
    status: TemplateStatus
    elements: list[dict[str, Any]]
    description: str
    updated_at: datetime
    version: int = Field(validation_alias="lock_version")


class TicketTypeCreate(BaseModel):
    code: str
    name: str
    prefix: str = Field(description="Serial number prefix: 1 to 6 upper-case letters or digits.")
    flow_template_id: int | None = None
    category_id: int | None = None
    form_template_id: int | None = None
    limit: str | None = Field(default=None, description="Whole-ticket limit, an ISO-8601 duration (P3D).")
    default_department_id: int | None = None
    default_priority: str = "normal"
    description: str = ""
    sort: int = 0
    enabled: bool = True


class TicketTypeUpdate(_Update):
    version: int | None = Field(
        default=None, description="The version the change was made from (409 if stale)."
    )
    code: str | None = None
    name: str | None = None
    prefix: str | None = None
    flow_template_id: int | None = None
    category_id: int | None = None
    form_template_id: int | None = None
    limit: str | None = None
    default_department_id: int | None = None
    default_priority: str | None = None
    description: str | None = None
    sort: int | None = None
    enabled: bool | None = None


class TicketTypeRead(_Read):
    id: int
    code: str
    name: str
    prefix: str
    category_id: int | None
    form_template_id: int | None
    flow_template_id: int
    limit: str | None
    default_department_id: int | None
    default_priority: str
    description: str
    sort: int
    enabled: bool
    version: int = Field(validation_alias="lock_version")


class CaseTemplateCreate(BaseModel):
    code: str
    name: str
    type_id: int | None = None
    category_id: int | None = None
    subject: str = ""
    description: str = ""
    priority: str | None = None
    nature: str | None = None
    fields: dict[str, Any] = Field(default={}, description="Prefilled values of the type's form elements.")
    sort: int = 0
    enabled: bool = True


class CaseTemplateUpdate(_Update):
    code: str | None = None
    name: str | None = None
    type_id: int | None = None
    category_id: int | None = None
    subject: str | None = None
    description: str | None = None
    priority: str | None = None
    nature: str | None = None
    fields: dict[str, Any] | None = None
    sort: int | None = None
    enabled: bool | None = None


class CaseTemplateRead(_Read):
    id: int
    code: str
    name: str
    type_id: int
    category_id: int | None
    subject: str
    description: str
    priority: str | None
    nature: str | None
    fields: dict[str, Any]
    sort: int
    enabled: bool


class ChoiceRead(BaseModel):
    code: str
    label: str


class TypeFormRead(BaseModel):
    """The custom part of a type's registration form today (no elements: its template is not effective)."""

    type_id: int
    form_template_id: int | None
    elements: list[dict[str, Any]]
    choices: dict[str, list[ChoiceRead]] = Field(description="Dictionary code → its enabled items.")
