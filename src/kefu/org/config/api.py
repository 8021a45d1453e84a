"""The data dictionary (ORG-7) and system parameters (ORG-8) over HTTP.

Dictionary administration needs ``admin.dictionary.view`` / ``create`` / ``edit`` / ``delete``;
parameters need ``admin.parameters.view`` / ``edit``. One exception: reading the items of one
dictionary, ``GET /api/v1/dictionary/{code}/items``, is open to every signed-in user, because the
forms of every domain fill their choice lists from it.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from kefu.org.config import dictionary, parameters
from kefu.org.config.models import DictItem, DictType, ParameterHistory
from kefu.org.config.schemas import (
    DictItemCreate,
    DictItemOrder,
    DictItemRead,
    DictItemUpdate,
    DictTypeCreate,
    DictTypeDetail,
    DictTypeRead,
    DictTypeUpdate,
    ParameterHistoryRead,
    ParameterRead,
    ParameterSet,
)
from kefu.web.deps import CurrentActor, Requires, SessionDep

dictionary_router = APIRouter(prefix="/api/v1/dictionary", tags=["dictionary"])
parameters_router = APIRouter(prefix="/api/v1/parameters", tags=["parameters"])


@dictionary_router.get("", response_model=list[DictTypeRead])
def list_types(session: SessionDep, actor: Requires("admin.dictionary.view")) -> list[DictType]:
    """Every dictionary type, system types first."""
    return dictionary.list_types(session)


@dictionary_router.post("", response_model=DictTypeDetail, status_code=201)
def create_type(
    session: SessionDep, actor: Requires("admin.dictionary.create"), body: DictTypeCreate
) -> DictType:
    """Add a dictionary type (never a system type)."""
    return dictionary.create_type(
        session, actor=actor, code=body.code, name=body.name, description=body.description
    )


@dictionary_router.get("/{code}", response_model=DictTypeDetail)
def get_type(session: SessionDep, actor: Requires("admin.dictionary.view"), code: str) -> DictType:
    """One dictionary type with all its items, disabled ones included."""
    return dictionary.get_type(session, code)


@dictionary_router.patch("/{code}", response_model=DictTypeDetail)
def update_type(
    session: SessionDep, actor: Requires("admin.dictionary.edit"), code: str, body: DictTypeUpdate
) -> DictType:
    """Change a type's code, name or description; a system type's code is fixed."""
    dict_type = dictionary.get_type(session, code)
    return dictionary.update_type(
        session,
        actor=actor,
        dict_type=dict_type,
        code=body.code,
        name=body.name,
        description=body.description,
    )


@dictionary_router.delete("/{code}", status_code=204)
def delete_type(session: SessionDep, actor: Requires("admin.dictionary.delete"), code: str) -> Response:
    """Delete a type and its items (409 for a system type)."""
    dictionary.delete_type(session, actor=actor, dict_type=dictionary.get_type(session, code))
    return Response(status_code=204)


@dictionary_router.get("/{code}/items", response_model=list[DictItemRead])
def list_items(
    session: SessionDep, actor: CurrentActor, code: str, include_disabled: bool = False
) -> list[dictionary.DictItemView]:
    """The items of one dictionary in display order, for forms: open to every signed-in user.

    Disabled items are left out unless `include_disabled` is set (to label values of old records).
    """
    return dictionary.items(session, code, include_disabled=include_disabled)


@dictionary_router.post("/{code}/items", response_model=DictItemRead, status_code=201)
def add_item(
    session: SessionDep, actor: Requires("admin.dictionary.create"), code: str, body: DictItemCreate
) -> DictItem:
    """Add an item (at the end unless `sort` is given)."""
    return dictionary.add_item(
        session,
        actor=actor,
        dict_type=dictionary.get_type(session, code),
        code=body.code,
        label=body.label,
        label_en=body.label_en,
        sort=body.sort,
        enabled=body.enabled,
    )


@dictionary_router.put("/{code}/items/order", response_model=list[DictItemRead])
def reorder_items(
    session: SessionDep, actor: Requires("admin.dictionary.edit"), code: str, body: DictItemOrder
) -> list[DictItem]:
    """Put the items in the given order (every item id once)."""
    dict_type = dictionary.reorder_items(
        session, actor=actor, dict_type=dictionary.get_type(session, code), item_ids=body.item_ids
    )
    return list(dict_type.items)


@dictionary_router.patch("/{code}/items/{item_id}", response_model=DictItemRead)
def update_item(
    session: SessionDep,
    actor: Requires("admin.dictionary.edit"),
    code: str,
    item_id: int,
    body: DictItemUpdate,
) -> DictItem:
    """Change an item; set `enabled` false to retire it from forms while old records keep its label."""
    item = dictionary.get_item(session, dictionary.get_type(session, code), item_id)
    return dictionary.update_item(
        session,
        actor=actor,
        item=item,
        code=body.code,
        label=body.label,
        label_en=body.label_en,
        sort=body.sort,
        enabled=body.enabled,
    )


@dictionary_router.delete("/{code}/items/{item_id}", status_code=204)
def delete_item(
    session: SessionDep, actor: Requires("admin.dictionary.delete"), code: str, item_id: int
) -> Response:
    """Delete an item. Whether records still use it is not checked yet: prefer disabling."""
    item = dictionary.get_item(session, dictionary.get_type(session, code), item_id)
    dictionary.delete_item(session, actor=actor, item=item)
    return Response(status_code=204)


@parameters_router.get("", response_model=list[ParameterRead])
def list_parameters(session: SessionDep, actor: Requires("admin.parameters.view")) -> list[ParameterRead]:
    """Every declared parameter with its current value, grouped by `group`."""
    return [ParameterRead.from_state(s) for s in parameters.describe_all(session)]


@parameters_router.get("/{key}", response_model=ParameterRead)
def get_parameter(session: SessionDep, actor: Requires("admin.parameters.view"), key: str) -> ParameterRead:
    return ParameterRead.from_state(parameters.describe(session, key))


@parameters_router.put("/{key}", response_model=ParameterRead)
def set_parameter(
    session: SessionDep, actor: Requires("admin.parameters.edit"), key: str, body: ParameterSet
) -> ParameterRead:
    """Change a parameter; 422 on `value` when it is not of the parameter's kind, range or choices."""
    parameters.set_value(session, key=key, raw=body.value, actor=actor)
    session.flush()
    return ParameterRead.from_state(parameters.describe(session, key))


@parameters_router.get("/{key}/history", response_model=list[ParameterHistoryRead])
def parameter_history(
    session: SessionDep, actor: Requires("admin.parameters.view"), key: str, limit: int = 50
) -> list[ParameterHistory]:
    """The parameter's changes, newest first."""
    parameters.describe(session, key)  # 404 for an undeclared key
    return parameters.history(session, key, limit=max(1, min(limit, 500)))


router = APIRouter()
router.include_router(dictionary_router)
router.include_router(parameters_router)
