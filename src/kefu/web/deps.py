"""FastAPI dependencies: the unit of work's session, the acting user, permission gates, CSRF."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any

from anyio import to_thread
from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from kefu.core import context, i18n
from kefu.core.errors import KefuError, NotAuthenticated, PermissionDenied
from kefu.core.permissions import Actor, build_actor
from kefu.db import db, sqlite_begin
from kefu.org import auth_service
from kefu.org.models import User, UserSession
from kefu.web.middleware import SESSION_KEY

SESSION_COOKIE = "kefu_session"
LANG_COOKIE = "kefu_lang"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class PasswordChangeRequired(KefuError):
    status_code = 403
    code = "password_change_required"

    def __init__(self) -> None:
        super().__init__("You must change your password before going on")


class CsrfFailed(KefuError):
    status_code = 403
    code = "csrf_failed"

    def __init__(self) -> None:
        super().__init__("The form has expired. Reload the page and try again")


async def get_session(request: Request) -> Session:
    """The request's session; the request middleware commits or rolls it back.

    Async only to spare a thread-pool hop: creating a session does no I/O.
    """
    session: Session | None = request.state._state.get(SESSION_KEY)
    if session is None:
        sqlite_begin.set("DEFERRED" if request.method in ("GET", "HEAD", "OPTIONS") else "IMMEDIATE")
        session = db.session()
        request.state._state[SESSION_KEY] = session
    return session


SessionDep = Annotated[Session, Depends(get_session)]


def signer(request: Request) -> URLSafeTimedSerializer:
    return request.app.state.signer


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def _csrf_ok(request: Request, expected: str) -> bool:
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        supplied = value if isinstance(value, str) else None
    return supplied is not None and hmac.compare_digest(supplied, expected)


async def optional_actor(request: Request, session: SessionDep) -> Actor | None:
    """The acting user if the request is authenticated (bearer token or session cookie), else None.

    The database work (resolving and touching the token or session, the IP check, loading the
    permissions) runs in the thread pool: a blocking call on the event loop would stall every request
    of the process — and deadlock it when it waits on a row lock (two requests of one user touching
    their token at once) held by a request that needs the loop to commit.
    """
    cached = request.state._state.get("actor")
    if cached is not None:
        return cached
    ip = context.current().client_ip
    token = _bearer(request)
    raw_cookie = request.cookies.get(SESSION_COOKIE) if token is None else None
    if token is None and not raw_cookie:
        return None
    plain = None
    if raw_cookie:
        try:
            plain = signer(request).loads(raw_cookie, salt="session")
        except BadSignature:
            return None
    found = await to_thread.run_sync(_authenticate, session, token, plain, ip, request.url.path)
    if found is None:
        return None
    user, user_session = found
    cookie_write = user_session is not None and request.method not in SAFE_METHODS
    if cookie_write and not await _csrf_ok(request, user_session.csrf_token):
        raise CsrfFailed()
    actor = await to_thread.run_sync(lambda: build_actor(session, user, via_token=token is not None))
    request.state._state["actor"] = actor
    request.state._state["actor_user_id"] = user.id
    request.state._state["user_session"] = user_session
    locale = i18n.normalize(user.locale) or i18n.normalize(request.cookies.get(LANG_COOKIE))
    if locale:
        i18n.set_locale(locale)
    return actor


def _authenticate(
    session: Session, token: str | None, plain: Any, ip: str, path: str
) -> tuple[User, UserSession | None] | None:
    user_session = None
    if token is not None:
        user = auth_service.resolve_token(session, token)
        if user is None:
            raise NotAuthenticated("Invalid or expired API token")
    else:
        user_session = auth_service.resolve_session(session, plain)
        if user_session is None:
            return None
        user = auth_service.load_user(session, user_session.user_id)
        if user is None or not user.is_active:
            return None
    if not auth_service.ip_allowed(session, user=user, ip=ip):
        auth_service.audit_ip_refusal(session, user=user, ip=ip, path=path)
        raise auth_service.IpRefused(ip)
    return user, user_session


OptionalActor = Annotated[Actor | None, Depends(optional_actor)]


async def current_actor(request: Request, actor: OptionalActor, session: SessionDep) -> Actor:
    if actor is None:
        raise NotAuthenticated()
    if not getattr(request.state, "allow_password_change_only", False) and await to_thread.run_sync(
        auth_service.password_expired, session, actor.user
    ):
        raise PasswordChangeRequired()
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def allow_expired_password(request: Request) -> None:
    """Put before CurrentActor on the few routes a user with an expired password may use."""
    request.state.allow_password_change_only = True


def require(*permissions: str) -> Callable[..., Actor]:
    """A dependency that admits actors holding any of `permissions` (function-level check: 403)."""

    def dependency(actor: CurrentActor) -> Actor:
        if not actor.can_any(*permissions):
            raise PermissionDenied()
        return actor

    dependency.__name__ = "require_" + "_or_".join(p.replace(".", "_") for p in permissions)
    dependency.kefu_permissions = permissions  # type: ignore[attr-defined]
    return dependency


def Requires(*permissions: str) -> type[Actor]:
    return Annotated[Actor, Depends(require(*permissions))]  # type: ignore[return-value]
