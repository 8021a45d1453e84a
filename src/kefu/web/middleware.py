"""The request middleware: context (client IP, correlation id, language), the unit of work, and the
error log. One pure ASGI middleware so that its order of effects is explicit:

1. a correlation id and the client IP are fixed for the request;
2. the endpoint runs; it opens a database session lazily through the `get_session` dependency;
3. when the response starts, the session commits if the status is below 400 and rolls back
   otherwise — so the data is durable before the client hears "OK";
4. an unhandled exception rolls back, is stored in the error log under the correlation id in a
   unit of work of its own, and the user gets a 500 answer that shows the id.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import secrets
from typing import Any

from anyio import to_thread
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kefu.audit import service as audit
from kefu.core import context, i18n
from kefu.db import db

log = logging.getLogger("kefu.request")

SESSION_KEY = "kefu_db"


def client_ip(scope: Scope, trusted_proxies: frozenset[str]) -> str:
    """The peer address, or the first untrusted hop of X-Forwarded-For when the peer is a trusted proxy."""
    peer = scope.get("client")
    ip = peer[0] if peer else ""
    if ip in trusted_proxies:
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-for":
                hops = [h.strip() for h in value.decode("latin-1").split(",") if h.strip()]
                for hop in reversed(hops):
                    if hop not in trusted_proxies:
                        return hop
    return ip


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, trusted_proxies: frozenset[str]) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = secrets.token_hex(8)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["correlation_id"] = correlation_id
        headers = dict(scope.get("headers", []))
        ctx = context.RequestContext(
            client_ip=client_ip(scope, self.trusted_proxies),
            correlation_id=correlation_id,
            user_agent=headers.get(b"user-agent", b"").decode("latin-1")[:300],
            path=scope.get("path", ""),
            method=scope.get("method", ""),
        )
        ctx_token = context.set_current(ctx)
        locale_token = i18n.set_locale(i18n.DEFAULT_LOCALE)
        started = False

        async def finish(status: int) -> bool:
            """Commit or roll back the request's session; False when the commit itself failed."""
            session: Session | None = state.pop(SESSION_KEY, None)
            if session is None:
                return True
            commit = status < 400 or bool(session.info.get("kefu_commit_on_error"))
            try:
                await to_thread.run_sync(_end, session, commit)
                return True
            except Exception as exc:
                await to_thread.run_sync(_store_error, exc, state)
                return False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                if not await finish(message["status"]):
                    started = True
                    await _send_500(scope, send, correlation_id)
                    raise _CommitFailed
                started = True
                message.setdefault("headers", []).append((b"x-correlation-id", correlation_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except _CommitFailed:
            pass
        except Exception as exc:
            session: Session | None = state.pop(SESSION_KEY, None)
            if session is not None:
                await to_thread.run_sync(_end, session, False)
            log.exception("unhandled error %s on %s %s", correlation_id, ctx.method, ctx.path)
            await to_thread.run_sync(_store_error, exc, state)
            if not started:
                await _send_500(scope, send, correlation_id)
        finally:
            # A streaming response that never started (client gone) must still release its session.
            leftover: Session | None = state.pop(SESSION_KEY, None)
            if leftover is not None:
                leftover.rollback()
                leftover.close()
            i18n._current.reset(locale_token)  # type: ignore[arg-type]
            context.reset(ctx_token)


class _CommitFailed(Exception):
    pass


def _end(session: Session, commit: bool) -> None:
    """Finish the unit of work in one trip to the thread pool."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def _store_error(exc: BaseException, state: dict[str, Any]) -> None:
    try:
        with db.unit_of_work() as s:
            audit.record_error(s, exc=exc, user_id=state.get("actor_user_id"))
    except Exception:  # the database itself may be what failed
        log.exception("could not store error log entry")


async def _send_500(scope: Scope, send: Send, correlation_id: str) -> None:
    path: str = scope.get("path", "")
    message = i18n.gettext("An unexpected error occurred. Please quote this reference to support:")
    if path.startswith("/api/"):
        body = json.dumps(
            {"detail": message, "code": "server_error", "correlation_id": correlation_id}, ensure_ascii=False
        ).encode()
        content_type = b"application/json"
    else:
        from kefu.web.templating import render_error_page

        body = render_error_page(500, message, correlation_id=correlation_id).encode()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"x-correlation-id", correlation_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
