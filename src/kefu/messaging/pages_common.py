"""What the messaging pages share: the menu, labels of states and kinds, reading forms, turning
errors into messages beside fields, and the option lists of the forms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kefu.audit.query import parse_local_time
from kefu.core import clock, i18n
from kefu.core.errors import FieldErrors, KefuError
from kefu.core.i18n import lazy
from kefu.messaging.labels import (  # the pages read them from here
    CHANNEL_LABELS,
    DND_MODE_LABELS,
    IMPLEMENTATION_LABELS,
    KIND_LABELS,
    LEVEL_LABELS,
    SECURITY_LABELS,
    SKIP_LABELS,
    SOURCE_LABELS,
    STATUS_COLOURS,
    STATUS_LABELS,
    VARIABLE_LABELS,
)
from kefu.messaging.models import TemplateKind
from kefu.messaging.permissions import (
    BLACKLIST_EDIT,
    BLACKLIST_VIEW,
    CONFIG_EDIT,
    CONFIG_VIEW,
    DND_EDIT,
    DND_VIEW,
    LOG_VIEW,
    SEND,
    TEMPLATE_EDIT,
    TEMPLATE_VIEW,
)
from kefu.web import nav

nav.section("messaging", "Messaging", 40)
nav.register(nav.NavItem("messaging", "Send SMS or email", "/messaging/send", "bi-send", (SEND,), 10))
nav.register(nav.NavItem("messaging", "Send log", "/messaging/log", "bi-list-check", (LOG_VIEW,), 20))
nav.register(
    nav.NavItem(
        "messaging",
        "Message templates",
        "/messaging/templates",
        "bi-file-earmark-text",
        (TEMPLATE_VIEW, TEMPLATE_EDIT),
        40,
    )
)
nav.register(
    nav.NavItem(
        "messaging", "Do-not-disturb list", "/messaging/dnd", "bi-bell-slash", (DND_VIEW, DND_EDIT), 50
    )
)
nav.register(
    nav.NavItem(
        "messaging",
        "Caller blacklist",
        "/messaging/blacklist",
        "bi-slash-circle",
        (BLACKLIST_VIEW, BLACKLIST_EDIT),
        60,
    )
)
nav.register(
    nav.NavItem(
        "messaging",
        "Messaging gateways",
        "/messaging/gateways",
        "bi-hdd-network",
        (CONFIG_VIEW, CONFIG_EDIT),
        70,
    )
)

# Words of the role editor: the area of messaging's functions and its own operation.
AREA_WORDS = (lazy("messaging"), lazy("run"))


CHOOSE = lazy("Choose one of the offered values")


def chips(kind: TemplateKind) -> list[str]:
    """The variables a template of `kind` may use, with the fields of those that have fields
    (`customer.name` rather than `customer`)."""
    from kefu.messaging import render

    found: list[str] = []
    for name in render.allowed(kind):
        sample = render.SAMPLE.get(name)
        found += [f"{name}.{field}" for field in sample] if isinstance(sample, dict) else [name]
    return found


def translated(labels: dict[Any, str]) -> list[tuple[str, str]]:
    """(value, label in the reader's language) for a select."""
    return [(getattr(k, "value", k), i18n.gettext(v)) for k, v in labels.items()]


def labels() -> dict[str, Any]:
    """The label tables every messaging template may use, keyed by the enums' values."""

    def by_value(table: dict[Any, str]) -> dict[str, str]:
        return {getattr(k, "value", k): i18n.gettext(v) for k, v in table.items()}

    return {
        "CHANNEL_LABELS": by_value(CHANNEL_LABELS),
        "STATUS_LABELS": by_value(STATUS_LABELS),
        "STATUS_COLOURS": {k.value: v for k, v in STATUS_COLOURS.items()},
        "SOURCE_LABELS": by_value(SOURCE_LABELS),
        "SKIP_LABELS": by_value(SKIP_LABELS),
        "KIND_LABELS": by_value(KIND_LABELS),
        "IMPLEMENTATION_LABELS": by_value(IMPLEMENTATION_LABELS),
        "SECURITY_LABELS": by_value(SECURITY_LABELS),
        "DND_MODE_LABELS": by_value(DND_MODE_LABELS),
        "LEVEL_LABELS": by_value(LEVEL_LABELS),
        "VARIABLE_LABELS": by_value(VARIABLE_LABELS),
        "local_input": local_input,
    }


def text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def values(form: FormData, *, leave_out: tuple[str, ...] = ()) -> dict[str, str]:
    """The submitted text fields, to show them again (never the CSRF token, nor `leave_out`)."""
    return {
        key: value
        for key, value in form.items()
        if isinstance(value, str) and key != "csrf_token" and key not in leave_out
    }


def messages(session: Session, exc: KefuError) -> dict[str, str]:
    """Undo the half-done change; field → message (`_` for a message about the whole form)."""
    session.rollback()
    if isinstance(exc, FieldErrors):
        return exc.by_field(i18n.gettext)
    return {getattr(exc, "field", "_"): exc.render(i18n.gettext)}


def shown_again(exc: KefuError) -> bool:
    """Whether a form is shown again with the message (bad input, a conflict)."""
    return exc.status_code in (409, 422)


def local_input(value: datetime | None) -> str:
    """A stored time as a `datetime-local` input value in the deployment's zone."""
    return clock.to_local(value).strftime("%Y-%m-%dT%H:%M") if value is not None else ""


def local_time(form: FormData, key: str) -> datetime | None:
    """A `datetime-local` (or date) field as an aware time; FieldError on `key` when malformed."""
    return parse_local_time(text(form, key), field=key)


def business_types(session: Session) -> list[tuple[int, str]]:
    """The business types (业务类型) as a select shows them: enabled ones, indented by depth."""
    from kefu.tickets.setup import service as ticket_setup

    return [(c.id, "— " * depth + c.name) for c, depth in ticket_setup.category_tree(session) if c.enabled]


def business_type_names(session: Session) -> dict[int, str]:
    """Every business type's name by id (disabled ones too: old rows still name them)."""
    from kefu.tickets.models import BusinessCategory

    return dict(session.execute(select(BusinessCategory.id, BusinessCategory.name)).tuples().all())


def is_htmx(request_headers: Any) -> bool:
    return request_headers.get("hx-request") == "true" and request_headers.get("hx-boosted") != "true"
