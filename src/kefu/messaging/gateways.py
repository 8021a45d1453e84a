"""The gateways that deliver messages: SMS over the operator's HTTP gateway, e-mail over SMTP, and a
log-only gateway per channel for demonstrations. Administrators configure them (`msg_gateway`).

A gateway raises `DeliveryError` when it could not deliver; `permanent` ones (the gateway refused the
number, the mail server refused the address) are not retried.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock
from kefu.core.errors import FieldError, FieldErrors
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.messaging.models import Channel, Gateway, Implementation, Security
from kefu.messaging.permissions import FUNCTION

log = logging.getLogger(__name__)

OFFERED: dict[Channel, tuple[Implementation, ...]] = {
    Channel.SMS: (Implementation.OFF, Implementation.LOG, Implementation.HTTP),
    Channel.EMAIL: (Implementation.OFF, Implementation.LOG, Implementation.SMTP),
}
SECRETS = ("auth_value", "smtp_password", "imap_password")
REQUIRED = lazy("This field is required")
CHOOSE = lazy("Choose one of the offered values")
BAD_URL = lazy("Enter an http:// or https:// address")
BAD_PORT = lazy("Enter a port between 1 and 65535")
BAD_NUMBER = lazy("Enter a number between %(low)s and %(high)s")


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    """One message as a gateway sees it."""

    message_id: int
    channel: Channel
    to: str  # E.164 for SMS, the address for e-mail
    body: str
    subject: str = ""
    to_name: str = ""
    mail_id: str = ""  # the e-mail's Message-ID
    automatic: bool = False  # sent by kefu on its own (batches, alerts), not written by a person
    in_reply_to: str = ""
    references: tuple[str, ...] = field(default_factory=tuple)


class Deliverer(Protocol):
    name: str

    def deliver(self, message: Outgoing) -> str:
        """Deliver or raise DeliveryError; returns the gateway's reference (may be empty)."""
        ...


class LogGateway:
    """Demonstrations and training: the message goes to the log, nowhere else (marked `log`)."""

    name = "log"

    def deliver(self, message: Outgoing) -> str:
        log.info("message %s to %s (%s): %s", message.message_id, message.to, message.channel, message.body)
        return f"log-{message.message_id}"


def national(e164: str) -> str:
    """The number as Chinese SMS gateways want it: 13800138000 at home, 00-prefixed abroad."""
    return e164[3:] if e164.startswith("+86") else "00" + e164.lstrip("+")


