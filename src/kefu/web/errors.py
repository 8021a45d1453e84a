"""How expected errors reach people: JSON on /api, pages and redirects elsewhere."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response

from kefu.core import i18n
from kefu.core.errors import FieldError, KefuError, NotAuthenticated
from kefu.web.templating import render


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def kefu_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KefuError)
    message = exc.render(i18n.gettext)
    if _is_api(request):
        if isinstance(exc, FieldError) or hasattr(exc, "as_detail"):
            return JSONResponse({"detail": exc.as_detail(i18n.gettext)}, status_code=422)  # type: ignore[attr-defined]
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else None
        return JSONResponse(
            {"detail": message, "code": exc.code}, status_code=exc.status_code, headers=headers
        )
    if isinstance(exc, NotAuthenticated) and request.method == "GET":
        target = "/login?next=" + quote(str(request.url.path))
        if request.headers.get("hx-request") == "true":
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    if exc.code == "password_change_required":
        return RedirectResponse("/account/password", status_code=303)
    return render(
        request, "error.html", {"status": exc.status_code, "message": message}, status_code=exc.status_code
    )


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": i18n.gettext(str(e.get("msg", ""))), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    if _is_api(request):
        return JSONResponse({"detail": errors}, status_code=422)
    fields = ", ".join(str(e["loc"][-1]) for e in errors if e["loc"])
    return render(
        request,
        "error.html",
        {"status": 422, "message": i18n.gettext("Invalid input") + f": {fields}"},
        status_code=422,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(KefuError, kefu_error)
    app.add_exception_handler(RequestValidationError, validation_error)
