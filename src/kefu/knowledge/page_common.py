"""What the knowledge pages share: reading forms, turning errors into messages beside fields, the
option lists of the forms, and labels of states and actions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kefu.core import clock, i18n
from kefu.core.errors import FieldErrors, KefuError
from kefu.core.i18n import lazy
from kefu.knowledge import categories, content
from kefu.knowledge.labels import ARTICLE_STATUS, AUDIENCE, PUBLISH_MODE, VERSION_STATUS


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]

LOG_ACTIONS = {
    "created": lazy("Article created"),
    "edited": lazy("Edited"),
    "new_version": lazy("Started a new version"),
    "discarded": lazy("Discarded the draft"),
    "submitted": lazy("Submitted for review"),
    "withdrawn": lazy("Withdrawn to draft"),
    "approved": lazy("Review passed"),
    "rejected": lazy("Returned for changes"),
    "scheduled": lazy("Publish time set"),
    "published": lazy("Went live"),
    "expired": lazy("Expired"),
    "revoked": lazy("Revoked from use"),
    "archived": lazy("Archived"),
    "moved": lazy("Moved"),
    "hot": lazy("Marked hot"),
    "not_hot": lazy("Hot mark removed"),
    "sent": lazy("Sent to a customer"),
    "send_unsupported": lazy("Send requested (no sender connected)"),
}
FIELD_LABELS = {
    "title": lazy("Title"),
    "summary": lazy("Business summary"),
    "keywords": lazy("Keywords"),
    "business_category_id": lazy("Business type"),
    "business_attrs": lazy("Business attributes"),
    "audience": lazy("Scope"),
    "publish_at": lazy("Publish at"),
    "expires_at": lazy("Expires at"),
    "change_note": lazy("Change note"),
    "attachments": lazy("Attachments"),
}


def text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def int_or_none(value: object) -> int | None:
    raw = value.strip() if isinstance(value, str) else ""
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def lock_version(form: FormData) -> int:
    """The article version the form was made from; a form without it is stale by definition."""
    found = int_or_none(form.get("lock_version"))
    return found if found is not None else -1


def values(form: FormData) -> dict[str, Any]:
    """The submitted text fields (lists for repeated names), to show them again."""
    out: dict[str, Any] = {}
    for key in form:
        items = [v for v in form.getlist(key) if isinstance(v, str)]
        if key != "csrf_token" and items:
            out[key] = (
                items
                if len(items) > 1 or key in ("business_attrs", "keep_files", "editor_department_ids")
                else items[0]
            )
    return out


def messages(session: Session, exc: KefuError) -> dict[str, str]:
    """Undo the half-done change; field → message (`_` for a message about the whole form)."""
    session.rollback()
    if isinstance(exc, FieldErrors):
        return exc.by_field(i18n.gettext)
    return {getattr(exc, "field", "_"): exc.render(i18n.gettext)}


def shown_again(exc: KefuError) -> bool:
    """Whether a form is shown again with messages (bad input, conflict, refusal)."""
    return exc.status_code in (403, 409, 422)


def local_input(value: datetime | None) -> str:
    """A stored time as a `datetime-local` input value in the deployment's zone."""
    return clock.to_local(value).strftime("%Y-%m-%dT%H:%M") if value is not None else ""


def parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


def category_options(session: Session, only: set[int] | None = None) -> list[tuple[int, str]]:
    return [
        (c.id, "— " * depth + c.name)
        for c, depth in categories.category_tree(session)
        if only is None or c.id in only
    ]


def business_type_options(session: Session) -> list[tuple[int, str]]:
    from kefu.tickets.setup import service as ticket_setup

    return [(c.id, "— " * depth + c.name) for c, depth in ticket_setup.category_tree(session) if c.enabled]


def attribute_options(session: Session) -> list[tuple[str, str]]:
    return content.attribute_codes(session)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def labels() -> dict[str, Any]:
    return {
        "ARTICLE_STATUS": ARTICLE_STATUS,
        "VERSION_STATUS": VERSION_STATUS,
        "AUDIENCE": AUDIENCE,
        "PUBLISH_MODE": PUBLISH_MODE,
        "LOG_ACTIONS": LOG_ACTIONS,
        "FIELD_LABELS": FIELD_LABELS,
        "local_input": local_input,
    }