class HttpSms:
    """An SMS gateway over HTTP/JSON: POST {"to", "content", "sign", "reference"}; a 2xx answer
    accepts (its JSON `id` / `msgid`, if any, is kept as the reference)."""

    name = "http"

    def __init__(self, gateway: Gateway) -> None:
        self.url = gateway.http_url
        self.headers = {gateway.auth_header: gateway.auth_value} if gateway.auth_value else {}
        self.sign = gateway.sign
        self.timeout = gateway.timeout_seconds

    def deliver(self, message: Outgoing) -> str:
        payload = {
            "to": national(message.to),
            "content": f"{self.sign}{message.body}",
            "sign": self.sign,
            "reference": str(message.message_id),
        }
        try:
            response = httpx.post(self.url, json=payload, headers=self.headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"SMS gateway unreachable: {exc.__class__.__name__}: {exc}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise DeliveryError(f"SMS gateway answered {response.status_code}: {response.text[:300]}")
        if response.status_code >= 300:
            raise DeliveryError(
                f"SMS gateway refused ({response.status_code}): {response.text[:300]}", permanent=True
            )
        try:
            data = response.json()
        except ValueError:
            return ""
        if isinstance(data, dict):
            return str(data.get("id") or data.get("msgid") or "")[:300]
        return ""


class Smtp:
    """E-mail through a real SMTP server (plain, STARTTLS or SSL; login when a user is set)."""

    name = "smtp"

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def _connect(self) -> smtplib.SMTP:
        g = self.gateway
        if g.smtp_security is Security.SSL:
            return smtplib.SMTP_SSL(
                g.smtp_host, g.smtp_port, timeout=g.timeout_seconds, context=ssl.create_default_context()
            )
        client = smtplib.SMTP(g.smtp_host, g.smtp_port, timeout=g.timeout_seconds)
        if g.smtp_security is Security.STARTTLS:
            client.starttls(context=ssl.create_default_context())
        return client

    def build(self, message: Outgoing) -> EmailMessage:
        g = self.gateway
        mail = EmailMessage()
        mail["From"] = formataddr((g.from_name, g.from_address)) if g.from_name else g.from_address
        mail["To"] = formataddr((message.to_name, message.to)) if message.to_name else message.to
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(clock.now())
        mail["Message-ID"] = message.mail_id
        if message.in_reply_to:
            mail["In-Reply-To"] = message.in_reply_to
        if message.references:
            mail["References"] = " ".join(message.references)
        if message.automatic:  # RFC 3834: only mail no person wrote
            mail["Auto-Submitted"] = "auto-generated"
        mail["X-Kefu-Message"] = str(message.message_id)
        mail.set_content(message.body)
        return mail

    def deliver(self, message: Outgoing) -> str:
        g = self.gateway
        mail = self.build(message)
        try:
            with self._connect() as client:
                if g.smtp_username:
                    client.login(g.smtp_username, g.smtp_password)
                client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(
                f"the mail server refused the address: {exc.recipients}", permanent=True
            ) from None
        except smtplib.SMTPResponseException as exc:
            text = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else exc.smtp_error
            )
            raise DeliveryError(
                f"SMTP {exc.smtp_code}: {text}", permanent=500 <= exc.smtp_code < 600
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"mail server unreachable: {exc.__class__.__name__}: {exc}") from None
        return message.mail_id


def load(session: Session, channel: Channel) -> Gateway:
    """The channel's configuration (an unsaved `off` one when none was saved)."""
    found = session.scalars(select(Gateway).where(Gateway.channel == channel)).first()
    if found is not None:
        return found
    fresh = Gateway(channel=channel)
    for column in Gateway.__table__.columns:  # an unsaved row has no column defaults yet
        default = column.default
        if getattr(fresh, column.key) is None and default is not None and not callable(default.arg):
            setattr(fresh, column.key, default.arg)
    return fresh


def deliverer(gateway: Gateway) -> Deliverer | None:
    """What delivers for `gateway`, or None when the channel is off."""
    match gateway.implementation:
        case Implementation.LOG:
            return LogGateway()
        case Implementation.HTTP if gateway.channel is Channel.SMS:
            return HttpSms(gateway)
        case Implementation.SMTP if gateway.channel is Channel.EMAIL:
            return Smtp(gateway)
    return None


def mail_domain(gateway: Gateway) -> str:
    address = gateway.from_address or ""
    return address.rpartition("@")[2] or "kefu.invalid"


# --- configuration ----------------------------------------------------------------------------------

EDITABLE = (
    "implementation",
    "max_attempts",
    "timeout_seconds",
    "http_url",
    "auth_header",
    "auth_value",
    "sign",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "smtp_password",
    "from_address",
    "from_name",
    "imap_enabled",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "imap_password",
    "imap_folder",
    "inbound_ticket_type_id",
)


def _text(data: dict[str, object], name: str, limit: int) -> str:
    return str(data.get(name) or "").strip()[:limit]


def _int(
    errors: list[FieldError], data: dict[str, object], name: str, low: int, high: int, default: int
) -> int:
    raw = data.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        errors.append(
            FieldError(name, BAD_PORT if name.endswith("_port") else BAD_NUMBER, low=low, high=high)
        )
        return default
    return value


