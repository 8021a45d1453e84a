"""API shapes of the data dictionary and system parameters.

Input shapes only fix the JSON types; the rules (code patterns, required labels, lengths, bounds) live
in the services, so that the API and the pages give the same 422 naming the same field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kefu.core import i18n
from kefu.org.config.parameters import GROUP_LABELS, ParameterState


class DictTypeCreate(BaseModel):
    code: str = Field(description="Lowercase letters, digits and underscores, starting with a letter.")
    name: str
    description: str = ""


class DictTypeUpdate(BaseModel):
    """Fields left out stay as they are. A system type's code cannot change."""

    code: str | None = None
    name: str | None = None
    description: str | None = None


class DictItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    label: str
    label_en: str
    sort: int
    enabled: bool


class DictTypeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    description: str
    is_system: bool
    created_at: datetime


class DictTypeDetail(DictTypeRead):
    items: list[DictItemRead] = Field(description="Every item, disabled ones included, in display order.")


class DictItemCreate(BaseModel):
    code: str = Field(description="Letters, digits, underscores, dots and hyphens; unique in its dictionary.")
    label: str
    label_en: str = ""
    sort: int | None = Field(default=None, description="Position key; omitted: after the last item.")
    enabled: bool = True


class DictItemUpdate(BaseModel):
    """Fields left out stay as they are."""

    code: str | None = None
    label: str | None = None
    label_en: str | None = None
    sort: int | None = None
    enabled: bool | None = None


class DictItemOrder(BaseModel):
    item_ids: list[int] = Field(description="Every item id of the dictionary, once each, in the new order.")


class ParameterRead(BaseModel):
    """A declared parameter. `label`, `group_label` and `help` are in the caller's language."""

    key: str
    label: str
    group: str
    group_label: str
    kind: str = Field(description="bool, int or str")
    value: bool | int | str
    default: bool | int | str
    help: str
    minimum: int | None
    maximum: int | None
    choices: list[str]
    updated_at: datetime | None
    updated_by: str

    @classmethod
    def from_state(cls, state: ParameterState) -> ParameterRead:
        param = state.param
        return cls(
            key=param.key,
            label=i18n.gettext(param.label),
            group=param.group,
            group_label=i18n.gettext(GROUP_LABELS.get(param.group, param.group)),
            kind=param.kind_name,
            value=state.value,
            default=param.default,
            help=i18n.gettext(param.help) if param.help else "",
            minimum=param.minimum,
            maximum=param.maximum,
            choices=list(param.choices),
            updated_at=state.updated_at,
            updated_by=state.updated_by,
        )


class ParameterSet(BaseModel):
    value: Any = Field(
        description="The new value, of the parameter's kind (true/false, a whole number, text)."
    )


class ParameterHistoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    old_value: Any
    new_value: Any
    changed_at: datetime
    changed_by_name: str
