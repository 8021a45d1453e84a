"""Call recordings (录音, CC-5): linked to the call, through it to the contact record and the tickets
the contact concerns, and playable wherever those are shown — with access checked on every request.

A PBX either reports where a recording lives (the CTI `recording` event's URL, fetched by kefu on
playback so browsers never reach the PBX's recording server) or uploads the file into kefu's file
storage. Who may listen: whoever may see the call (the agents it rang at or who answered it, holders
of `callcenter.calls.view` within their data scope) and whoever may see a ticket the call's contact
record is linked to — the back-office handler of a complaint hears the complaint. Every playback that
starts from the beginning is audited: recordings are personal data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import httpx
from sqlalchemy import event as sa_event
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.callcenter import access, prompts
from kefu.callcenter.models import Call
from kefu.core import storage
from kefu.core.errors import FieldError, KefuError, NotFound
from kefu.core.permissions import Actor
from kefu.customers.contacts.models import ContactTicket
from kefu.tickets import access as ticket_access
from kefu.tickets.models import Ticket

MAX_BYTES = 200 * 1024 * 1024  # about three hours of 8 kHz 16-bit WAV, far more in MP3
CHUNK = 64 * 1024
FETCH_TIMEOUT = httpx.Timeout(10.0, read=30.0)
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class RecordingUnavailable(KefuError):
    """The PBX's recording server did not deliver the file."""

    status_code = 502
    code = "recording_unavailable"


def sniff(head: bytes) -> str | None:
    """The content type of audio bytes by their header (WAV, MP3, Ogg), as voice prompts check it."""
    found = prompts.audio_type(head)
    return found[1] if found else None


def playable(session: Session, actor: Actor, call_pk: int) -> Call:
    """The call, if it has a recording the actor may hear; else 404 (the cases look alike)."""
    found = session.get(Call, call_pk)
    if found is None or not found.has_recording:
        raise NotFound()
    try:
        return access.call(session, actor, call_pk)
    except NotFound:
        pass
    if found.contact_id is not None:
        linked_ticket = exists(
            select(ContactTicket.ticket_id)
            .join(Ticket, Ticket.id == ContactTicket.ticket_id)
            .where(ContactTicket.contact_id == found.contact_id, ticket_access.condition(actor))
        )
        if session.scalar(select(linked_ticket)):
            return found
    raise NotFound()


def store(session: Session, actor: Actor, call: Call, stream: BinaryIO) -> None:
    """Keep an uploaded recording of `call`, replacing an earlier one once this transaction commits.
    Refuses what is not WAV, MP3 or Ogg audio (`FieldError` on `file`)."""
    head = stream.read(16)
    if sniff(head) is None:
        raise FieldError("file", "Recordings must be WAV, MP3 or Ogg audio")
    backend = storage.get_storage()
    stored = backend.put(_Prefixed(head, stream), max_bytes=MAX_BYTES)
    storage.delete_on_rollback(session, stored.key)
    previous = call.recording_key
    call.recording_key = stored.key
    if previous and previous != stored.key:
        sa_event.listen(session, "after_commit", lambda _s: backend.delete(previous), once=True)
    audit.record(
        session,
        actor=actor,
        action="callcenter.recording.upload",
        function="callcenter.cti",
        target_type="cc_call",
        target_id=call.id,
        target_label=call.call_id,
        after={"size": stored.size, "sha256": stored.sha256, "replaced": bool(previous)},
    )


@dataclass
class Audio:
    """What to send for one playback request: the body, its type and the range headers."""

    chunks: Iterator[bytes]
    media_type: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def open_audio(session: Session, actor: Actor, call: Call, range_header: str | None) -> Audio:
    """The recording's bytes (all, or the one range a player asks for when seeking)."""
    if _starts_at_beginning(range_header):
        audit.record(
            session,
            actor=actor,
            action="callcenter.recording.play",
            function="callcenter.calls",
            target_type="cc_call",
            target_id=call.id,
            target_label=call.call_id,
            summary="Recording played",
        )
    if call.recording_key:
        return _stored(call.recording_key, range_header)
    return _remote(call.recording_url, range_header)


def _starts_at_beginning(range_header: str | None) -> bool:
    if not range_header:
        return True
    match = _RANGE.match(range_header.strip())
    return match is not None and match.group(1) == "0"  # browsers start with `bytes=0-`


def _stored(key: str, range_header: str | None) -> Audio:
    handle = storage.get_storage().open(key)
    try:
        head = handle.read(16)
        media_type = sniff(head) or "application/octet-stream"
        size = handle.seek(0, 2)
        start, end = 0, size - 1
        status, headers = 200, {"Accept-Ranges": "bytes", "Content-Length": str(size)}
        span = _parse_range(range_header, size)
        if span is not None:
            start, end = span
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            headers["Content-Length"] = str(end - start + 1)
        handle.seek(start)
    except BaseException:
        handle.close()
        raise
    return Audio(_read(handle, end - start + 1), media_type, status, headers)


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One `bytes=a-b`, `bytes=a-` or `bytes=-n` range within the file; anything else: the whole."""
    if not header or size == 0:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start = int(first)
        end = min(size - 1, int(last)) if last else size - 1
    if start > end or start >= size:
        return None
    return start, end


def _read(handle: BinaryIO, remaining: int) -> Iterator[bytes]:
    with handle:
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


def _remote(url: str, range_header: str | None) -> Audio:
    """Fetch the PBX's recording (only http and https), passing a player's range through."""
    if not url.lower().startswith(("http://", "https://")):
        raise RecordingUnavailable("The recording's address is not an http(s) URL")
    client = httpx.Client(timeout=FETCH_TIMEOUT, follow_redirects=True)
    headers = {"Range": range_header} if range_header else {}
    try:
        response = client.send(client.build_request("GET", url, headers=headers), stream=True)
    except httpx.HTTPError as exc:
        client.close()
        raise RecordingUnavailable("The recording server did not answer: %(error)s", error=str(exc)) from exc
    if response.status_code not in (200, 206):
        response.close()
        client.close()
        raise RecordingUnavailable(
            "The recording server answered HTTP %(status)s", status=str(response.status_code)
        )
    passed = {
        name: response.headers[name]
        for name in ("Content-Length", "Content-Range", "Accept-Ranges")
        if name in response.headers
    }
    media_type = response.headers.get("Content-Type", "audio/wav").split(";")[0]

    def chunks() -> Iterator[bytes]:
        try:
            yield from response.iter_bytes(CHUNK)
        finally:
            response.close()
            client.close()

    return Audio(chunks(), media_type, response.status_code, passed)


class _Prefixed:
    """A stream that yields `head` (already read to sniff the type) before the rest of `stream`."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head, self._stream = head, stream

    def read(self, size: int = -1) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            return head
        return self._stream.read(size)
