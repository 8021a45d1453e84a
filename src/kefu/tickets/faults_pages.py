"""Pages of fault / cutover notices, and the complaint / notice facts fragment of a ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from kefu.core.errors import KefuError
from kefu.core.permissions import Actor
from kefu.tickets import access, fault_notices
from kefu.tickets.api import ANY_TICKET_RIGHT
from kefu.tickets.faults_api import facts_of
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import FormDep, field_errors
from kefu.web.nav import NavItem, register
from kefu.web.templating import render

router = APIRouter(prefix="/tickets", include_in_schema=False)
register(
    NavItem(
        "workbench",
        "Fault notices",
        "/tickets/fault-notices",
        "bi-broadcast",
        (fault_notices.VIEW, fault_notices.MANAGE),
        45,
    )
)


@router.get("/{ticket_id}/facts")
def ticket_facts(
    request: Request, session: SessionDep, actor: Requires(*ANY_TICKET_RIGHT), ticket_id: int
) -> Response:
    """The complaint flag, the earlier complaint and the linked notices (the detail page loads it)."""
    ticket = access.load(session, actor, ticket_id)
    return render(request, "tickets/tickets/faults_facts.html", {"facts": facts_of(session, ticket)})


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "notices": fault_notices.listing(session),
        "active_ids": {n.id for n in fault_notices.active(session)},
        "can_manage": actor.can(fault_notices.MANAGE),
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, "tickets/tickets/notices.html", context, status_code=status)


@router.get("/fault-notices")
def notices_page(
    request: Request, session: SessionDep, actor: Requires(fault_notices.VIEW, fault_notices.MANAGE)
) -> Response:
    return _page(request, session, actor)


def _when(raw: str) -> datetime | None:
    try:
        return datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@router.post("/fault-notices")
def create_notice(
    request: Request, session: SessionDep, actor: Requires(fault_notices.MANAGE), form: FormDep
) -> Response:
    values = {k: str(form.get(k) or "") for k in ("kind", "title", "content", "public_text", "status")}
    values.update({k: str(form.get(k) or "") for k in ("areas", "services", "starts_at", "ends_at")})
    data: dict[str, Any] = {k: values[k] for k in ("kind", "title", "content", "public_text", "status")}
    data["areas"] = [a for a in values["areas"].replace("，", ",").split(",") if a.strip()]
    data["services"] = [s for s in values["services"].replace("，", ",").split(",") if s.strip()]
    data["starts_at"], data["ends_at"] = _when(values["starts_at"]), _when(values["ends_at"])
    try:
        fault_notices.create(session, actor=actor, values=data)
    except KefuError as exc:
        session.rollback()
        return _page(request, session, actor, errors=field_errors(exc), values=values, status=exc.status_code)
    return RedirectResponse("/tickets/fault-notices", status_code=303)
