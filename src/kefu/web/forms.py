"""What every page route that takes a form needs: the parsed form, its field errors for re-showing
the form, and the optional id a select posts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from kefu.core import i18n
from kefu.core.errors import FieldErrors, KefuError


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


def field_errors(exc: KefuError) -> dict[str, str]:
    """`{field: message}` in the reader's language; an error of no field is under "_"."""
    if isinstance(exc, FieldErrors):
        return exc.by_field(i18n.gettext)
    return {getattr(exc, "field", "_"): exc.render(i18n.gettext)}


def optional_int(value: object) -> int | None:
    """A posted id: None when empty or not a whole number."""
    text = value.strip() if isinstance(value, str) else ""
    return int(text) if text.isdigit() and len(text) < 19 else None
