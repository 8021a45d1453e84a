"""Administration pages of the data dictionary (/admin/dictionary) and system parameters (/admin/parameters).

Item editing on the dictionary page is htmx-driven: each item action answers with the re-rendered
item panel (422 with the messages beside the fields on bad input); the same routes answer plain form
posts with a redirect, or the whole page with the messages. Every action calls the same service
function as the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kefu.core import i18n
from kefu.core.errors import FieldError
from kefu.core.permissions import Actor
from kefu.org.config import dictionary, parameters
from kefu.org.config.models import DictType
from kefu.web.deps import Requires, SessionDep
from kefu.web.nav import NavItem, register
from kefu.web.templating import render

router = APIRouter(include_in_schema=False)
register(
    NavItem("admin", "Data dictionary", "/admin/dictionary", "bi-book", ("admin.dictionary.view",), order=60)
)
register(
    NavItem(
        "admin", "System parameters", "/admin/parameters", "bi-sliders", ("admin.parameters.view",), order=70
    )
)

ViewDictionary = Requires("admin.dictionary.view")
CreateInDictionary = Requires("admin.dictionary.create")
EditDictionary = Requires("admin.dictionary.edit")
DeleteFromDictionary = Requires("admin.dictionary.delete")
FormStr = Annotated[str, Form()]


def _is_htmx(request: Request) -> bool:
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


def _dictionary_page(
    request: Request,
    session: SessionDep,
    selected: DictType | None,
    *,
    status_code: int = 200,
    panel_only: bool = False,
    **extra: Any,
) -> Response:
    """The dictionary page, or only its item panel. `extra`: failed (form name), errors, values, editing."""
    ctx: dict[str, Any] = {
        "selected": selected,
        "items": sorted(selected.items, key=lambda i: (i.sort, i.id)) if selected is not None else [],
        "failed": "",
        "errors": {},
        "values": {},
        "editing": None,
        "panel_only": panel_only,  # the panel then also refreshes the item count on the left
        **extra,
    }
    if panel_only:
        return render(request, "org/config/_dictionary_panel.html", ctx, status_code=status_code)
    ctx["types"] = dictionary.list_types(session)
    ctx["counts"] = dictionary.item_counts(session)
    return render(request, "org/config/dictionary.html", ctx, status_code=status_code)


def _field_error(
    request: Request, session: SessionDep, exc: FieldError, code: str | None, failed: str, values: dict
) -> Response:
    """Undo the half-done change and show the form again with the message beside the field."""
    session.rollback()
    if code is not None:
        selected: DictType | None = dictionary.get_type(session, code)
    else:
        types = dictionary.list_types(session)
        selected = types[0] if types else None
    errors = {exc.field: exc.render(i18n.gettext)}
    editing = values.get("item_id")
    return _dictionary_page(
        request,
        session,
        selected,
        status_code=422,
        panel_only=_is_htmx(request) and failed in ("new_item", "item"),
        failed=failed,
        errors=errors,
        values=values,
        editing=editing,
    )


def _done(request: Request, session: SessionDep, code: str) -> Response:
    if _is_htmx(request):
        return _dictionary_page(request, session, dictionary.get_type(session, code), panel_only=True)
    return RedirectResponse(f"/admin/dictionary/{code}", status_code=303)


def _sort_value(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise FieldError("sort", "Enter a whole number") from None


@router.get("/admin/dictionary")
def dictionary_home(request: Request, session: SessionDep, actor: ViewDictionary) -> Response:
    types = dictionary.list_types(session)
    return _dictionary_page(request, session, types[0] if types else None)


@router.post("/admin/dictionary")
def create_type(
    request: Request,
    session: SessionDep,
    actor: CreateInDictionary,
    code: FormStr = "",
    name: FormStr = "",
    description: FormStr = "",
) -> Response:
    try:
        dict_type = dictionary.create_type(
            session, actor=actor, code=code, name=name, description=description
        )
    except FieldError as exc:
        values = {"code": code, "name": name, "description": description}
        return _field_error(request, session, exc, None, "new_type", values)
    return RedirectResponse(f"/admin/dictionary/{dict_type.code}", status_code=303)


@router.get("/admin/dictionary/{code}")
def dictionary_type(
    request: Request, session: SessionDep, actor: ViewDictionary, code: str, edit: int | None = None
) -> Response:
    """The page with `code` selected; for htmx just the item panel (with item `edit` in edit mode)."""
    dict_type = dictionary.get_type(session, code)
    editing = dictionary.get_item(session, dict_type, edit).id if edit is not None else None
    return _dictionary_page(request, session, dict_type, panel_only=_is_htmx(request), editing=editing)


@router.post("/admin/dictionary/{code}")
def update_type(
    request: Request,
    session: SessionDep,
    actor: EditDictionary,
    code: str,
    new_code: FormStr = "",
    name: FormStr = "",
    description: FormStr = "",
) -> Response:
    dict_type = dictionary.get_type(session, code)
    try:
        dictionary.update_type(
            session,
            actor=actor,
            dict_type=dict_type,
            code=new_code if not dict_type.is_system else None,
            name=name,
            description=description,
        )
    except FieldError as exc:
        values = {"new_code": new_code, "name": name, "description": description}
        if exc.field == "code":
            exc.field = "new_code"
        return _field_error(request, session, exc, code, "type", values)
    return RedirectResponse(f"/admin/dictionary/{dict_type.code}", status_code=303)


@router.post("/admin/dictionary/{code}/delete")
def delete_type(request: Request, session: SessionDep, actor: DeleteFromDictionary, code: str) -> Response:
    dictionary.delete_type(session, actor=actor, dict_type=dictionary.get_type(session, code))
    return RedirectResponse("/admin/dictionary", status_code=303)


@router.post("/admin/dictionary/{code}/items")
def add_item(
    request: Request,
    session: SessionDep,
    actor: CreateInDictionary,
    code: str,
    item_code: FormStr = "",
    label: FormStr = "",
    label_en: FormStr = "",
    sort: FormStr = "",
) -> Response:
    dict_type = dictionary.get_type(session, code)
    try:
        dictionary.add_item(
            session,
            actor=actor,
            dict_type=dict_type,
            code=item_code,
            label=label,
            label_en=label_en,
            sort=_sort_value(sort),
        )
    except FieldError as exc:
        values = {"item_code": item_code, "label": label, "label_en": label_en, "sort": sort}
        if exc.field == "code":
            exc.field = "item_code"
        return _field_error(request, session, exc, code, "new_item", values)
    return _done(request, session, code)


@router.post("/admin/dictionary/{code}/items/{item_id}")
def update_item(
    request: Request,
    session: SessionDep,
    actor: EditDictionary,
    code: str,
    item_id: int,
    item_code: FormStr = "",
    label: FormStr = "",
    label_en: FormStr = "",
    sort: FormStr = "",
) -> Response:
    item = dictionary.get_item(session, dictionary.get_type(session, code), item_id)
    try:
        dictionary.update_item(
            session,
            actor=actor,
            item=item,
            code=item_code,
            label=label,
            label_en=label_en,
            sort=_sort_value(sort),
        )
    except FieldError as exc:
        values = {
            "item_id": item_id,
            "item_code": item_code,
            "label": label,
            "label_en": label_en,
            "sort": sort,
        }
        if exc.field == "code":
            exc.field = "item_code"
        return _field_error(request, session, exc, code, "item", values)
    return _done(request, session, code)


@router.post("/admin/dictionary/{code}/items/{item_id}/enabled")
def set_item_enabled(
    request: Request,
    session: SessionDep,
    actor: EditDictionary,
    code: str,
    item_id: int,
    enabled: FormStr = "",
) -> Response:
    """Enable (`enabled=true`) or disable the item: the state is sent, so a repeated click does no harm."""
    item = dictionary.get_item(session, dictionary.get_type(session, code), item_id)
    dictionary.update_item(session, actor=actor, item=item, enabled=enabled.lower() in ("1", "true", "on"))
    return _done(request, session, code)


@router.post("/admin/dictionary/{code}/items/{item_id}/move")
def move_item(
    request: Request,
    session: SessionDep,
    actor: EditDictionary,
    code: str,
    item_id: int,
    direction: FormStr = "up",
) -> Response:
    """Swap the item with its neighbour above (`direction=up`) or below; at either end nothing moves."""
    dict_type = dictionary.get_type(session, code)
    dictionary.get_item(session, dict_type, item_id)
    ids = [i.id for i in sorted(dict_type.items, key=lambda i: (i.sort, i.id))]
    position = ids.index(item_id)
    other = position - 1 if direction == "up" else position + 1
    if 0 <= other < len(ids):
        ids[position], ids[other] = ids[other], ids[position]
        dictionary.reorder_items(session, actor=actor, dict_type=dict_type, item_ids=ids)
    return _done(request, session, code)


@router.post("/admin/dictionary/{code}/items/{item_id}/delete")
def delete_item(
    request: Request, session: SessionDep, actor: DeleteFromDictionary, code: str, item_id: int
) -> Response:
    item = dictionary.get_item(session, dictionary.get_type(session, code), item_id)
    dictionary.delete_item(session, actor=actor, item=item)
    return _done(request, session, code)


# --- system parameters -----------------------------------------------------------------------------


def _parameter_page(
    request: Request, session: SessionDep, actor: Actor, key: str, *, status_code: int = 200, **extra: Any
) -> Response:
    ctx: dict[str, Any] = {
        "state": parameters.describe(session, key),
        "history": parameters.history(session, key),
        "can_edit": actor.can("admin.parameters.edit"),
        "errors": {},
        "value": None,
        "saved": False,
        **extra,
    }
    return render(request, "org/config/parameter.html", ctx, status_code=status_code)


@router.get("/admin/parameters")
def parameters_page(
    request: Request, session: SessionDep, actor: Requires("admin.parameters.view")
) -> Response:
    groups: dict[str, list[parameters.ParameterState]] = {}
    for state in parameters.describe_all(session):
        groups.setdefault(state.param.group, []).append(state)
    ctx = {
        "groups": groups,
        "group_labels": parameters.GROUP_LABELS,
        "can_edit": actor.can("admin.parameters.edit"),
    }
    return render(request, "org/config/parameters.html", ctx)


@router.get("/admin/parameters/{key}")
def parameter_page(
    request: Request,
    session: SessionDep,
    actor: Requires("admin.parameters.view"),
    key: str,
    saved: bool = False,
) -> Response:
    """One parameter: its edit form (typed control) and history."""
    return _parameter_page(request, session, actor, key, saved=saved)


@router.post("/admin/parameters/{key}")
def set_parameter(
    request: Request,
    session: SessionDep,
    actor: Requires("admin.parameters.edit"),
    key: str,
    value: Annotated[str | None, Form()] = None,
) -> Response:
    """Save a parameter. An unticked checkbox sends nothing, which means false for a yes/no parameter."""
    param = parameters.describe(session, key).param
    raw: Any = value or ""
    if param.kind is bool:
        raw = value is not None and value.strip().lower() not in ("", "0", "false", "off")
    try:
        parameters.set_value(session, key=key, raw=raw, actor=actor)
    except FieldError as exc:
        session.rollback()
        errors = {exc.field: exc.render(i18n.gettext)}
        return _parameter_page(request, session, actor, key, status_code=422, errors=errors, value=value)
    return RedirectResponse(f"/admin/parameters/{key}?saved=true", status_code=303)
