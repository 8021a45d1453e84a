"""The gateways' configuration (发送通道): SMS (off, log, an HTTP SMS gateway) and e-mail (off, log,
SMTP) with the inbound mailbox that turns e-mails into tickets, and a test message per channel.

Secrets (the gateway's auth value, the mail passwords) are never shown back: the field stays empty
with "unchanged" as its placeholder, and an empty field keeps the stored secret.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import i18n
from kefu.core.errors import KefuError
from kefu.core.permissions import Actor
from kefu.messaging import gateways, outbox
from kefu.messaging import pages_common as pc
from kefu.messaging.models import Channel, Gateway, Message
from kefu.messaging.permissions import CONFIG_EDIT, CONFIG_VIEW, LOG_VIEW
from kefu.tickets.models import TicketType
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import FormDep
from kefu.web.templating import render

router = APIRouter(prefix="/messaging", include_in_schema=False)
SHOWN = [name for name in gateways.EDITABLE if name not in gateways.SECRETS]


def _values_of(gateway: Gateway) -> dict[str, str]:
    """What the form shows of a stored gateway: everything but the secrets."""
    found: dict[str, str] = {}
    for name in SHOWN:
        value = getattr(gateway, name)
        if isinstance(value, bool):
            found[name] = "1" if value else ""
        else:
            found[name] = "" if value is None else str(getattr(value, "value", value))
    return found


def _ticket_types(session: Session) -> list[tuple[int, str]]:
    rows = session.execute(
        select(TicketType.id, TicketType.name).where(TicketType.enabled.is_(True)).order_by(TicketType.sort)
    )
    return [(row.id, row.name) for row in rows]


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    posted: Channel | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    test_channel: Channel | None = None,
    test_values: dict[str, str] | None = None,
    test_errors: dict[str, str] | None = None,
    tested: Message | None = None,
    status: int = 200,
) -> Response:
    cards: list[dict[str, Any]] = []
    for channel in Channel:
        gateway = gateways.load(session, channel)
        mine = channel is posted
        shown = (values or {}) if mine else _values_of(gateway)
        offered = [i.value for i in gateways.OFFERED[channel]]
        cards.append(
            {
                "channel": channel.value,
                "label": i18n.gettext(pc.CHANNEL_LABELS[channel]),
                "implementations": [
                    (i.value, i18n.gettext(label))
                    for i, label in pc.IMPLEMENTATION_LABELS.items()
                    if i in gateways.OFFERED[channel]
                ],
                "values": shown,
                # Validated: it goes into the form's script.
                "implementation": (
                    shown.get("implementation")
                    if shown.get("implementation") in offered
                    else gateway.implementation.value
                ),
                "errors": (errors or {}) if mine else {},
                "secret_set": {name: bool(getattr(gateway, name)) for name in gateways.SECRETS},
                "on": gateway.implementation.value != "off",
                "saved_implementation": gateway.implementation.value,
                "saved": request.query_params.get("saved") == channel.value,
                "test_values": (test_values or {}) if channel is test_channel else {},
                "test_errors": (test_errors or {}) if channel is test_channel else {},
                "tested": tested if tested is not None and tested.channel is channel else None,
                "updated_at": gateway.updated_at if gateway.id is not None else None,
            }
        )
    context = {
        "cards": cards,
        "securities": pc.translated(pc.SECURITY_LABELS),
        "ticket_types": _ticket_types(session),
        "can_edit": actor.can(CONFIG_EDIT),
        "can_see_log": actor.can(LOG_VIEW),
        **pc.labels(),
    }
    return render(request, "messaging/messaging/gateways.html", context, status_code=status)


@router.get("/gateways")
def gateways_page(
    request: Request, session: SessionDep, actor: Requires(CONFIG_VIEW, CONFIG_EDIT)
) -> Response:
    return _page(request, session, actor)


@router.post("/gateways/{channel}")
def configure(
    request: Request, session: SessionDep, actor: Requires(CONFIG_EDIT), channel: Channel, form: FormDep
) -> Response:
    data: dict[str, object] = {name: value for name, value in form.items() if name in gateways.EDITABLE}
    try:
        gateways.configure(session, actor, channel, data)
    except KefuError as exc:
        if not pc.shown_again(exc):
            raise
        errors = pc.messages(session, exc)
        shown = pc.values(form, leave_out=gateways.SECRETS)
        return _page(
            request, session, actor, posted=channel, values=shown, errors=errors, status=exc.status_code
        )
    return RedirectResponse(f"/messaging/gateways?saved={channel.value}", status_code=303)


@router.post("/gateways/{channel}/test")
def send_test(
    request: Request, session: SessionDep, actor: Requires(CONFIG_EDIT), channel: Channel, form: FormDep
) -> Response:
    """A test message through the channel's gateway; its fate shows in the send log."""
    try:
        message = outbox.send_test(session, actor, channel, pc.text(form, "to"))
    except KefuError as exc:
        if not pc.shown_again(exc):
            raise
        errors = pc.messages(session, exc)
        return _page(
            request,
            session,
            actor,
            test_channel=channel,
            test_values=pc.values(form),
            test_errors=errors,
            status=exc.status_code,
        )
    return _page(request, session, actor, tested=message)
