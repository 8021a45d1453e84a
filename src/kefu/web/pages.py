"""The shell's own pages: sign in and out, language, password change, the start page."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from kefu.core import context, i18n, security
from kefu.core.errors import FieldError, KefuError, NotAuthenticated
from kefu.core.permissions import Actor
from kefu.notices import service as notices
from kefu.org import auth_service
from kefu.web.deps import (
    LANG_COOKIE,
    SESSION_COOKIE,
    CurrentActor,
    OptionalActor,
    SessionDep,
    allow_expired_password,
)
from kefu.web.templating import render

router = APIRouter()
LOGIN_CSRF_COOKIE = "kefu_login_csrf"


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login form cannot bounce users to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        request.app.state.signer.dumps(token, salt="session"),
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


@router.get("/login", include_in_schema=False)
def login_page(request: Request, actor: OptionalActor, next: str = "/") -> Response:
    if actor is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_form(request, next=next)


def _login_form(
    request: Request, *, next: str, error: str = "", username: str = "", status: int = 200
) -> Response:
    token = security.new_token(16)
    request.state._state["login_csrf"] = token
    response = render(
        request,
        "login.html",
        {"next": _safe_next(next), "error": error, "username": username},
        status_code=status,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


@router.post("/login", include_in_schema=False)
def login_submit(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    _apply_lang_cookie(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _login_form(
            request,
            next=next,
            username=username,
            status=403,
            error=i18n.gettext("The form has expired. Reload the page and try again"),
        )
    if not username.strip() or not password:
        return _login_form(
            request,
            next=next,
            username=username,
            status=422,
            error=i18n.gettext("Enter your account and password"),
        )
    ctx = context.current()
    try:
        result = auth_service.login(
            session, username=username, password=password, ip=ctx.client_ip, user_agent=ctx.user_agent
        )
    except auth_service.AccountLocked as exc:
        until = exc.until.astimezone(i18n_tz()).strftime("%H:%M")
        msg = i18n.gettext("Account locked after repeated failed logins; try again after %(time)s") % {
            "time": until
        }
        return _login_form(request, next=next, username=username, status=403, error=msg)
    except KefuError as exc:
        return _login_form(
            request, next=next, username=username, status=exc.status_code, error=exc.render(i18n.gettext)
        )
    target = "/account/password" if auth_service.password_expired(session, result.user) else _safe_next(next)
    response = RedirectResponse(target, status_code=303)
    _set_session_cookie(request, response, result.session_token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


def i18n_tz():
    from kefu.core import clock

    return clock.local_tz()


def _apply_lang_cookie(request: Request) -> None:
    locale = i18n.normalize(request.cookies.get(LANG_COOKIE))
    if locale:
        i18n.set_locale(locale)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, session: SessionDep, actor: OptionalActor) -> Response:
    user_session = request.state._state.get("user_session")
    if actor is not None and user_session is not None:
        auth_service.logout(session, user_session=user_session, actor=actor)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}", include_in_schema=False)
def switch_language(
    request: Request, code: str, session: SessionDep, actor: OptionalActor, next: str = "/"
) -> Response:
    locale = i18n.normalize(code) or i18n.DEFAULT_LOCALE
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax", path="/")
    if actor is not None:
        # A GET that changes a preference: harmless to replay, and what users expect of a language link.
        auth_service.set_language(session, actor=actor, locale=locale)
    return response


@router.get("/account/password", include_in_schema=False, dependencies=[Depends(allow_expired_password)])
def password_page(request: Request, actor: CurrentActor) -> Response:
    return render(request, "password.html", {"errors": {}})


@router.post("/account/password", include_in_schema=False, dependencies=[Depends(allow_expired_password)])
def password_submit(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    confirm_password: Annotated[str, Form()] = "",
) -> Response:
    try:
        if new_password != confirm_password:
            raise FieldError("confirm_password", "The two new passwords differ")
        _change_password(request, session, actor, current_password, new_password)
    except FieldError as exc:
        session.rollback()
        return render(
            request, "password.html", {"errors": {exc.field: exc.render(i18n.gettext)}}, status_code=422
        )
    return render(request, "password.html", {"errors": {}, "done": True})


def _change_password(request: Request, session: SessionDep, actor: Actor, current: str, new: str) -> None:
    user_session = request.state._state.get("user_session")
    auth_service.change_password(
        session,
        actor=actor,
        current_password=current,
        new_password=new,
        keep_session=user_session.id if user_session else None,
    )


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1)
    new_password: str = Field(min_length=1)


class Me(BaseModel):
    id: int
    username: str
    name: str
    department: str | None
    permissions: dict[str, str]
    must_change_password: bool
    unread_messages: int


@router.get("/api/v1/me", response_model=Me, tags=["account"], dependencies=[Depends(allow_expired_password)])
def me(session: SessionDep, actor: CurrentActor) -> Me:
    """Who I am and what I may do (permission → data scope)."""
    user = actor.user
    return Me(
        id=user.id,
        username=user.username,
        name=user.name,
        department=user.department.name if user.department else None,
        permissions={p: s.value for p, s in sorted(actor.scopes.items())},
        must_change_password=auth_service.password_expired(session, user),
        unread_messages=notices.unread_count(session, user.id),
    )


@router.post(
    "/api/v1/me/password", status_code=204, tags=["account"], dependencies=[Depends(allow_expired_password)]
)
def change_password_api(
    request: Request, session: SessionDep, actor: CurrentActor, body: PasswordChange
) -> Response:
    """Change my password (other sessions are signed out)."""
    _change_password(request, session, actor, body.current_password, body.new_password)
    return Response(status_code=204)


class Preferences(BaseModel):
    locale: str = Field(description="zh_CN or en")


@router.patch("/api/v1/me", response_model=Me, tags=["account"])
def update_me(session: SessionDep, actor: CurrentActor, body: Preferences) -> Me:
    """Change my preferences (the language of my screens)."""
    auth_service.set_language(session, actor=actor, locale=body.locale)
    return me(session, actor)


class LoginBody(BaseModel):
    username: str = Field(min_length=1)
    password: str = Field(min_length=1)


class LoginAnswer(BaseModel):
    username: str
    csrf_token: str
    must_change_password: bool


@router.post("/api/v1/auth/login", response_model=LoginAnswer, tags=["account"])
def login_api(request: Request, session: SessionDep, body: LoginBody, response: Response) -> LoginAnswer:
    """Open a browser-style session (cookie). Integrations should use API tokens instead."""
    ctx = context.current()
    result = auth_service.login(
        session, username=body.username, password=body.password, ip=ctx.client_ip, user_agent=ctx.user_agent
    )
    _set_session_cookie(request, response, result.session_token)
    return LoginAnswer(
        username=result.user.username,
        csrf_token=result.session.csrf_token,
        must_change_password=auth_service.password_expired(session, result.user),
    )


@router.get("/", include_in_schema=False)
def start_page(request: Request, session: SessionDep, actor: OptionalActor) -> Response:
    if actor is None:
        raise NotAuthenticated()
    if auth_service.password_expired(session, actor.user):
        return RedirectResponse("/account/password", status_code=303)
    recent = notices.inbox(session, user_id=actor.user.id, limit=5)
    return render(
        request,
        "home.html",
        {
            "unread_count": notices.unread_count(session, actor.user.id),
            "recent": recent,
            "roles": actor.user.roles,
        },
    )
