"""The do-not-disturb list (免打扰, CON-5) and the callers' blacklist (黑名单, CON-10): search, add,
import many numbers at once (all or nothing, every bad line named), change and remove."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kefu.core.errors import FieldError, FieldErrors, KefuError, NotFound
from kefu.core.permissions import Actor
from kefu.messaging import blacklist, dnd
from kefu.messaging import pages_common as pc
from kefu.messaging.models import BlacklistEntry, BlacklistLevel, DndMode
from kefu.messaging.permissions import BLACKLIST_EDIT, BLACKLIST_VIEW, DND_EDIT, DND_VIEW
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import FormDep, optional_int
from kefu.web.templating import render

router = APIRouter(prefix="/messaging", include_in_schema=False)
PAGE_SIZE = 50


def _times(form: FormData, *names: str) -> dict[str, datetime | None]:
    """The named date-time fields; every malformed one is reported at once."""
    found: dict[str, datetime | None] = {}
    errors: list[FieldError] = []
    for name in names:
        try:
            found[name] = pc.local_time(form, name)
        except FieldError as exc:
            errors.append(exc)
    if errors:
        raise FieldErrors(errors)
    return found


def _choice(enum: type[Any], raw: str, field: str, default: Any) -> Any:
    if not raw:
        return default
    try:
        return enum(raw)
    except ValueError:
        raise FieldError(field, pc.CHOOSE) from None


def _category(raw: str) -> int | None:
    category = optional_int(raw)
    if raw and category is None:
        raise FieldError("business_category_id", pc.CHOOSE)
    return category


def _line_errors(errors: dict[str, str]) -> list[tuple[int, str]]:
    """(line number, message) of an import, in line order."""
    found = [(int(k.split(".", 1)[1]), v) for k, v in errors.items() if k.startswith("lines.")]
    return sorted(found)


# --- do-not-disturb ---------------------------------------------------------------------------------


def _dnd_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    add: tuple[dict[str, str], dict[str, str]] = ({}, {}),
    bulk: tuple[dict[str, str], dict[str, str]] = ({}, {}),
    status: int = 200,
) -> Response:
    params = request.query_params
    raw = {k: params.get(k, "").strip()[:60] for k in ("number", "business_category_id", "include_expired")}
    offset = max(0, optional_int(params.get("offset", "")) or 0)
    rows, total = dnd.search(
        session,
        number=raw["number"] or None,
        business_category_id=optional_int(raw["business_category_id"]),
        active_only=raw["include_expired"] != "1",
        limit=PAGE_SIZE,
        offset=offset,
    )
    context = {
        "raw": raw,
        "rows": rows,
        "total": total,
        "offset": offset,
        "page_size": PAGE_SIZE,
        "query_string": urlencode({k: v for k, v in raw.items() if v}),
        "business_types": pc.business_types(session),
        "business_type_names": pc.business_type_names(session),
        "modes": pc.translated(pc.DND_MODE_LABELS),
        "can_edit": actor.can(DND_EDIT),
        "add_values": add[0] or {"mode": DndMode.REFUSE.value},
        "add_errors": add[1],
        "import_values": bulk[0] or {"mode": DndMode.REFUSE.value},
        "import_errors": bulk[1],
        "line_errors": _line_errors(bulk[1]),
        "imported": params.get("imported"),
        "already": params.get("already"),
        **pc.labels(),
    }
    return render(request, "messaging/messaging/dnd.html", context, status_code=status)


@router.get("/dnd")
def dnd_page(request: Request, session: SessionDep, actor: Requires(DND_VIEW, DND_EDIT)) -> Response:
    return _dnd_page(request, session, actor)


@router.post("/dnd/add")
def dnd_add(request: Request, session: SessionDep, actor: Requires(DND_EDIT), form: FormDep) -> Response:
    try:
        window = _times(form, "valid_from", "valid_until")
        entry = dnd.add(
            session,
            actor,
            number=pc.text(form, "number"),
            business_category_id=_category(pc.text(form, "business_category_id")),
            mode=_choice(DndMode, pc.text(form, "mode"), "mode", DndMode.REFUSE),
            valid_from=window["valid_from"],
            valid_until=window["valid_until"],
            reason=pc.text(form, "reason"),
        )
    except KefuError as exc:
        if not pc.shown_again(exc):
            raise
        errors = pc.messages(session, exc)
        return _dnd_page(request, session, actor, add=(pc.values(form), errors), status=exc.status_code)
    return RedirectResponse(f"/messaging/dnd?{urlencode({'number': entry.number})}", status_code=303)


@router.post("/dnd/import")
def dnd_import(request: Request, session: SessionDep, actor: Requires(DND_EDIT), form: FormDep) -> Response:
    """Many numbers at once, one per line ("number" or "number, reason"); all or nothing."""
    try:
        window = _times(form, "valid_until")
        added, passed = dnd.bulk_add(
            session,
            actor,
            pc.text(form, "lines"),
            business_category_id=_category(pc.text(form, "business_category_id")),
            mode=_choice(DndMode, pc.text(form, "mode"), "mode", DndMode.REFUSE),
            valid_until=window["valid_until"],
            reason=pc.text(form, "reason"),
        )
    except KefuError as exc:
        if not pc.shown_again(exc):
            raise
        errors = pc.messages(session, exc)
        return _dnd_page(request, session, actor, bulk=(pc.values(form), errors), status=exc.status_code)
    query = urlencode({"imported": len(added), "already": passed})
    return RedirectResponse(f"/messaging/dnd?{query}", status_code=303)


@router.post("/dnd/{entry_id}/remove")
def dnd_remove(session: SessionDep, actor: Requires(DND_EDIT), entry_id: int) -> Response:
    dnd.remove(session, actor, entry_id)
    return RedirectResponse("/messaging/dnd", status_code=303)


# --- blacklist --------------------------------------------------------------------------------------


def _blacklist_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    editing: BlacklistEntry | None = None,
    status: int = 200,
) -> Response:
    params = request.query_params
    number = params.get("number", "").strip()[:60]
    offset = max(0, optional_int(params.get("offset", "")) or 0)
    if editing is None and (edit_id := optional_int(params.get("edit", ""))) is not None:
        editing = session.get(BlacklistEntry, edit_id)
    if values is None:
        values = (
            {
                "level": editing.level.value,
                "reason": editing.reason,
                "valid_until": pc.local_input(editing.valid_until),
            }
            if editing is not None
            else {"level": BlacklistLevel.FLAG.value}
        )
    rows, total = blacklist.search(session, number=number or None, limit=PAGE_SIZE, offset=offset)
    context = {
        "number": number,
        "rows": rows,
        "total": total,
        "offset": offset,
        "page_size": PAGE_SIZE,
        "levels": pc.translated(pc.LEVEL_LABELS),
        "can_edit": actor.can(BLACKLIST_EDIT),
        "editing": editing if actor.can(BLACKLIST_EDIT) else None,
        "values": values,
        "errors": errors or {},
        **pc.labels(),
    }
    return render(request, "messaging/messaging/blacklist.html", context, status_code=status)


@router.get("/blacklist")
def blacklist_page(
    request: Request, session: SessionDep, actor: Requires(BLACKLIST_VIEW, BLACKLIST_EDIT)
) -> Response:
    return _blacklist_page(request, session, actor)


@router.post("/blacklist/add")
def blacklist_add(
    request: Request, session: SessionDep, actor: Requires(BLACKLIST_EDIT), form: FormDep
) -> Response:
    try:
        entry = blacklist.add(
            session,
            actor,
            number=pc.text(form, "number"),
            reason=pc.text(form, "reason"),
            level=_choice(BlacklistLevel, pc.text(form, "level"), "level", BlacklistLevel.FLAG),
            valid_until=_times(form, "valid_until")["valid_until"],
        )
    except KefuError as exc:
        if not pc.shown_again(exc):
            raise
        errors = pc.messages(session, exc)
        return _blacklist_page(
            request, session, actor, values=pc.values(form), errors=errors, status=exc.status_code
        )
    return RedirectResponse(f"/messaging/blacklist?{urlencode({'number': entry.number})}", status_code=303)


@router.post("/blacklist/{entry_id}/edit")
def blacklist_change(
    request: Request, session: SessionDep, actor: Requires(BLACKLIST_EDIT), entry_id: int, form: FormDep
) -> Response:
    if session.get(BlacklistEntry, entry_id) is None:
        raise NotFound()
    try:
        blacklist.change(
            session,
            actor,
            entry_id,
            level=_choice(BlacklistLevel, pc.text(form, "level"), "level", BlacklistLevel.FLAG),
            reason=pc.text(form, "reason"),
            valid_until=_times(form, "valid_until")["valid_until"],
        )
    except KefuError as exc:
        if not pc.shown_again(exc):
            raise
        errors = pc.messages(session, exc)
        return _blacklist_page(
            request,
            session,
            actor,
            values=pc.values(form),
            errors=errors,
            editing=session.get(BlacklistEntry, entry_id),
            status=exc.status_code,
        )
    return RedirectResponse("/messaging/blacklist", status_code=303)


@router.post("/blacklist/{entry_id}/remove")
def blacklist_remove(session: SessionDep, actor: Requires(BLACKLIST_EDIT), entry_id: int) -> Response:
    blacklist.remove(session, actor, entry_id)
    return RedirectResponse("/messaging/blacklist", status_code=303)
