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


_current: ContextVar[RequestContext] = ContextVar("kefu_request_context", default=RequestContext())


def current() -> RequestContext:
    return _current.get()


def set_current(ctx: RequestContext) -> object:
    return _current.set(ctx)


def reset(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
