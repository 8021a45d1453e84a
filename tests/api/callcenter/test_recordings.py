"""Recordings (CC-5): uploaded by the PBX or fetched from its recording server, linked through the
call's contact record to tickets, and played in the ticket detail only for those who may see the
call or the ticket."""

from __future__ import annotations

import io
import threading
import wave
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from kefu.audit.models import AuditLog
from kefu.callcenter.models import Call
from kefu.core import clock, storage
from kefu.customers.contacts.models import ContactTicket
from tests.api.callcenter.conftest import API, CALLER, T0
from tests.api.callcenter.test_cti import replay
from tests.api.tickets.conftest import desk  # noqa: F401  (the tickets' fixture, used below)


def _wav(seconds: float = 0.5) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(range(256)) * int(16000 * seconds / 256))
    return out.getvalue()


def _answered(cc, call_id: str) -> Call:
    with clock.freeze(T0):
        cc.ready(cc.alice)
    replay(
        cc,
        call_id,
        [
            ("new_call", 0, {"direction": "in", "from": CALLER, "to": "95105"}),
            ("ringing", 2, {"agent": "8001"}),
            ("answer", 5, {"agent": "8001"}),
            ("hangup", 65, {"cause": "normalClearing"}),
        ],
    )
    return cc.session.scalars(select(Call).where(Call.call_id == call_id)).one()


def _upload(cc, call_id: str, data: bytes, who=None, name: str = "r.wav"):
    return cc.client.put(
        f"{API}/cti/calls/{call_id}/recording",
        files={"file": (name, data, "audio/wav")},
        headers=(who or cc.pbx).headers,
    )


def _plays(cc) -> int:
    return cc.session.scalar(
        select(func.count(AuditLog.id)).where(AuditLog.action == "callcenter.recording.play")
    )


def test_an_uploaded_recording_plays_for_the_call_and_the_linked_ticket(cc, desk):  # noqa: F811
    call = _answered(cc, "rec-1")
    audio = _wav()
    r = _upload(cc, "rec-1", audio)
    assert r.status_code == 200, r.text
    assert r.json()["has_recording"]
    # A ticket registered from the call: its contact record is linked to it.
    ticket = desk.register(desk.agent)
    cc.session.add(ContactTicket(contact_id=call.contact_id, ticket_id=ticket["id"]))
    cc.session.flush()
    url = f"{API}/calls/{call.id}/recording"

    played = cc.client.get(url, headers=cc.alice.headers)  # she took the call
    assert played.status_code == 200 and played.content == audio
    assert played.headers["content-type"] == "audio/wav"
    assert played.headers["cache-control"] == "private, no-store"
    # A player seeking asks for a range: only those bytes, not audited again.
    part = cc.client.get(url, headers={**cc.alice.headers, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == audio[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(audio)}"
    tail = cc.client.get(url, headers={**cc.alice.headers, "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == audio[-10:]
    # The ticket's creator has no call-center rights at all, yet hears the call of their ticket.
    assert cc.client.get(url, headers=desk.agent.headers).content == audio
    assert _plays(cc) == 2
    # Neither the call nor the ticket: not found, like a call without a recording.
    for stranger in (cc.carol, cc.south_lead, desk.o1):
        assert cc.client.get(url, headers=stranger.headers).status_code == 404
    assert _plays(cc) == 2
    page = cc.client.get(f"/tickets/{ticket['id']}", headers=desk.agent.headers)
    assert page.status_code == 200 and f'src="{url}"' in page.text


def test_uploads_are_audio_from_the_pbx_and_a_new_one_replaces_the_old(cc):
    call = _answered(cc, "rec-2")
    assert _upload(cc, "rec-2", _wav()).status_code == 200
    cc.session.refresh(call)
    first = call.recording_key
    refused = _upload(cc, "rec-2", b"<html>not audio</html>", name="r.mp3")
    assert refused.status_code == 422
    assert [d["loc"][-1] for d in refused.json()["detail"]] == ["file"]
    cc.session.refresh(call)
    assert call.recording_key == first
    assert _upload(cc, "rec-2", _wav(), who=cc.alice).status_code == 403  # agents do not upload
    assert _upload(cc, "no-such-call", _wav()).status_code == 404
    assert _upload(cc, "rec-2", _wav(1.0)).status_code == 200
    cc.session.refresh(call)
    assert call.recording_key != first
    assert storage.get_storage().exists(call.recording_key)
    assert not storage.get_storage().exists(first)  # the replaced file is gone once committed


class _RecordingServer(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        if self.path != "/rec/2.wav":
            self.send_error(404)
            return
        body, status = self.body, 200
        wanted = self.headers.get("Range")
        if wanted:
            first, last = wanted.removeprefix("bytes=").split("-")
            body, status = body[int(first) : int(last) + 1], 206
        self.send_response(status)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {first}-{last}/{len(self.body)}")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recording_server() -> Iterator[ThreadingHTTPServer]:
    _RecordingServer.body = _wav()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_recording_on_the_pbx_is_fetched_by_kefu(cc, recording_server):
    call = _answered(cc, "rec-3")
    port = recording_server.server_address[1]
    cc.event("recording", "rec-3", 70, recording_url=f"http://127.0.0.1:{port}/rec/2.wav")
    url = f"{API}/calls/{call.id}/recording"
    played = cc.client.get(url, headers=cc.alice.headers)
    assert played.status_code == 200 and played.content == _RecordingServer.body
    part = cc.client.get(url, headers={**cc.alice.headers, "Range": "bytes=0-43"})
    assert part.status_code == 206 and part.content == _RecordingServer.body[:44]
    assert part.headers["content-range"] == f"bytes 0-43/{len(_RecordingServer.body)}"
    # A recording the server does not have, and a server that is gone: a clear 502, not a 500.
    gone = _answered(cc, "rec-4")
    cc.event("recording", "rec-4", 70, recording_url=f"http://127.0.0.1:{port}/rec/missing.wav")
    missing = cc.client.get(f"{API}/calls/{gone.id}/recording", headers=cc.alice.headers)
    assert missing.status_code == 502 and missing.json()["code"] == "recording_unavailable"
    recording_server.shutdown()
    recording_server.server_close()
    down = cc.client.get(url, headers=cc.alice.headers)
    assert down.status_code == 502 and down.json()["code"] == "recording_unavailable"


def test_a_call_without_a_recording_has_nothing_to_play(cc):
    call = _answered(cc, "rec-5")
    assert cc.client.get(f"{API}/calls/{call.id}/recording", headers=cc.alice.headers).status_code == 404
