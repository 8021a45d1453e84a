"""The search dictionary page (/admin/search/dictionary): words, a segmentation preview, re-index.

Every action calls the same service function as the API; a rejected form is shown again with the
message beside the field (status 422), nothing half-written kept.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from kefu.core import i18n
from kefu.core.errors import FieldError
from kefu.core.permissions import Actor
from kefu.core.search import dictionary
from kefu.web.deps import SessionDep, require
from kefu.web.nav import NavItem, register
from kefu.web.templating import render

router = APIRouter(prefix="/admin/search/dictionary", include_in_schema=False)
register(
    NavItem(
        "admin",
        "Search dictionary",
        "/admin/search/dictionary",
        "bi-spellcheck",
        ("search.dictionary.view",),
        order=65,
    )
)

View = Annotated[Actor, Depends(require("search.dictionary.view"))]
Create = Annotated[Actor, Depends(require("search.dictionary.create"))]
Edit = Annotated[Actor, Depends(require("search.dictionary.edit"))]
Delete = Annotated[Actor, Depends(require("search.dictionary.delete"))]
FormStr = Annotated[str, Form()]
PAGE = 50


def _weight(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise FieldError("weight", "Enter a whole number") from None


def _page(
    request: Request,
    session: SessionDep,
    *,
    q: str = "",
    offset: int = 0,
    text: str = "",
    edit: int | None = None,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    words = dictionary.list_words(session, q=q, limit=PAGE, offset=offset)
    ctx: dict[str, Any] = {
        "words": words,
        "q": q,
        "offset": offset,
        "page_size": PAGE,
        "text": text,
        "preview": dictionary.preview(session, text) if text.strip() else None,
        "editing": edit,
        "errors": {},
        "values": {},
        "failed": "",
        "queued": request.query_params.get("queued") == "1",
        **extra,
    }
    return render(request, "core/search/dictionary.html", ctx, status_code=status_code)


def _failed(
    request: Request, session: SessionDep, exc: FieldError, failed: str, values: dict, edit: int | None = None
) -> Response:
    session.rollback()
    errors = {exc.field: exc.render(i18n.gettext)}
    return _page(request, session, edit=edit, status_code=422, errors=errors, values=values, failed=failed)


@router.get("")
def dictionary_page(
    request: Request,
    session: SessionDep,
    actor: View,
    q: str = "",
    offset: int = 0,
    text: str = "",
    edit: int | None = None,
) -> Response:
    return _page(request, session, q=q, offset=max(0, offset), text=text, edit=edit)


@router.post("")
def add_word(
    request: Request,
    session: SessionDep,
    actor: Create,
    word: FormStr = "",
    weight: FormStr = "",
    pos: FormStr = "",
    note: FormStr = "",
) -> Response:
    values = {"word": word, "weight": weight, "pos": pos, "note": note}
    try:
        dictionary.add_word(session, actor=actor, word=word, weight=_weight(weight), pos=pos, note=note)
    except FieldError as exc:
        return _failed(request, session, exc, "new", values)
    return RedirectResponse("/admin/search/dictionary?" + urlencode({"text": word}), status_code=303)


@router.post("/reindex")
def reindex(request: Request, session: SessionDep, actor: Edit) -> Response:
    dictionary.request_reindex(session, actor=actor)
    return RedirectResponse("/admin/search/dictionary?queued=1", status_code=303)


@router.post("/{word_id}")
def update_word(
    request: Request,
    session: SessionDep,
    actor: Edit,
    word_id: int,
    word: FormStr = "",
    weight: FormStr = "",
    pos: FormStr = "",
    note: FormStr = "",
) -> Response:
    row = dictionary.get_word(session, word_id)
    values = {"word": word, "weight": weight, "pos": pos, "note": note}
    try:
        dictionary.update_word(
            session, actor=actor, word=row, new_word=word, weight=_weight(weight), pos=pos, note=note
        )
    except FieldError as exc:
        return _failed(request, session, exc, "edit", values, edit=word_id)
    return RedirectResponse("/admin/search/dictionary", status_code=303)


@router.post("/{word_id}/toggle")
def toggle_word(request: Request, session: SessionDep, actor: Edit, word_id: int) -> Response:
    row = dictionary.get_word(session, word_id)
    dictionary.update_word(session, actor=actor, word=row, enabled=not row.enabled)
    return RedirectResponse("/admin/search/dictionary", status_code=303)


@router.post("/{word_id}/delete")
def delete_word(request: Request, session: SessionDep, actor: Delete, word_id: int) -> Response:
    dictionary.delete_word(session, actor=actor, word=dictionary.get_word(session, word_id))
    return RedirectResponse("/admin/search/dictionary", status_code=303)
