"""Customer pages: the search list (拼音、首字母、电话、证件号、业务号码), registration and editing with every
message beside its field, and the caller lookup the screen pop opens (`/customers/360?phone=…`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kefu.core.errors import KefuError
from kefu.core.permissions import Actor
from kefu.customers import access, identity, page_forms, phones, search, service, view360
from kefu.customers.contacts import service as contacts
from kefu.customers.models import Customer, CustomerKind, CustomerStatus
from kefu.web import nav
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import field_errors
from kefu.web.templating import env, render

router = APIRouter(prefix="/customers", include_in_schema=False)
nav.section("customers", "Customers", 20)
nav.register(nav.NavItem("customers", "Customers", "/customers", "bi-people", (access.VIEW,), 10))
nav.register(
    nav.NavItem("customers", "Register customer", "/customers/new", "bi-person-plus", (access.CREATE,), 12)
)
PAGE_SIZE = 20
env.filters["mask_id"] = identity.mask


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


@router.get("")
def customer_list(
    request: Request,
    session: SessionDep,
    actor: Requires(access.VIEW),
    q: str = "",
    kind: str = "",
    tier: str = "",
    status: str = "",
    offset: int = 0,
) -> Response:
    """Search as you type: a name, pinyin, initials, a phone number, an ID or a service number."""
    filters = search.Filters(
        kind=CustomerKind(kind) if kind in {k.value for k in CustomerKind} else None,
        tier=tier or None,
        status=CustomerStatus(status) if status in {s.value for s in CustomerStatus} else None,
    )
    found = search.search(
        session, actor, q[:100], filters=filters, limit=PAGE_SIZE + 1, offset=max(0, offset)
    )
    context = {
        "q": q,
        "kind": kind,
        "tier": tier,
        "status": status,
        "offset": max(0, offset),
        "page_size": PAGE_SIZE,
        "more": len(found) > PAGE_SIZE,
        "rows": found[:PAGE_SIZE],
        "tier_labels": page_forms.tier_labels(session),
        **page_forms.options(session),
    }
    fragment = _is_htmx(request) and request.headers.get("hx-target") == "customer-results"
    return render(request, "customers/_results.html" if fragment else "customers/list.html", context)


def _form_page(
    request: Request,
    session: Session,
    *,
    customer: Customer | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    errors = {("parent_code" if k == "parent_id" else k): v for k, v in (errors or {}).items()}
    context = {"customer": customer, "values": values, "errors": errors, **page_forms.options(session)}
    return render(request, "customers/form.html", context, status_code=status)


@router.get("/new")
def new_form(
    request: Request, session: SessionDep, actor: Requires(access.CREATE), phone: str = "", name: str = ""
) -> Response:
    """The registration form; the screen pop's "new customer" link brings the caller's number."""
    values = page_forms.form_values(None, phone=phone[:60], name=name[:200])
    values["department_id"] = str(actor.user.department_id or "")
    return _form_page(request, session, customer=None, values=values)


@router.post("/new")
def create(request: Request, session: SessionDep, actor: Requires(access.CREATE), form: FormDep) -> Response:
    try:
        customer = service.create(session, actor=actor, data=page_forms.profile_data(session, form))
    except KefuError as exc:
        if exc.status_code not in (409, 422):
            raise
        session.rollback()
        values = page_forms.form_values(None, form)
        return _form_page(
            request,
            session,
            customer=None,
            values=values,
            errors=field_errors(exc),
            status=exc.status_code,
        )
    return RedirectResponse(f"/customers/{customer.id}", status_code=303)


@router.get("/360")
def lookup(request: Request, session: SessionDep, actor: Requires(access.VIEW), phone: str = "") -> Response:
    """The screen pop (来电弹屏): one customer → their 360 page; several → a choice; none → the
    caller's earlier contacts and tickets and a registration link with the number filled in."""
    phone = phone.strip()[:60]
    found = search.find_by_phone(session, phone, actor=actor) if phone else []
    if len(found) == 1:
        return RedirectResponse(f"/customers/{found[0].id}?phone={phone}", status_code=303)
    key = phones.lookup_key(phone) if phone else None
    form = phones.ticket_form(key) if key else None
    tickets: list[view360.OpenTicket] = []
    hidden = 0
    if form and actor.can_function("tickets.ticket"):
        tickets, hidden = view360.open_tickets_for(session, actor, customer_id=None, phone_forms=[form])
    earlier = contacts.by_remote(session, actor, key=key) if key and actor.can(contacts.VIEW) else []
    context = {
        "phone": phone,
        "valid": key is not None,
        "rows": found,
        "open_tickets": tickets,
        "hidden_open_tickets": hidden,
        "earlier": earlier,
        "tier_labels": page_forms.tier_labels(session),
        **page_forms.options(session),
    }
    return render(request, "customers/lookup.html", context)


@router.get("/{customer_id}/edit")
def edit_form(
    request: Request, session: SessionDep, actor: Requires(access.EDIT), customer_id: int
) -> Response:
    customer = access.customer(session, actor, customer_id, access.EDIT)
    return _form_page(request, session, customer=customer, values=page_forms.form_values(customer))


@router.post("/{customer_id}/edit")
def update(
    request: Request, session: SessionDep, actor: Requires(access.EDIT), customer_id: int, form: FormDep
) -> Response:
    customer = access.customer(session, actor, customer_id, access.EDIT)
    version = page_forms.number(page_forms.text(form, "version")) or 0
    try:
        service.update(
            session,
            actor=actor,
            customer=customer,
            version=version,
            data=page_forms.profile_data(session, form),
        )
    except KefuError as exc:
        if exc.status_code not in (409, 422):
            raise
        session.rollback()
        values = page_forms.form_values(customer, form)
        return _form_page(
            request,
            session,
            customer=customer,
            values=values,
            errors=field_errors(exc),
            status=exc.status_code,
        )
    return RedirectResponse(f"/customers/{customer.id}", status_code=303)


@router.post("/{customer_id}/status")
def change_status(
    session: SessionDep, actor: Requires(access.EDIT), customer_id: int, form: FormDep
) -> Response:
    """Close (销户) or reopen from the 360 page."""
    customer = access.customer(session, actor, customer_id, access.EDIT)
    version = page_forms.number(page_forms.text(form, "version")) or 0
    wanted = CustomerStatus.CLOSED if page_forms.text(form, "status") == "closed" else CustomerStatus.ACTIVE
    service.set_status(session, actor=actor, customer=customer, version=version, status=wanted)
    return RedirectResponse(f"/customers/{customer.id}", status_code=303)


def can_see(session: Session, actor: Actor, customer_id: int) -> bool:
    return access.can(session, actor, customer_id, access.VIEW)
