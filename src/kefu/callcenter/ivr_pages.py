"""Pages of IVR menus (语音导航) and voice prompts (语音提示): the prompt library with its filters,
upload form and players; the menu list and a menu's editor with its key rows. Every form posts to a
route that calls the same service as the API and shows the form again with the messages when refused.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from kefu.callcenter import ivr, prompts
from kefu.callcenter.ivr_api import load_menu, load_prompt
from kefu.callcenter.models import CallQueue, IvrMenu, VoicePrompt
from kefu.callcenter.permissions import CONFIG_EDIT, CONFIG_VIEW
from kefu.core import i18n
from kefu.core.errors import KefuError
from kefu.core.permissions import Actor
from kefu.web import nav
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import FormDep, field_errors
from kefu.web.templating import render

router = APIRouter(prefix="/callcenter", include_in_schema=False)
nav.register(
    nav.NavItem("callcenter", "IVR menus", "/callcenter/ivr", "bi-diagram-3", (CONFIG_VIEW, CONFIG_EDIT), 60)
)
nav.register(
    nav.NavItem(
        "callcenter",
        "Voice prompts",
        "/callcenter/prompts",
        "bi-music-note-list",
        (CONFIG_VIEW, CONFIG_EDIT),
        70,
    )
)
Reader = Requires(CONFIG_VIEW, CONFIG_EDIT)
Editor = Requires(CONFIG_EDIT)
BLANK_ROWS = 3
# Which parameter an option row's "target" field holds, per action.
TARGET_PARAM = {
    "menu": "menu",
    "queue": "queue",
    "query": "kind",
    "knowledge": "article_id",
    "record": "max_seconds",
}


def _labels(table: dict[str, str]) -> list[tuple[str, str]]:
    return [(k, i18n.gettext(v)) for k, v in table.items()]


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _shown_again(exc: KefuError) -> bool:
    return exc.status_code in (409, 422)


# --- voice prompts ---------------------------------------------------------------------------------


def _library(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    category: str = "",
    language: str = "",
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    stmt = select(VoicePrompt).order_by(VoicePrompt.category, VoicePrompt.code, VoicePrompt.language)
    if category in prompts.CATEGORIES:
        stmt = stmt.where(VoicePrompt.category == category)
    if language in prompts.LANGUAGES:
        stmt = stmt.where(VoicePrompt.language == language)
    context = {
        "rows": list(session.scalars(stmt)),
        "category": category,
        "language": language,
        "categories": _labels(prompts.CATEGORIES),
        "languages": _labels(prompts.LANGUAGES),
        "category_names": dict(_labels(prompts.CATEGORIES)),
        "language_names": dict(_labels(prompts.LANGUAGES)),
        "values": values or {"category": "menu", "language": prompts.DEFAULT_LANGUAGE, "enabled": "1"},
        "errors": errors or {},
        "can_edit": actor.can(CONFIG_EDIT),
        "max_mb": prompts.MAX_BYTES // (1024 * 1024),
    }
    return render(request, "callcenter/prompts.html", context, status_code=status)


def _prompt_data(form: FormData) -> dict[str, Any]:
    return {
        "code": _text(form, "code"),
        "name": _text(form, "name"),
        "category": _text(form, "category"),
        "language": _text(form, "language"),
        "text": _text(form, "text"),
        "enabled": _text(form, "enabled") == "1",
    }


def _file(form: FormData) -> prompts.Upload | None:
    item = form.get("file")
    if isinstance(item, UploadFile) and item.filename:
        return prompts.Upload(filename=item.filename, content_type=item.content_type, stream=item.file)
    return None


def _form_values(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


@router.get("/prompts")
def prompt_library(
    request: Request, session: SessionDep, actor: Reader, category: str = "", language: str = ""
) -> Response:
    return _library(request, session, actor, category=category, language=language)


@router.post("/prompts")
def upload_prompt(request: Request, session: SessionDep, actor: Editor, form: FormDep) -> Response:
    try:
        prompts.create(session, actor=actor, data=_prompt_data(form), upload=_file(form))
    except KefuError as exc:
        if not _shown_again(exc):
            raise
        session.rollback()
        return _library(
            request,
            session,
            actor,
            values=_form_values(form),
            errors=field_errors(exc),
            status=exc.status_code,
        )
    return RedirectResponse("/callcenter/prompts", status_code=303)


def _prompt_page(
    request: Request,
    session: Session,
    actor: Actor,
    prompt: VoicePrompt,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "prompt": prompt,
        "values": values
        or {
            "code": prompt.code,
            "name": prompt.name,
            "category": prompt.category,
            "language": prompt.language,
            "text": prompt.text,
            "enabled": "1" if prompt.enabled else "",
        },
        "errors": errors or {},
        "categories": _labels(prompts.CATEGORIES),
        "languages": _labels(prompts.LANGUAGES),
        "users": prompts.users_of(session, prompt.code),
        "can_edit": actor.can(CONFIG_EDIT),
        "max_mb": prompts.MAX_BYTES // (1024 * 1024),
    }
    return render(request, "callcenter/prompts_edit.html", context, status_code=status)


@router.get("/prompts/{prompt_id}")
def prompt_page(request: Request, session: SessionDep, actor: Reader, prompt_id: int) -> Response:
    return _prompt_page(request, session, actor, load_prompt(session, prompt_id))


def _refused(
    request: Request, session: Session, actor: Actor, prompt_id: int, form: FormData, exc: KefuError
) -> Response:
    session.rollback()
    prompt = load_prompt(session, prompt_id)
    return _prompt_page(
        request,
        session,
        actor,
        prompt,
        values=_form_values(form) or None,
        errors=field_errors(exc),
        status=exc.status_code,
    )


@router.post("/prompts/{prompt_id}")
def save_prompt(
    request: Request, session: SessionDep, actor: Editor, prompt_id: int, form: FormDep
) -> Response:
    prompt = load_prompt(session, prompt_id)
    try:
        prompts.update(session, actor=actor, prompt=prompt, data=_prompt_data(form), upload=_file(form))
    except KefuError as exc:
        if not _shown_again(exc):
            raise
        return _refused(request, session, actor, prompt_id, form, exc)
    return RedirectResponse(f"/callcenter/prompts/{prompt_id}", status_code=303)


@router.post("/prompts/{prompt_id}/remove-audio")
def remove_audio(
    request: Request, session: SessionDep, actor: Editor, prompt_id: int, form: FormDep
) -> Response:
    try:
        prompts.remove_file(session, actor=actor, prompt=load_prompt(session, prompt_id))
    except KefuError as exc:
        if not _shown_again(exc):
            raise
        return _refused(request, session, actor, prompt_id, FormData(), exc)
    return RedirectResponse(f"/callcenter/prompts/{prompt_id}", status_code=303)


@router.post("/prompts/{prompt_id}/delete")
def delete_prompt(
    request: Request, session: SessionDep, actor: Editor, prompt_id: int, form: FormDep
) -> Response:
    try:
        prompts.delete(session, actor=actor, prompt=load_prompt(session, prompt_id))
    except KefuError as exc:
        if not _shown_again(exc):
            raise
        return _refused(request, session, actor, prompt_id, FormData(), exc)
    return RedirectResponse("/callcenter/prompts", status_code=303)


# --- IVR menus -------------------------------------------------------------------------------------


@router.get("/ivr")
def menu_list(request: Request, session: SessionDep, actor: Reader) -> Response:
    menus = list(session.scalars(select(IvrMenu).order_by(IvrMenu.code)))
    context = {
        "menu_rows": menus,
        "options": ivr.options_by_menu(session, [m.id for m in menus]),
        "actions": dict(_labels(ivr.ACTIONS)),
        "can_edit": actor.can(CONFIG_EDIT),
    }
    return render(request, "callcenter/ivr_menus.html", context)


def _row(action: str, params: dict[str, Any]) -> dict[str, str]:
    target = TARGET_PARAM.get(action)
    return {
        "action": action,
        "target": str(params.get(target, "")) if target else "",
        "prompt": str(params.get("prompt", "")),
    }


def _menu_values(session: Session, menu: IvrMenu) -> dict[str, Any]:
    fallback = menu.fallback or {}
    return {
        "code": menu.code,
        "name": menu.name,
        "prompt_code": menu.prompt_code,
        "entry_numbers": " ".join(menu.entry_numbers or []),
        "timeout_seconds": str(menu.timeout_seconds),
        "max_retries": str(menu.max_retries),
        "invalid_prompt_code": menu.invalid_prompt_code,
        "enabled": "1" if menu.enabled else "",
        "fallback": _row(fallback.get("action", ""), fallback.get("params") or {}),
        "options": [
            {"digit": o.digit, "label": o.label, **_row(o.action, o.params or {})}
            for o in ivr.options_of(session, menu)
        ],
    }


def _params(action: str, target: str, prompt: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    name = TARGET_PARAM.get(action)
    if name and target:
        params[name] = target
    if prompt:
        params["prompt"] = prompt
    return params


def _menu_form(form: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    """(service data, values to show again) of the editor's form; blank option rows are skipped."""
    values: dict[str, Any] = {
        k: _text(form, k)
        for k in (
            "code",
            "name",
            "prompt_code",
            "entry_numbers",
            "timeout_seconds",
            "max_retries",
            "invalid_prompt_code",
        )
    }
    values["enabled"] = "1" if _text(form, "enabled") == "1" else ""
    values["fallback"] = {k: _text(form, f"fallback.{k}") for k in ("action", "target", "prompt")}
    rows, options = [], []
    for i in range(len(ivr.DIGITS)):
        row = {k: _text(form, f"options.{i}.{k}") for k in ("digit", "label", "action", "target", "prompt")}
        if not any(row.values()):
            continue
        rows.append(row)
        options.append(
            {
                "digit": row["digit"],
                "label": row["label"],
                "action": row["action"],
                "params": _params(row["action"], row["target"], row["prompt"]),
            }
        )
    values["options"] = rows
    fallback = values["fallback"]
    data = {
        **{k: values[k] for k in ("code", "name", "prompt_code", "entry_numbers", "invalid_prompt_code")},
        "timeout_seconds": values["timeout_seconds"] or None,
        "max_retries": values["max_retries"] or None,
        "enabled": values["enabled"] == "1",
        "fallback": {
            "action": fallback["action"],
            "params": _params(fallback["action"], fallback["target"], fallback["prompt"]),
        }
        if fallback["action"]
        else {},
        "options": options,
    }
    return data, values


