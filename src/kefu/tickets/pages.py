"""Ticket pages (工单): the personal workbench (个人工作台, TKT-6) with live box counts and a side panel,
one ticket with exactly the actions its reader may take now (TKT-5, TKT-7, TKT-8) and its processing
log (TKT-9), and registration (信息登录, TKT-4).

Every form posts to a page route that calls the same service function as the JSON API. Bad input
re-shows the form with the message beside the field (422); a stale `version` re-shows the ticket with
the conflict (409). Forms post over htmx where it runs: the answer is the ticket's fragment with an
`HX-Trigger: ticketChanged` header, on which the workbench reloads its list and counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from kefu.core import i18n
from kefu.core.errors import FieldError, KefuError, NotFound
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.tickets import access, attachments, formdef, queries, service, tracking
from kefu.tickets import page_views as views
from kefu.tickets.api import ANY_TICKET_RIGHT, CREATE, DISPATCH, HANDLE, MANAGE, TRACK, URGE
from kefu.tickets.models import CaseTemplate, Ticket, TicketType
from kefu.web import nav
from kefu.web.deps import CurrentActor, Requires, SessionDep, require
from kefu.web.forms import FormDep, field_errors, optional_int
from kefu.web.templating import env, render

env.filters["ticket_status"] = views.ticket_status

router = APIRouter(prefix="/tickets", include_in_schema=False)
nav.register(nav.NavItem("workbench", "Workbench", "/tickets", "bi-briefcase", ANY_TICKET_RIGHT, 12))
nav.register(nav.NavItem("workbench", "Register ticket", "/tickets/new", "bi-pencil-square", (CREATE,), 14))

AnyRight = Requires(*ANY_TICKET_RIGHT)
# Box → (tab label, the permission that makes the box useful; None: always shown).
BOXES: dict[str, tuple[str, str | None]] = {
    "todo": (lazy("My to-do"), HANDLE),
    "pool": (lazy("Department pool"), HANDLE),
    "dispatch": (lazy("To dispatch"), DISPATCH),
    "done": (lazy("Done by me"), HANDLE),
    "created": (lazy("Registered by me"), CREATE),
    "tracked": (lazy("Tracked by me"), TRACK),
    "all": (lazy("All"), None),
}
PAGE_SIZE = 50
CHANGED = "ticketChanged"


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def _text(form: Any, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


# --- the workbench -------------------------------------------------------------------------------------


def _boxes(actor: Actor) -> list[tuple[str, str]]:
    return [(code, label) for code, (label, perm) in BOXES.items() if perm is None or actor.can(perm)]


def _box(actor: Actor, box: str) -> str:
    shown = [code for code, _label in _boxes(actor)]
    return box if box in shown else shown[0]


def _list_context(session: Session, actor: Actor, box: str, offset: int) -> dict[str, Any]:
    offset = max(0, offset)
    rows = queries.workbench(session, actor, box=box, limit=PAGE_SIZE + 1, offset=offset)
    return {
        "box": box,
        "offset": offset,
        "page_size": PAGE_SIZE,
        "more": len(rows) > PAGE_SIZE,
        "rows": views.list_rows(session, rows[:PAGE_SIZE]),
    }


@router.get("")
def workbench(
    request: Request, session: SessionDep, actor: AnyRight, box: str = "todo", offset: int = 0
) -> Response:
    """The personal workbench: a tab per box with its count; a click opens a ticket beside the list."""
    box = _box(actor, box)
    context = {
        "boxes": _boxes(actor),
        "counts": queries.counts(session, actor),
        **_list_context(session, actor, box, offset),
    }
    return render(request, "tickets/tickets/workbench.html", context)


@router.get("/list")
def box_list(
    request: Request, session: SessionDep, actor: AnyRight, box: str = "todo", offset: int = 0
) -> Response:
    """One box's list (the fragment a tab or a `ticketChanged` reloads)."""
    context = _list_context(session, actor, _box(actor, box), offset)
    return render(request, "tickets/tickets/_list.html", context)


@router.get("/counts")
def box_counts(request: Request, session: SessionDep, actor: AnyRight) -> Response:
    """The count badges, swapped in out of band (live on new messages, every minute as a fallback)."""
    context = {"counts": queries.counts(session, actor), "boxes": _boxes(actor), "oob": True}
    return render(request, "tickets/tickets/_counts.html", context)


# --- registration (信息登录) ------------------------------------------------------------------------


