"""Jinja2 templates shared by every domain, with translations, the menu and the CSRF token."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape

from kefu import __version__
from kefu.core import clock, i18n
from kefu.web import nav

WEB_DIR = Path(__file__).resolve().parent
PACKAGE_DIR = WEB_DIR.parent


def _domain_loaders() -> dict[str, FileSystemLoader]:
    """`org/templates/x.html` is addressed as "org/x.html"."""
    loaders = {}
    for child in PACKAGE_DIR.iterdir():
        tpl = child / "templates"
        if child.name != "web" and tpl.is_dir():
            loaders[child.name] = FileSystemLoader(tpl)
    return loaders


env = Environment(
    loader=ChoiceLoader([FileSystemLoader(WEB_DIR / "templates"), PrefixLoader(_domain_loaders())]),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "" if value is None else clock.to_local(value).strftime(fmt)


env.filters["local"] = local_time
env.globals["version"] = __version__
env.globals["LOCALES"] = i18n.LOCALES


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page (or, for htmx requests of a fragment template, just the fragment)."""
    state = request.state._state
    actor = state.get("actor")
    user_session = state.get("user_session")
    menu = nav.menu_for(actor) if actor is not None else []
    ctx: dict[str, Any] = {
        "request": request,
        "actor": actor,
        "menu": menu,
        "csrf_token": user_session.csrf_token if user_session is not None else state.get("login_csrf", ""),
        "locale": i18n.get_locale(),
        "htmx": request.headers.get("hx-request") == "true",
        "site_name": state.get("site_name") or i18n.gettext("Customer Service Center"),
        "path": request.url.path,
        "active_url": _active_url(menu, request.url.path),
    }
    ctx.update(context or {})
    if actor is not None and "calendar_warning" not in ctx:
        ctx["calendar_warning"] = _calendar_warning(state, actor)
    html = env.get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code, headers=headers)


def _active_url(menu: list[tuple[str, list[nav.NavItem]]], path: str) -> str:
    """The menu entry to highlight: the longest entry URL that the current path lies under."""
    best = ""
    for _label, items in menu:
        for item in items:
            under = path == item.url or (item.url != "/" and path.startswith(item.url.rstrip("/") + "/"))
            if under and len(item.url) > len(best):
                best = item.url
    return best


def _calendar_warning(state: dict[str, Any], actor: Any) -> str | None:
    """Administrators of the calendar see, on every page, that next year's holidays are missing."""
    from kefu.org.calendar.service import calendar_warning_for
    from kefu.web.middleware import SESSION_KEY

    session = state.get(SESSION_KEY)
    return calendar_warning_for(session, actor) if session is not None else None


def render_error_page(status: int, message: str, *, correlation_id: str = "") -> str:
    return env.get_template("error.html").render(
        status=status,
        message=message,
        correlation_id=correlation_id,
        actor=None,
        menu=[],
        locale=i18n.get_locale(),
        csrf_token="",
        htmx=False,
        site_name=i18n.gettext("Customer Service Center"),
        path="",
    )
