"""Fetching inbound e-mail over IMAP, every minute, when the e-mail gateway has it enabled.

Unread (UNSEEN) mail of the configured folder is read by UID in batches without marking it read
(BODY.PEEK); each mail is processed in its own unit of work (`inbound.process`) and marked \\Seen only
after that committed. A crash in between leaves the mail unread: the next fetch finds its Message-ID
already processed and just marks it. A mail too large to fetch whole is processed from its header,
with a note to read it in the mailbox. A connection failure is logged; the next minute tries again.
"""

from __future__ import annotations

import base64
import imaplib
import logging
import re
import ssl
from dataclasses import dataclass, field
from typing import Any

from kefu.core import jobs
from kefu.db import db
from kefu.messaging import gateways, inbound
from kefu.messaging.models import Channel, Gateway, Security
from kefu.settings import get_settings

log = logging.getLogger(__name__)

BATCH = 20  # mails per size request
MAX_PER_RUN = 500  # the rest waits for the next minute
MIN_MAIL_LIMIT = 50 * 1024 * 1024
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


class MailboxError(Exception):
    """The server refused a command (login, folder, search)."""


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    security: Security
    username: str
    password: str
    folder: str
    timeout: float

    @classmethod
    def of(cls, gateway: Gateway) -> Mailbox:
        return cls(
            host=gateway.imap_host,
            port=gateway.imap_port or (993 if gateway.imap_security is Security.SSL else 143),
            security=gateway.imap_security,
            username=gateway.imap_username,
            password=gateway.imap_password,
            folder=gateway.imap_folder or "INBOX",
            timeout=gateway.timeout_seconds or 10.0,
        )


@dataclass
class Report:
    """What one fetch did."""

    fetched: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    unrecorded: int = 0  # could not even be recorded as failed: left unread
    error: str = ""

    def count(self, received: inbound.Received | None) -> None:
        self.fetched += 1
        if received is None:
            self.unrecorded += 1
        elif received.duplicate:
            self.duplicates += 1
        else:
            key = received.outcome.value
            self.outcomes[key] = self.outcomes.get(key, 0) + 1


def mailbox_name(folder: str) -> str:
    """The folder as an IMAP argument: modified UTF-7 (RFC 3501 §5.1.3), quoted."""
    out: list[str] = []
    pending: list[str] = []

    def shift() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in folder:
        if 0x20 <= ord(char) <= 0x7E:
            shift()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    shift()
    return '"' + "".join(out).replace("\\", "\\\\").replace('"', '\\"') + '"'


def connect(box: Mailbox) -> imaplib.IMAP4:
    """A logged-in connection (SSL, STARTTLS or plain, as configured), with the gateway's timeout."""
    context = ssl.create_default_context()
    client: imaplib.IMAP4
    if box.security is Security.SSL:
        client = imaplib.IMAP4_SSL(box.host, box.port, ssl_context=context, timeout=box.timeout)
    else:
        client = imaplib.IMAP4(box.host, box.port, timeout=box.timeout)
        if box.security is Security.STARTTLS:
            client.starttls(ssl_context=context)
    try:
        client.login(box.username, box.password)
    except BaseException:
        _close(client)
        raise
    return client


def _close(client: imaplib.IMAP4) -> None:
    try:
        client.logout()
    except Exception:  # the connection is gone already; nothing to tidy
        log.debug("IMAP logout failed", exc_info=True)


def _ok(answer: tuple[str, list[Any]], what: str) -> list[Any]:
    status, data = answer
    if status != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
        raise MailboxError(f"{what}: {status} {detail}".strip())
    return data


def unseen(client: imaplib.IMAP4) -> list[int]:
    data = _ok(client.uid("SEARCH", "UNSEEN"), "search")
    first = data[0] if data and isinstance(data[0], bytes) else b""
    return sorted(int(n) for n in first.split())


def sizes(client: imaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    data = _ok(client.uid("FETCH", ",".join(map(str, uids)), "(UID RFC822.SIZE)"), "fetch sizes")
    found: dict[int, int] = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not isinstance(line, bytes):
            continue
        uid, size = _UID.search(line), _SIZE.search(line)
        if uid and size:
            found[int(uid.group(1))] = int(size.group(1))
    return found


def content(client: imaplib.IMAP4, uid: int, part: str = "BODY.PEEK[]") -> bytes | None:
    """The mail's bytes (without marking it read); None when it is gone."""
    data = _ok(client.uid("FETCH", str(uid), f"({part})"), "fetch")
    for item in data:
        if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def mail_limit() -> int:
    """The largest mail fetched whole: room for two of the largest attachments, base64-encoded."""
    return max(MIN_MAIL_LIMIT, get_settings().attachment_max_bytes * 3)


def fetch(*, limit: int = MAX_PER_RUN) -> Report | None:
    """Fetch and process the mailbox's unread mail; None when inbound e-mail is not enabled."""
    with db.unit_of_work() as session:
        gateway = gateways.load(session, Channel.EMAIL)
        if not gateway.imap_enabled or not gateway.imap_host:
            return None
        box = Mailbox.of(gateway)
    report = Report()
    try:
        client = connect(box)
    except Exception as exc:  # unreachable, refused, bad certificate, a password IMAP cannot carry …
        report.error = f"cannot log in to {box.host}:{box.port}: {exc.__class__.__name__}: {exc}"
        log.warning("inbound e-mail: %s", report.error)
        return report
    try:
        _ok(client.select(mailbox_name(box.folder)), f"select {box.folder}")
        uids = unseen(client)[:limit]
        biggest = mail_limit()
        for start in range(0, len(uids), BATCH):
            batch = uids[start : start + BATCH]
            known = sizes(client, batch)
            for uid in batch:
                size = known.get(uid, 0)
                whole = size <= biggest
                raw = content(client, uid, "BODY.PEEK[]" if whole else "BODY.PEEK[HEADER]")
                if raw is None:
                    continue  # deleted meanwhile
                received = inbound.process(raw, too_large=None if whole else size)
                report.count(received)
                if received is not None:
                    _ok(client.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)"), "mark read")
    except Exception as exc:  # the connection broke or the server refused: the next run goes on
        report.error = f"{exc.__class__.__name__}: {exc}"
        expected = isinstance(exc, (OSError, imaplib.IMAP4.error, MailboxError))
        log.warning("inbound e-mail: %s (the next run continues)", report.error, exc_info=not expected)
    finally:
        _close(client)
    if report.fetched:
        log.info(
            "inbound e-mail: %s fetched, %s, %s already processed",
            report.fetched,
            report.outcomes,
            report.duplicates,
        )
    return report


@jobs.periodic(jobs.crontab(minute="*"), name="messaging.fetch_inbound")
def fetch_every_minute() -> None:
    fetch()