def _enabled_types(session: Session) -> list[TicketType]:
    """The types registered here: business acceptance types have a form of their own (业务受理)."""
    from kefu.tickets.acceptance_flows import FLOW_CODES
    from kefu.workflow.models import FlowTemplate

    acceptance = select(FlowTemplate.id).where(FlowTemplate.code.in_(FLOW_CODES.values()))
    stmt = (
        select(TicketType)
        .where(TicketType.enabled.is_(True), TicketType.flow_template_id.not_in(acceptance))
        .order_by(TicketType.sort, TicketType.name)
    )
    return list(session.scalars(stmt))


def _register_page(
    request: Request,
    session: Session,
    *,
    ticket_type: TicketType | None,
    case: CaseTemplate | None,
    values: dict[str, str],
    fields: dict[str, Any] | None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    errors = dict(errors or {})
    elements: list[formdef.ElementDef] = []
    if ticket_type is not None:
        try:
            elements = service.effective_form(session, ticket_type)
        except FieldError as exc:
            errors.setdefault(exc.field, exc.render(i18n.gettext))
    if fields is None:  # a fresh form: the elements' defaults
        fields = {e.code: list(e.default) if isinstance(e.default, tuple) else e.default for e in elements}
    context = {
        "types": _enabled_types(session),
        "ticket_type": ticket_type,
        "case": case,
        "cases": views.case_templates(session, ticket_type),
        "values": values,
        "inputs": views.field_inputs(session, elements, fields),
        "errors": errors,
        **views.registration_options(session),
    }
    fragment = _is_htmx(request) and request.headers.get("hx-target") == "register-form"
    template = "tickets/tickets/_register_form.html" if fragment else "tickets/tickets/new.html"
    return render(request, template, context, status_code=status)


def _chosen_type(session: Session, raw: object) -> TicketType | None:
    type_id = optional_int(raw)
    found = session.get(TicketType, type_id) if type_id is not None else None
    return found if found is not None and found.enabled else None


def _chosen_case(session: Session, ticket_type: TicketType | None, raw: object) -> CaseTemplate | None:
    case_id = optional_int(raw)
    case = session.get(CaseTemplate, case_id) if case_id is not None else None
    if case is None or ticket_type is None or case.type_id != ticket_type.id or not case.enabled:
        return None
    return case


@router.get("/new")
def register_form(request: Request, session: SessionDep, actor: Requires(CREATE)) -> Response:
    """The registration form. htmx reloads it when the type or the case template changes (`changed`):
    a case template fills in its subject, description, urgency, nature and fields."""
    params = request.query_params
    changed = params.get("changed", "")
    ticket_type = _chosen_type(session, params.get("type_id"))
    if ticket_type is None and not params.get("type_id"):
        types = _enabled_types(session)
        ticket_type = types[0] if len(types) == 1 else None
    case = None if changed == "type" else _chosen_case(session, ticket_type, params.get("case_template_id"))
    values = {key: params.get(key, "") for key in views.REGISTER_KEYS}
    fields: dict[str, Any] | None = None
    if changed == "case" and ticket_type is not None:
        elements = views.elements_or_none(session, ticket_type)
        fields = formdef.form_values(elements, params, prefix="fields-")
    if case is not None and (changed == "case" or "subject" not in params):
        values, fields = views.apply_case(session, ticket_type, case, values, fields)
    if "channel" not in params:  # a fresh form: the first channel, the type's urgency
        channels = views.options(session, views.CHANNEL)
        values["channel"] = channels[0][0] if channels else ""
    if not values["priority"] and ticket_type is not None:
        values["priority"] = ticket_type.default_priority
    return _register_page(request, session, ticket_type=ticket_type, case=case, values=values, fields=fields)


def _uploads(session: Session, actor: Actor, form: FormData, name: str) -> list[int]:
    """Store the files of input `name`; their attachment ids (errors name the input)."""
    ids = []
    for item in form.getlist(name):
        if not isinstance(item, UploadFile) or not item.filename:
            continue  # an empty file input still sends a nameless part
        try:
            row = attachments.upload(
                session, actor=actor, filename=item.filename, content_type=item.content_type, stream=item.file
            )
        except FieldError as exc:
            raise FieldError(name, exc.message, **exc.params) from None
        ids.append(row.id)
    return ids


@router.post("/new")
def register(request: Request, session: SessionDep, actor: Requires(CREATE), form: FormDep) -> Response:
    """Register the ticket; 303 to it, or the form again with every message beside its field (422)."""
    ticket_type = _chosen_type(session, form.get("type_id"))
    case = _chosen_case(session, ticket_type, form.get("case_template_id"))
    values = {key: _text(form, key) for key in views.REGISTER_KEYS}
    elements = views.elements_or_none(session, ticket_type)
    fields = formdef.form_values(elements, form, prefix="fields-")
    files: dict[str, list[int]] = {e.code: [] for e in elements if e.type is formdef.ElementType.ATTACHMENT}
    try:
        if ticket_type is None:
            raise FieldError("type_id", "Choose a ticket type")
        for code in files:
            fields[code] = _uploads(session, actor, form, f"fields-{code}")
        # The files of attachment fields are the ticket's files too (the field keeps their ids).
        attachment_ids = [i for code in files for i in fields[code]]
        attachment_ids += _uploads(session, actor, form, "files")
        ticket = service.register(
            session,
            actor=actor,
            ticket_type=ticket_type,
            case_template=case,
            channel=values["channel"],
            subject=values["subject"],
            description=values["description"],
            priority=values["priority"] or None,
            nature=values["nature"] or None,
            customer_name=values["customer_name"],
            customer_phone=values["customer_phone"],
            customer_email=values["customer_email"],
            department_id=optional_int(values["department_id"]),
            customer_id=optional_int(values["customer_id"]),
            contact_id=optional_int(values["contact_id"]),
            fields=fields,
            attachment_ids=attachment_ids,
        )
    except KefuError as exc:
        if exc.status_code not in (409, 422):
            raise
        session.rollback()
        errors = {_field_key(k): v for k, v in field_errors(exc).items()}
        shown = {**fields, **files}  # files cannot be shown again: they are chosen anew
        return _register_page(
            request,
            session,
            ticket_type=ticket_type,
            case=case,
            values=values,
            fields=shown,
            errors=errors,
            status=exc.status_code,
        )
    return RedirectResponse(f"/tickets/{ticket.id}", status_code=303)


def _field_key(field: str) -> str:
    return "files" if field == "attachment_ids" else field


# --- one ticket ------------------------------------------------------------------------------------------


def _show(
    request: Request,
    session: Session,
    actor: Actor,
    ticket: Ticket,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    session.flush()
    session.refresh(ticket)
    context = {**views.detail(session, actor, ticket), "errors": {}, "failed": "", "values": {}, **extra}
    failed = context["failed"]
    if failed and failed not in {a.key for a in context["actions"]}:  # posted without its step
        code = failed.rsplit("-", 1)[0]
        context["failed"] = next((a.key for a in context["actions"] if a.code == code), "")
    template = "tickets/tickets/_detail.html" if _is_htmx(request) else "tickets/tickets/ticket.html"
    return render(request, template, context, status_code=status, headers=headers)


@router.get("/{ticket_id}")
def ticket_page(request: Request, session: SessionDep, actor: AnyRight, ticket_id: int) -> Response:
    """A ticket: facts, custom fields, the action area, the processing log, files and the flow.
    The full page, or (for htmx) the fragment the workbench shows in its side panel."""
    return _show(request, session, actor, access.load(session, actor, ticket_id))


Step = Callable[[Session, Actor, Ticket, FormData], Any]


def _version(form: FormData) -> int:
    found = optional_int(form.get("version"))
    return found if found is not None else -1  # a form without its version is stale by definition


def _step_args(form: FormData) -> dict[str, Any]:
    return {"expected_version": _version(form), "comment": _text(form, "comment")}


def _accept(session: Session, actor: Actor, ticket: Ticket, form: FormData) -> Any:
    return service.accept(
        session,
        actor=actor,
        ticket=ticket,
        expected_version=_version(form),
        task_id=optional_int(form.get("task_id")),
    )


def _complete(session: Session, actor: Actor, ticket: Ticket, form: FormData) -> Any:
    return service.complete(
        session,
        actor=actor,
        ticket=ticket,
        state=_text(form, "state") or None,
        task_id=optional_int(form.get("task_id")),
        attachment_ids=_uploads(session, actor, form, "files"),
        **_step_args(form),
    )


def _reply(session: Session, actor: Actor, ticket: Ticket, form: FormData) -> Any:
    files = _uploads(session, actor, form, "files")
    return service.reply(session, actor=actor, ticket=ticket, attachment_ids=files, **_step_args(form))


def _transfer(session: Session, actor: Actor, ticket: Ticket, form: FormData) -> Any:
    to_person = _text(form, "to") == "user"
    return service.transfer(
        session,
        actor=actor,
        ticket=ticket,
        user_id=optional_int(form.get("user_id")) if to_person else None,
        department_id=None if to_person else optional_int(form.get("department_id")),
        task_id=optional_int(form.get("task_id")),
        **_step_args(form),
    )


def _hand_back(session: Session, actor: Actor, ticket: Ticket, form: FormData) -> Any:
    return service.hand_back(session, actor=actor, ticket=ticket, **_step_args(form))


def _dispatch(session: Session, actor: Actor, ticket: Ticket, form: FormData) -> Any:
    user_id = optional_int(form.get("user_id"))
    if user_id is None:
        raise FieldError("user_id", "Choose a person")
    return service.dispatch(
        session,
        actor=actor,
        ticket=ticket,
        task_id=optional_int(form.get("task_id")) or 0,
        user_id=user_id,
        **_step_args(form),
    )


def _managed(step: Callable[..., Any]) -> Step:
    return lambda session, actor, ticket, form: step(session, actor=actor, ticket=ticket, **_step_args(form))


def _urge(session: Session, actor: Actor, ticket: Ticket, form: FormData) -> Any:
    return tracking.urge(session, actor=actor, ticket=ticket, comment=_text(form, "comment"))


def _track(session: Session, actor: Actor, ticket: Ticket, form: FormData) -> Any:
    return tracking.track(session, actor=actor, ticket=ticket)


def _follow_up(session: Session, actor: Actor, ticket: Ticket, form: FormData) -> Any:
    return tracking.follow_up(
        session, actor=actor, ticket=ticket, note=_text(form, "note"), result=_text(form, "result")
    )


# Action code → (URL segment, the gate of the matching API route, the step).
ACTIONS: dict[str, tuple[str, tuple[str, ...], Step]] = {
    "accept": ("accept", (HANDLE,), _accept),
    "complete": ("complete", (HANDLE,), _complete),
    "reply": ("reply", (HANDLE,), _reply),
    "transfer": ("transfer", (HANDLE, DISPATCH), _transfer),
    "hand_back": ("hand-back", (HANDLE,), _hand_back),
    "dispatch": ("dispatch", (DISPATCH,), _dispatch),
    "suspend": ("suspend", (MANAGE,), _managed(service.suspend)),
    "resume": ("resume", (MANAGE,), _managed(service.resume)),
    "cancel": ("cancel", (MANAGE,), _managed(service.cancel)),
    "reopen": ("reopen", (MANAGE,), _managed(service.reopen)),
    "urge": ("urge", (URGE,), _urge),
    "track": ("track", (TRACK,), _track),
    "follow_up": ("follow-up", (TRACK,), _follow_up),
}


def _act(code: str, step: Step) -> Callable[..., Response]:
    def route(
        request: Request, session: SessionDep, actor: CurrentActor, ticket_id: int, form: FormDep
    ) -> Response:
        ticket = access.load(session, actor, ticket_id)
        try:
            step(session, actor, ticket, form)
        except KefuError as exc:
            if exc.status_code not in (403, 409, 422):
                raise
            session.rollback()
            return _failed(request, session, actor, ticket_id, code, form, exc)
        return _done(request, session, actor, ticket, code)

    route.__name__ = f"ticket_{code}_page"
    route.__doc__ = (
        f"{code.replace('_', ' ').capitalize()} from the ticket page (same service call as the API)."
    )
    return route


def _failed(
    request: Request,
    session: Session,
    actor: Actor,
    ticket_id: int,
    code: str,
    form: FormData,
    exc: KefuError,
) -> Response:
    """The ticket again: a conflict or refusal at the top, bad input beside the field of its form."""
    ticket = access.load(session, actor, ticket_id)
    errors = {_field_key(k): v for k, v in field_errors(exc).items()}
    if not isinstance(exc, FieldError):
        errors = {"_": errors.popitem()[1]}
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    failed = views.action_key(code, optional_int(form.get("task_id"))) if isinstance(exc, FieldError) else ""
    return _show(
        request, session, actor, ticket, status=exc.status_code, errors=errors, failed=failed, values=values
    )


def _done(request: Request, session: Session, actor: Actor, ticket: Ticket, code: str) -> Response:
    """After an action: the ticket as it is now — or, if it left the reader's sight, the workbench."""
    session.flush()
    try:
        ticket = access.load(session, actor, ticket.id)
    except NotFound:
        if not _is_htmx(request):
            return RedirectResponse("/tickets", status_code=303)
        return render(request, "tickets/tickets/_gone.html", {}, headers={"HX-Trigger": CHANGED})
    if not _is_htmx(request):
        return RedirectResponse(f"/tickets/{ticket.id}", status_code=303)
    notice = i18n.gettext("Done: %(action)s") % {"action": i18n.gettext(views.ACTION_LABELS[code])}
    return _show(request, session, actor, ticket, headers={"HX-Trigger": CHANGED}, notice=notice)


for _code, (_segment, _gate, _step) in ACTIONS.items():
    router.post(f"/{{ticket_id}}/{_segment}", dependencies=[Depends(require(*_gate))])(_act(_code, _step))