def _form_errors(exc: KefuError) -> dict[str, str]:
    """Service fields (`options.2.params.queue`) as the editor's fields (`options.2.target`)."""
    errors: dict[str, str] = {}
    for field, message in field_errors(exc).items():
        head, _, param = field.partition(".params.")
        if param:
            field = f"{head}.prompt" if param == "prompt" else f"{head}.target"
        errors.setdefault(field, message)
    return errors


def _editor(
    request: Request,
    session: Session,
    actor: Actor,
    menu: IvrMenu | None,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    rows = list(values.get("options") or [])
    rows += [{"digit": "", "label": "", "action": "", "target": "", "prompt": ""}] * min(
        BLANK_ROWS, len(ivr.DIGITS) - len(rows)
    )
    context = {
        "ivr_menu": menu,
        "values": values,
        "rows": rows,
        "errors": errors or {},
        "digits": ivr.DIGITS,
        "actions": _labels(ivr.ACTIONS),
        "fallback_actions": [(k, v) for k, v in _labels(ivr.ACTIONS) if k in ivr.FALLBACK_ACTIONS],
        "query_kinds": _labels(ivr.QUERY_KINDS),
        "menu_codes": list(session.scalars(select(IvrMenu.code).order_by(IvrMenu.code))),
        "queue_codes": list(session.scalars(select(CallQueue.code).order_by(CallQueue.code))),
        "prompt_codes": sorted(set(session.scalars(select(VoicePrompt.code)))),
        "can_edit": actor.can(CONFIG_EDIT),
    }
    return render(request, "callcenter/ivr_menu_form.html", context, status_code=status)


NEW_MENU = {"timeout_seconds": "5", "max_retries": "3", "enabled": "1", "fallback": {}, "options": []}


@router.get("/ivr/new")
def new_menu(request: Request, session: SessionDep, actor: Editor) -> Response:
    return _editor(request, session, actor, None, dict(NEW_MENU))


@router.post("/ivr/new")
def create_menu(request: Request, session: SessionDep, actor: Editor, form: FormDep) -> Response:
    data, values = _menu_form(form)
    try:
        menu = ivr.create(session, actor=actor, data=data)
    except KefuError as exc:
        if not _shown_again(exc):
            raise
        session.rollback()
        return _editor(
            request, session, actor, None, values, errors=_form_errors(exc), status=exc.status_code
        )
    return RedirectResponse(f"/callcenter/ivr/{menu.id}", status_code=303)


@router.get("/ivr/{menu_id}")
def menu_page(request: Request, session: SessionDep, actor: Reader, menu_id: int) -> Response:
    menu = load_menu(session, menu_id)
    return _editor(request, session, actor, menu, _menu_values(session, menu))


@router.post("/ivr/{menu_id}")
def save_menu(request: Request, session: SessionDep, actor: Editor, menu_id: int, form: FormDep) -> Response:
    menu = load_menu(session, menu_id)
    data, values = _menu_form(form)
    try:
        ivr.update(session, actor=actor, menu=menu, data=data)
    except KefuError as exc:
        if not _shown_again(exc):
            raise
        session.rollback()
        menu = load_menu(session, menu_id)
        return _editor(
            request, session, actor, menu, values, errors=_form_errors(exc), status=exc.status_code
        )
    return RedirectResponse(f"/callcenter/ivr/{menu_id}", status_code=303)


@router.post("/ivr/{menu_id}/delete")
def delete_menu(
    request: Request, session: SessionDep, actor: Editor, menu_id: int, form: FormDep
) -> Response:
    menu = load_menu(session, menu_id)
    try:
        ivr.delete(session, actor=actor, menu=menu)
    except KefuError as exc:
        if not _shown_again(exc):
            raise
        session.rollback()
        menu = load_menu(session, menu_id)
        values = _menu_values(session, menu)
        return _editor(
            request, session, actor, menu, values, errors=field_errors(exc), status=exc.status_code
        )
    return RedirectResponse("/callcenter/ivr", status_code=303)
