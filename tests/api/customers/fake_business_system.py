"""A real HTTP server on a free loopback port that plays the operator's business system: it answers
with JSON, or slowly, or with errors, as a test tells it to (no transport is mocked)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BILLING = {
    "balance": "12.50",
    "arrears": "88.00",
    "next_due_date": "2026-12-20",
    "next_due_amount": "176.00",
    "bills": [
        {"period": "2026-10", "amount": "88.00", "paid": "0", "due_date": "2026-11-20"},
        {"period": "2026-09", "amount": "90.00", "paid": "90.00", "due_date": "2026-10-20"},
    ],
    "payments": [{"paid_on": "2026-10-15", "amount": "90.00", "channel": "微信支付"}],
}


@dataclass
class FakeSystem:
    url: str = ""
    mode: str = "ok"  # ok / slow / fail / flaky / garbage / missing
    delay: float = 2.0
    fail_first: int = 0
    body: Any = field(default_factory=lambda: BILLING)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def reset(self, mode: str = "ok", **kw: Any) -> None:
        self.mode = mode
        self.requests.clear()
        for key, value in kw.items():
            setattr(self, key, value)


def _handler(system: FakeSystem) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep the test output clean
            pass

        def _send(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                self.wfile.write(payload)

        def do_GET(self) -> None:
            system.requests.append((self.path, dict(self.headers)))
            mode = system.mode
            if mode == "flaky":
                mode = "fail" if len(system.requests) <= system.fail_first else "ok"
            if mode == "slow":
                time.sleep(system.delay)
            if mode == "fail":
                return self._send(503, b'{"error": "down for maintenance"}')
            if mode == "missing":
                return self._send(404, b'{"error": "no such customer"}')
            if mode == "garbage":
                return self._send(200, b"<html>gateway error</html>", "text/html")
            return self._send(200, json.dumps(system.body, ensure_ascii=False).encode())

    return Handler


@contextmanager
def running() -> Iterator[FakeSystem]:
    system = FakeSystem()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(system))
    server.daemon_threads = True
    system.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield system
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
