"""Proactive-service pages (主动服务): the batches, a new batch (filter or uploaded list), the batch page
with its preview (a draft) or live progress and results (running, ended). Each action is the same
service call as the API route."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer
from starlette.datastructures import FormData, UploadFile

from kefu.core import i18n
from kefu.core.errors import FieldError, KefuError
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.customers.models import CustomerKind, CustomerStatus, SubscriberKind
from kefu.messaging import access, batch_selection, batches, render, templates
from kefu.messaging.labels import CHANNEL_LABELS, VARIABLE_LABELS
from kefu.messaging.models import (
    Batch,
    BatchStatus,
    Channel,
    Message,
    MessageStatus,
    MessageTemplate,
    SkipReason,
    TemplateKind,
)
from kefu.messaging.permissions import BATCH_RUN, BATCH_VIEW
from kefu.org.config import dictionary_cache
from kefu.web import nav
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import FormDep, field_errors
from kefu.web.templating import render as render_page

router = APIRouter(prefix="/messaging/batches", include_in_schema=False)
nav.section("messaging", "Messaging", 40)
nav.register(
    nav.NavItem(
        "messaging", "Proactive service", "/messaging/batches", "bi-broadcast", (BATCH_VIEW, BATCH_RUN), 30
    )
)
AnyRight = Requires(BATCH_VIEW, BATCH_RUN)

FILE_MAX = 20 * 1024 * 1024
FILE_TOO_LARGE = lazy("The file is too large (at most %(max)s MB)")
UNREADABLE = lazy("The file cannot be read: save it as CSV (UTF-8 or GBK)")
RESULTS_SHOWN = 100

VALUE_LABELS = {name: VARIABLE_LABELS[name] for name in render.NOTICE_FIELDS}
CUSTOMER_KIND_LABELS = {
    CustomerKind.INDIVIDUAL: lazy("Individual"),
    CustomerKind.ENTERPRISE: lazy("Enterprise"),
}
CUSTOMER_STATUS_LABELS = {CustomerStatus.ACTIVE: lazy("Active"), CustomerStatus.CLOSED: lazy("Closed")}


def _labels() -> dict[str, Any]:
    return {
        "kind_labels": batches.KIND_LABELS,
        "status_labels": batches.STATUS_LABELS,
        "message_status_labels": batches.MESSAGE_STATUS_LABELS,
        "skip_labels": batches.SKIP_LABELS,
        "channel_labels": CHANNEL_LABELS,
    }


@router.get("")
def batch_list(request: Request, session: SessionDep, actor: AnyRight, status: str = "") -> Response:
    query = select(Batch).options(defer(Batch.selection))  # a list's selection may hold 50,000 lines
    stmt = access.restrict_batches(query, actor, batches.view_permission(actor))
    chosen = BatchStatus(status) if status in {s.value for s in BatchStatus} else None
    if chosen is not None:
        stmt = stmt.where(Batch.status == chosen)
    rows = list(session.scalars(stmt.order_by(Batch.id.desc()).limit(200)))
    counts: dict[int, dict[str, int]] = {}
    if rows:
        grouped = session.execute(
            select(Message.batch_id, Message.status, func.count())
            .where(Message.batch_id.in_([b.id for b in rows]))
            .group_by(Message.batch_id, Message.status)
        ).all()
        for batch_id, message_status, count in grouped:
            counts.setdefault(batch_id, {})[message_status.value] = count
    ctx = {"batches": rows, "counts": counts, "status": status, "can_run": actor.can(BATCH_RUN), **_labels()}
    return render_page(request, "messaging/messaging/batches.html", ctx)


# --- a new batch ------------------------------------------------------------------------------------


def _options(session: Session) -> dict[str, Any]:
    from kefu.org.departments import department_tree
    from kefu.tickets.setup import service as ticket_setup

    locale, _ = i18n.get_locale(), i18n.gettext
    try:
        tiers = [
            (i.code, i.text(locale)) for i in dictionary_cache.items(session, batch_selection.TIER_DICTIONARY)
        ]
    except KefuError:
        tiers = []
    usable = templates.usable(session, kinds=(*batches.BATCH_KINDS, TemplateKind.GENERAL))
    return {
        "kinds": [(k.value, _(batches.KIND_LABELS[k])) for k in batches.BATCH_KINDS],
        "channels": [(c.value, _(CHANNEL_LABELS[c])) for c in Channel],
        "templates": usable,
        "categories": [
            (c.id, "— " * depth + c.name) for c, depth in ticket_setup.category_tree(session) if c.enabled
        ],
        "departments": [(d.id, "— " * depth + d.name) for d, depth in department_tree(session)],
        "subscriber_kinds": [
            (k.id, k.name)
            for k in session.scalars(
                select(SubscriberKind).where(SubscriberKind.enabled.is_(True)).order_by(SubscriberKind.sort)
            )
        ],
        "tiers": tiers,
        "customer_kinds": [(k.value, _(label)) for k, label in CUSTOMER_KIND_LABELS.items()],
        "customer_statuses": [(s.value, _(label)) for s, label in CUSTOMER_STATUS_LABELS.items()],
        "value_fields": [(name, _(VALUE_LABELS[name])) for name in render.NOTICE_FIELDS],
        "list_columns": batch_selection.LIST_COLUMNS,
        "list_max": batch_selection.LIST_MAX,
    }


def _form_page(
    request: Request,
    session: Session,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    *,
    status: int = 200,
) -> Response:
    errors = errors or {}
    list_errors = [msg for name, msg in errors.items() if name == "list" or name.startswith("list.")]
    ctx = {"values": values, "errors": errors, "list_errors": list_errors, **_options(session), **_labels()}
    return render_page(request, "messaging/messaging/batches_new.html", ctx, status_code=status)


@router.get("/new")
def new_batch(request: Request, session: SessionDep, actor: Requires(BATCH_RUN)) -> Response:
    values = {"mode": "filter", "channel": "sms", "statuses": [CustomerStatus.ACTIVE.value], "variables": {}}
    return _form_page(request, session, values)


def _list_text(form: FormData) -> str:
    upload = form.get("list_file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = upload.file.read(FILE_MAX + 1)
        if len(data) > FILE_MAX:
            raise FieldError("list", FILE_TOO_LARGE, max=FILE_MAX // (1024 * 1024))
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
        raise FieldError("list", UNREADABLE)
    return str(form.get("list") or "")


def _form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {
        k: str(form.get(k) or "")
        for k in ("name", "kind", "channel", "template_id", "business_category_id", "mode", "list")
    }
    values["variables"] = {name: str(form.get(f"variables.{name}") or "") for name in render.NOTICE_FIELDS}
    for name in ("kinds", "statuses", "tiers", "department_ids"):
        values[name] = [str(v) for v in form.getlist(name)]
    for name in ("parent_code", "subscriber_kind_id", "customer_codes"):
        values[name] = str(form.get(name) or "")
    return values


@router.post("")
def create_batch(
    request: Request, session: SessionDep, actor: Requires(BATCH_RUN), form: FormDep
) -> Response:
    values = _form_values(form)
    try:
        list_text = _list_text(form) if values["mode"] == "list" else ""
        batch = batches.create(
            session,
            actor,
            name=values["name"],
            kind=values["kind"],
            channel=values["channel"],
            template_id=values["template_id"],
            business_category_id=values["business_category_id"],
            variables=values["variables"],
            mode=values["mode"],
            filter={
                "kinds": values["kinds"],
                "statuses": values["statuses"],
                "tiers": values["tiers"],
                "department_ids": values["department_ids"],
                "parent_code": values["parent_code"],
                "subscriber_kind_id": values["subscriber_kind_id"],
                "customer_codes": values["customer_codes"],
            },
            list_text=list_text,
        )
    except KefuError as exc:
        session.rollback()
        if len(values["list"]) > 200_000:
            values["list"] = ""  # not sent back into the page; the file has to be chosen again anyway
        return _form_page(request, session, values, field_errors(exc), status=exc.status_code)
    return RedirectResponse(f"/messaging/batches/{batch.id}", status_code=303)


# --- one batch --------------------------------------------------------------------------------------


def _batch_page(
    request: Request,
    session: Session,
    actor: Actor,
    batch: Batch,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
    result_status: str = "",
    skip_reason: str = "",
) -> Response:
    ctx: dict[str, Any] = {
        "batch": batch,
        "errors": errors or {},
        "progress": batches.progress(session, batch),
        "can_run": actor.can(BATCH_RUN),
        "template": session.get(MessageTemplate, batch.template_id),
        "selection": batch_selection.describe(batch.selection),
        "result_status": result_status,
        "skip_reason": skip_reason,
        **_labels(),
    }
    if batch.status is BatchStatus.DRAFT:
        ctx["preview"] = batches.preview(session, batch)
    else:
        message_status = (
            MessageStatus(result_status) if result_status in {s.value for s in MessageStatus} else None
        )
        reason = SkipReason(skip_reason) if skip_reason in {r.value for r in SkipReason} else None
        rows, total = batches.results(
            session, batch, status=message_status, skip_reason=reason, limit=RESULTS_SHOWN
        )
        ctx |= {"results": rows, "results_total": total}
    return render_page(request, "messaging/messaging/batches_detail.html", ctx, status_code=status)


@router.get("/{batch_id}")
def batch_page(
    request: Request,
    session: SessionDep,
    actor: AnyRight,
    batch_id: int,
    status: str = "",
    skip_reason: str = "",
) -> Response:
    batch = access.batch(session, actor, batch_id, batches.view_permission(actor))
    return _batch_page(request, session, actor, batch, result_status=status, skip_reason=skip_reason)


@router.get("/{batch_id}/progress")
def batch_progress(request: Request, session: SessionDep, actor: AnyRight, batch_id: int) -> Response:
    """The progress panel alone (polled every 2 s while the batch runs). Once the batch has ended, a
    poll reloads the whole page, so the results show."""
    batch = access.batch(session, actor, batch_id, batches.view_permission(actor))
    ctx = {"batch": batch, "progress": batches.progress(session, batch), **_labels()}
    polled = request.headers.get("hx-request") == "true"
    headers = {"HX-Refresh": "true"} if polled and batch.status is not BatchStatus.RUNNING else None
    return render_page(request, "messaging/messaging/_batches_progress.html", ctx, headers=headers)


def _act(request: Request, session: Session, actor: Actor, batch_id: int, act: Any) -> Response:
    batch = access.batch(session, actor, batch_id, BATCH_RUN)
    try:
        act(batch)
    except KefuError as exc:
        session.rollback()
        batch = access.batch(session, actor, batch_id, BATCH_RUN)
        return _batch_page(request, session, actor, batch, errors=field_errors(exc), status=exc.status_code)
    return RedirectResponse(f"/messaging/batches/{batch_id}", status_code=303)


@router.post("/{batch_id}/start")
def start_batch(request: Request, session: SessionDep, actor: Requires(BATCH_RUN), batch_id: int) -> Response:
    return _act(request, session, actor, batch_id, lambda b: batches.start(session, actor, b))


@router.post("/{batch_id}/cancel")
def cancel_batch(
    request: Request, session: SessionDep, actor: Requires(BATCH_RUN), batch_id: int
) -> Response:
    return _act(request, session, actor, batch_id, lambda b: batches.cancel(session, actor, b))