def configure(session: Session, actor: Actor, channel: Channel, data: dict[str, object]) -> Gateway:
    """Save the channel's gateway. A secret left empty keeps the stored one. Checks what the chosen
    implementation needs; on any error nothing is saved."""
    from kefu.tickets.formvalues import Invalid, clean_email
    from kefu.tickets.models import TicketType

    gateway = load(session, channel)
    errors: list[FieldError] = []
    try:
        implementation = Implementation(str(data.get("implementation") or gateway.implementation.value))
    except ValueError:
        implementation = gateway.implementation
        errors.append(FieldError("implementation", CHOOSE))
    if implementation not in OFFERED[channel]:
        errors.append(FieldError("implementation", CHOOSE))
    values: dict[str, object] = {"implementation": implementation}
    values["max_attempts"] = _int(errors, data, "max_attempts", 1, 10, gateway.max_attempts or 3)
    try:
        timeout = float(str(data.get("timeout_seconds") or gateway.timeout_seconds or 10))
    except ValueError:
        timeout = -1
    if not 0.5 <= timeout <= 120:
        errors.append(FieldError("timeout_seconds", BAD_NUMBER, low=0.5, high=120))
    values["timeout_seconds"] = timeout
    for name, limit in (("auth_header", 100), ("sign", 30), ("from_name", 100), ("imap_folder", 100)):
        values[name] = _text(data, name, limit)
    values["auth_header"] = values["auth_header"] or "Authorization"
    values["imap_folder"] = values["imap_folder"] or "INBOX"
    for name in ("smtp_host", "smtp_username", "imap_host", "imap_username"):
        values[name] = _text(data, name, 200)
    url = _text(data, "http_url", 300)
    if url and not url.startswith(("http://", "https://")):
        errors.append(FieldError("http_url", BAD_URL))
    values["http_url"] = url
    values["smtp_port"] = _int(errors, data, "smtp_port", 1, 65535, gateway.smtp_port or 25)
    values["imap_port"] = _int(errors, data, "imap_port", 1, 65535, gateway.imap_port or 993)
    for name in ("smtp_security", "imap_security"):
        try:
            values[name] = Security(str(data.get(name) or getattr(gateway, name).value))
        except ValueError:
            errors.append(FieldError(name, CHOOSE))
    address = _text(data, "from_address", 200)
    if address:
        try:
            address = clean_email(address)
        except Invalid:
            errors.append(FieldError("from_address", lazy("Enter a valid email address")))
    values["from_address"] = address
    values["imap_enabled"] = str(data.get("imap_enabled") or "").lower() in ("1", "true", "on", "yes")
    ticket_type = data.get("inbound_ticket_type_id")
    values["inbound_ticket_type_id"] = None
    if ticket_type not in (None, ""):
        try:
            type_id = int(str(ticket_type))
        except ValueError:
            type_id = 0
        if session.get(TicketType, type_id) is None:
            errors.append(FieldError("inbound_ticket_type_id", CHOOSE))
        else:
            values["inbound_ticket_type_id"] = type_id
    for name in SECRETS:
        secret = str(data.get(name) or "")
        values[name] = secret if secret else getattr(gateway, name) or ""
    if implementation is Implementation.HTTP and not values["http_url"]:
        errors.append(FieldError("http_url", REQUIRED))
    if implementation is Implementation.SMTP:
        for name in ("smtp_host", "from_address"):
            if not values[name]:
                errors.append(FieldError(name, REQUIRED))
    if values["imap_enabled"]:
        for name in ("imap_host", "imap_username", "inbound_ticket_type_id"):
            if not values[name]:
                errors.append(FieldError(name, REQUIRED))
    if errors:
        raise FieldErrors(errors)
    before = {k: getattr(gateway, k) for k in EDITABLE if k not in SECRETS}
    for name, value in values.items():
        setattr(gateway, name, value)
    gateway.updated_at = clock.now()
    if gateway.id is None:
        session.add(gateway)
    session.flush()
    after = {k: getattr(gateway, k) for k in EDITABLE if k not in SECRETS}
    audit.record(
        session,
        actor=actor,
        action="messaging.gateway.configure",
        function=FUNCTION,
        target=gateway,
        target_label=channel.value,
        before={k: str(v) for k, v in before.items() if after[k] != v},
        after={k: str(v) for k, v in after.items() if before[k] != v},
    )
    return gateway
