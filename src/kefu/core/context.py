"""Per-request (or per-job) context: who is acting from where. Set by the web middleware."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    client_ip: str = ""
    correlation_id: str = ""
    user_agent: str = ""
    path: str = ""
    method: str = ""


_EMPTY = RequestContext()
_current: ContextVar[RequestContext | None] = ContextVar("kefu_request_context", default=None)


def current() -> RequestContext:
    """The context of the request (or job) being served; an empty one outside requests."""
    return _current.get() or _EMPTY


def set_current(ctx: RequestContext) -> object:
    return _current.set(ctx)


def reset(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
