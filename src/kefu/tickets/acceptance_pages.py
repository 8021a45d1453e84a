"""Pages of business acceptance orders (业务受理, TKT-15): the list with a tab per state (and its count)
and filters, the registration form, and the order panel on the ticket page.

The ticket page loads the panel on its own (`/tickets/{id}/acceptance`; empty for a ticket that is no
order): kind, payment mode, state, lock holder, payment, reply, and a form for each action its reader
may take now. Each form posts to a page route that calls the same service as the JSON API. Done: over
htmx the whole ticket fragment replaces the one shown (else a redirect to the ticket); bad input or a
conflict: the panel again with the message (422 / 409 / 403). The registration form is re-shown with
every message beside its field.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kefu.core import i18n
from kefu.core.errors import KefuError
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.tickets import acceptance, acceptance_queries
from kefu.tickets import acceptance_values as values
from kefu.tickets import page_views as views
from kefu.tickets.acceptance_flows import acceptance_types
from kefu.tickets.acceptance_models import AcceptanceState, PaymentMode
from kefu.tickets.api import ANY_TICKET_RIGHT, CREATE, HANDLE, MANAGE
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import FormDep, field_errors, optional_int
from kefu.web.nav import NavItem, register
from kefu.web.templating import render

router = APIRouter(prefix="/tickets", include_in_schema=False)
# Agents, handlers and their supervisors: whoever may work with tickets (the list is scoped like them).
register(
    NavItem(
        "workbench", "Business acceptance", "/tickets/acceptance", "bi-clipboard-check", ANY_TICKET_RIGHT, 16
    )
)

# The processing log's words for the entries orders write (the log view looks them up here).
views.LOG_LABELS.setdefault("acceptance_pending", lazy("Order pending"))
views.LOG_LABELS.setdefault("acceptance_locked", lazy("Order locked"))
views.LOG_LABELS.setdefault("acceptance_rejected", lazy("Order rejected"))
views.LOG_LABELS.setdefault("acceptance_done", lazy("Order done"))
views.LOG_LABELS.setdefault("acceptance_cancelled", lazy("Order withdrawn"))
views.LOG_LABELS.setdefault("acceptance_unlocked", lazy("Order unlocked"))
ACTION_LABELS = {
    "lock": lazy("Lock"),
    "unlock": lazy("Unlock"),
    "payment": lazy("Confirm payment"),
    "complete": lazy("Reply and finish"),
    "reject": lazy("Reject the order"),
    "resubmit": lazy("Correct and resubmit"),
}
ORDER_KEYS = (
    "kind",
    "subscriber_id",
    "service_no",
    "address",
    "fee",
    "appointment_date",
    "appointment_window",
)
TICKET_KEYS = (
    "channel",
    "subject",
    "description",
    "priority",
    "customer_id",
    "customer_name",
    "customer_phone",
    "customer_email",
    "department_id",
    "contact_id",
)
PAGE_SIZE = 50
CHANGED = "ticketChanged"


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def _text(form: Any, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _labels(mapping: dict[Any, Any]) -> list[tuple[str, str]]:
    return [(getattr(k, "value", k), i18n.gettext(v)) for k, v in mapping.items()]


def _kind_options(session: Session) -> list[tuple[str, str]]:
    labels = values.kind_labels(session, i18n.get_locale())
    return [(code, labels.get(code, code)) for code in values.kind_codes(session)]


# --- the list --------------------------------------------------------------------------------------------


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _filters(params: Any) -> tuple[acceptance_queries.Filters, dict[str, str]]:
    shown = {
        k: str(params.get(k) or "")
        for k in ("state", "kind", "payment_mode", "date_from", "date_to", "department_id", "customer")
    }
    state = shown["state"] if shown["state"] in {s.value for s in AcceptanceState} else ""
    mode = shown["payment_mode"] if shown["payment_mode"] in {m.value for m in PaymentMode} else ""
    shown.update(state=state, payment_mode=mode)
    filters = acceptance_queries.Filters(
        state=AcceptanceState(state) if state else None,
        kind=shown["kind"] or None,
        payment_mode=PaymentMode(mode) if mode else None,
        date_from=_day(shown["date_from"]),
        date_to=_day(shown["date_to"]),
        department_id=optional_int(shown["department_id"]),
        customer=shown["customer"][:100],
    )
    return filters, shown


@router.get("/acceptance")
def order_list(
    request: Request, session: SessionDep, actor: Requires(*ANY_TICKET_RIGHT), offset: int = 0
) -> Response:
    """The orders I may see: a tab per state with its count, filters, newest first."""
    filters, shown = _filters(request.query_params)
    offset = max(0, offset)
    rows, total = acceptance_queries.listing(session, actor, filters, limit=PAGE_SIZE, offset=offset)
    counts = acceptance_queries.counts(session, actor, filters)
    context = {
        "items": acceptance_queries.summaries(session, rows),
        "total": total,
        "counts": counts,
        "all_count": sum(counts.values()),
        "states": _labels(values.STATE_LABELS),
        "modes": _labels(values.MODE_LABELS),
        "kinds": _kind_options(session),
        "departments": views.registration_options(session)["departments"],
        "filters": shown,
        "query": {k: v for k, v in shown.items() if v and k != "state"},
        "offset": offset,
        "page_size": PAGE_SIZE,
        "can_create": actor.can(CREATE),
    }
    return render(request, "tickets/tickets/acceptance_list.html", context)


# --- registration ----------------------------------------------------------------------------------------


def _new_page(
    request: Request,
    session: Session,
    actor: Actor,
    form: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    customer_id = optional_int(form.get("customer_id"))
    context = {
        "values": form,
        "errors": errors or {},
        "modes": _labels(values.MODE_LABELS),
        "set_up": {m.value for _, m in acceptance_types(session)},
        "kinds": _kind_options(session),
        "windows": _labels(values.WINDOW_LABELS),
        "subscribers": values.subscribers_of(session, actor, customer_id) if customer_id else [],
        **views.registration_options(session),
    }
    return render(request, "tickets/tickets/acceptance_new.html", context, status_code=status)


@router.get("/acceptance/new")
def new_order(request: Request, session: SessionDep, actor: Requires(CREATE)) -> Response:
    """The registration form; `customer_id`, `customer_name`, `customer_phone`, `contact_id` and
    `kind` in the query fill it in (a link from the agent's desk)."""
    params = request.query_params
    form = {k: str(params.get(k) or "") for k in (*ORDER_KEYS, *TICKET_KEYS, "payment_mode")}
    form["payment_mode"] = form["payment_mode"] or PaymentMode.PAY_FIRST.value
    channels = views.options(session, views.CHANNEL)
    form["channel"] = form["channel"] or (channels[0][0] if channels else "")
    form["priority"] = form["priority"] or "normal"
    return _new_page(request, session, actor, form)


@router.post("/acceptance/new")
def create_order(request: Request, session: SessionDep, actor: Requires(CREATE), form: FormDep) -> Response:
    """Register the order; 303 to its ticket, or the form again with every message beside its field."""
    shown = {k: _text(form, k) for k in (*ORDER_KEYS, *TICKET_KEYS, "payment_mode")}
    try:
        ticket, _row = acceptance.create(
            session,
            actor=actor,
            payment_mode=shown["payment_mode"] or None,
            type_id=None,
            order=values.OrderValues(**{k: shown[k] for k in ORDER_KEYS}),
            ticket=values.TicketValues(
                channel=shown["channel"],
                subject=shown["subject"],
                description=shown["description"],
                priority=shown["priority"] or None,
                customer_id=optional_int(shown["customer_id"]),
                customer_name=shown["customer_name"],
                customer_phone=shown["customer_phone"],
                customer_email=shown["customer_email"],
                department_id=optional_int(shown["department_id"]),
                contact_id=optional_int(shown["contact_id"]),
            ),
        )
    except KefuError as exc:
        if exc.status_code not in (403, 409, 422):
            raise
        session.rollback()
        return _new_page(request, session, actor, shown, errors=field_errors(exc), status=exc.status_code)
    return RedirectResponse(f"/tickets/{ticket.id}", status_code=303)


# --- the panel on the ticket page ------------------------------------------------------------------------


def _panel(
    request: Request,
    session: Session,
    actor: Actor,
    ticket_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values_: dict[str, str] | None = None,
    failed: str = "",
) -> Response:
    ticket, row = acceptance.load(session, actor, ticket_id)
    order = acceptance_queries.detail(session, actor, ticket, row)
    context = {
        "ticket": ticket,
        "order": order,
        "actions": [(code, i18n.gettext(ACTION_LABELS[code])) for code in order["actions"]],
        "holder": row.locked_by_id is not None and row.locked_by_id != actor.user.id,
        "may_manage": actor.can(MANAGE),
        "kinds": _kind_options(session),
        "windows": _labels(values.WINDOW_LABELS),
        "errors": errors or {},
        "values": values_ or {},
        "failed": failed,
    }
    template = (
        "tickets/tickets/acceptance_panel.html"
        if _is_htmx(request)
        else "tickets/tickets/acceptance_page.html"
    )
    return render(request, template, context, status_code=status)


@router.get("/{ticket_id}/acceptance")
def order_panel(
    request: Request, session: SessionDep, actor: Requires(*ANY_TICKET_RIGHT), ticket_id: int
) -> Response:
    """The order panel of a ticket page (nothing for a ticket that is no order)."""
    try:
        return _panel(request, session, actor, ticket_id)
    except KefuError as exc:
        if exc.status_code != 404 or not _is_htmx(request):
            raise
        return Response(status_code=200, content="")


def _version(form: FormData) -> int:
    found = optional_int(form.get("version"))
    return found if found is not None else -1  # a form without its version is stale by definition


def _step(code: str, session: Session, actor: Actor, ticket: Any, row: Any, form: FormData) -> Any:
    common = {"actor": actor, "ticket": ticket, "row": row, "expected_version": _version(form)}
    if code == "lock":
        return acceptance.lock(session, **common)
    if code == "unlock":
        return acceptance.unlock(session, comment=_text(form, "comment"), **common)
    if code == "reject":
        return acceptance.reject(session, reason=_text(form, "reason"), **common)
    if code == "complete":
        return acceptance.complete(
            session, reply=_text(form, "reply"), business_ref=_text(form, "business_ref"), **common
        )
    if code == "payment":
        return acceptance.confirm_payment(
            session,
            amount=_text(form, "amount"),
            reference=_text(form, "reference"),
            comment=_text(form, "comment"),
            **common,
        )
    changes = values.OrderValues(
        **{k: (_text(form, k) if k in form else None) for k in ORDER_KEYS if k != "subscriber_id"}
    )
    return acceptance.resubmit(session, comment=_text(form, "comment"), changes=changes, **common)


def _done(request: Request, session: Session, actor: Actor, ticket: Any, code: str) -> Response:
    """The ticket as it is now: over htmx the whole ticket fragment, else a redirect to its page."""
    session.flush()
    if not _is_htmx(request):
        return RedirectResponse(f"/tickets/{ticket.id}", status_code=303)
    session.refresh(ticket)
    notice = i18n.gettext("Done: %(action)s") % {"action": i18n.gettext(ACTION_LABELS[code])}
    context = {
        **views.detail(session, actor, ticket),
        "errors": {},
        "failed": "",
        "values": {},
        "notice": notice,
    }
    headers = {"HX-Trigger": CHANGED, "HX-Retarget": "#ticket-detail", "HX-Reswap": "outerHTML"}
    return render(request, "tickets/tickets/_detail.html", context, headers=headers)


def _action_route(code: str) -> Any:
    def route(
        request: Request, session: SessionDep, actor: Requires(HANDLE, MANAGE), ticket_id: int, form: FormDep
    ) -> Response:
        ticket, row = acceptance.load(session, actor, ticket_id)
        try:
            _step(code, session, actor, ticket, row, form)
        except KefuError as exc:
            if exc.status_code not in (403, 409, 422):
                raise
            session.rollback()
            shown = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
            return _panel(
                request,
                session,
                actor,
                ticket_id,
                status=exc.status_code,
                errors=field_errors(exc),
                values_=shown,
                failed=code,
            )
        return _done(request, session, actor, ticket, code)

    route.__name__ = f"acceptance_{code}_page"
    route.__doc__ = f"{code.capitalize()} the order from its panel (same service call as the API)."
    return route


for _code in ACTION_LABELS:
    router.post(f"/{{ticket_id}}/acceptance/{_code}")(_action_route(_code))
