"""Proactive-service batches (主动服务, CON-9): fee notices (费用通知), payment reminders (费用催缴),
service notices, callbacks (业务回访) and promotions (业务推广) sent from one template to a selection
of customers or an uploaded list.

A batch is created as a draft — checked whole, nothing written on an error — previewed (how many
recipients, the first messages as they will read), started (`messaging.batch.run`, the channel's
gateway on), then resolved in the background (`batch_run`) and delivered by the outbox. Cancelling
withdraws what is still queued. Progress and results are counted from the batch's outbox rows
(exported by `batch_export`).

Batches are seen within the data scope of `messaging.batch.view` (own / department / all), and run
within `messaging.batch.run`'s. The customers a batch reaches are those its *creator* may see
(`customers.customer.view`), whoever starts it: the creator chose the selection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock, jobs
from kefu.core.errors import Conflict, FieldError, FieldErrors, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.customers.models import Customer
from kefu.messaging import batch_run, batch_selection, labels, outbox, render
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
from kefu.messaging.permissions import BATCH_RUN, BATCH_VIEW, FUNCTION
from kefu.tickets.models import BusinessCategory

BATCH_KINDS = (
    TemplateKind.FEE_NOTICE,
    TemplateKind.PAYMENT_REMINDER,
    TemplateKind.SERVICE_NOTICE,
    TemplateKind.CALLBACK,
    TemplateKind.PROMOTION,
)
MODE = Batch.selection["mode"].as_string()  # "filter" or "list", read without loading the selection
SAMPLE_SIZE = 5

REQUIRED = lazy("This field is required")
CHOOSE = lazy("Choose one of the offered values")
TOO_LONG = lazy("At most %(max)s characters")
WRONG_KIND = lazy("Choose a template of this kind of batch, or a general one")
NOT_A_VALUE = lazy("%(name)s is not a value of notices; use one of: %(names)s")
ONLY_DRAFT = lazy("Only a draft batch can be started")
ALREADY_ENDED = lazy("This batch has ended and cannot be cancelled")

# The kinds a batch may be, named as everywhere in messaging.
KIND_LABELS = {
    kind: labels.KIND_LABELS[kind]
    for kind in (
        TemplateKind.FEE_NOTICE,
        TemplateKind.PAYMENT_REMINDER,
        TemplateKind.SERVICE_NOTICE,
        TemplateKind.CALLBACK,
        TemplateKind.PROMOTION,
    )
}
STATUS_LABELS = {
    BatchStatus.DRAFT: lazy("Draft"),
    BatchStatus.RUNNING: lazy("Running"),
    BatchStatus.DONE: lazy("Done"),
    BatchStatus.CANCELLED: lazy("Cancelled"),
}
MESSAGE_STATUS_LABELS = labels.STATUS_LABELS
SKIP_LABELS = labels.SKIP_LABELS


def view_permission(actor: Actor) -> str:
    """Whose batches one sees: `view`'s data scope, or, for a runner without it, `run`'s."""
    return BATCH_VIEW if actor.can(BATCH_VIEW) else BATCH_RUN


# --- create -----------------------------------------------------------------------------------------


def _enum(cls: Any, raw: Any, field_name: str, errors: list[FieldError], offered: tuple[Any, ...]) -> Any:
    try:
        value = cls(str(raw or ""))
    except ValueError:
        errors.append(FieldError(field_name, CHOOSE))
        return None
    if value not in offered:
        errors.append(FieldError(field_name, CHOOSE))
        return None
    return value


def _optional_id(raw: Any) -> int | bool | None:
    """An id, None when empty, False when not a whole number."""
    if raw in (None, ""):
        return None
    text = str(raw).strip()
    return int(text) if text.isdigit() and len(text) < 19 else False


def _template(
    session: Session, raw: Any, channel: Channel | None, kind: TemplateKind | None, errors: list[FieldError]
) -> MessageTemplate | None:
    template_id = _optional_id(raw)
    if template_id is None or template_id is False:
        errors.append(FieldError("template_id", REQUIRED if template_id is None else CHOOSE))
        return None
    if channel is None:
        return None
    try:
        template = outbox.template_for(session, int(template_id), channel)
    except FieldError as exc:
        errors.append(exc)
        return None
    assert template is not None
    if kind is not None and template.kind not in (kind, TemplateKind.GENERAL):
        errors.append(FieldError("template_id", WRONG_KIND))
        return None
    return template


def _shared(raw: Any, errors: list[FieldError]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in (raw or {}).items() if isinstance(raw, Mapping) else ():
        text = "" if value is None else str(value).strip()
        if name not in render.NOTICE_FIELDS:
            errors.append(
                FieldError(f"variables.{name}", NOT_A_VALUE, name=name, names=", ".join(render.NOTICE_FIELDS))
            )
        elif len(text) > batch_selection.VALUE_MAX:
            errors.append(FieldError(f"variables.{name}", TOO_LONG, max=batch_selection.VALUE_MAX))
        elif text:
            found[name] = text
    return found


def create(
    session: Session,
    actor: Actor,
    *,
    name: str,
    kind: Any,
    channel: Any,
    template_id: Any,
    business_category_id: Any = None,
    variables: Mapping[str, Any] | None = None,
    mode: str = "filter",
    filter: Mapping[str, Any] | None = None,
    list_text: str = "",
) -> Batch:
    """A draft batch, checked whole: every field, the selection, and that every value the template
    uses is given. All errors are raised together (FieldErrors); nothing is written then."""
    if not actor.can(BATCH_RUN):
        raise PermissionDenied()
    errors: list[FieldError] = []
    clean_name = (name or "").strip()
    if not clean_name:
        errors.append(FieldError("name", REQUIRED))
    elif len(clean_name) > 100:
        errors.append(FieldError("name", TOO_LONG, max=100))
    batch_kind = _enum(TemplateKind, kind, "kind", errors, BATCH_KINDS)
    batch_channel = _enum(Channel, channel or Channel.SMS.value, "channel", errors, tuple(Channel))
    template = _template(session, template_id, batch_channel, batch_kind, errors)
    category_id = _optional_id(business_category_id)
    if category_id is False or (category_id and session.get(BusinessCategory, category_id) is None):
        errors.append(FieldError("business_category_id", CHOOSE))
    elif category_id is None and template is not None:
        category_id = template.business_category_id
    shared = _shared(variables, errors)
    spec: dict[str, Any] = {}
    if mode == "list":
        if batch_channel is not None:
            spec = batch_selection.parse_list(session, actor, batch_channel, list_text or "", errors)
    elif mode == "filter":
        spec = batch_selection.clean_filter(session, actor, filter or {}, errors)
    else:
        errors.append(FieldError("mode", CHOOSE))
    if template is not None and spec and not errors:
        batch_selection.check_coverage(template, spec, shared, errors)
    if errors:
        raise FieldErrors(errors)
    assert template is not None and batch_kind is not None and batch_channel is not None
    batch = Batch(
        name=clean_name,
        kind=batch_kind,
        channel=batch_channel,
        template_id=template.id,
        business_category_id=category_id or None,
        selection=spec,
        variables=shared,
        status=BatchStatus.DRAFT,
        created_by_id=actor.user.id,
        department_id=actor.user.department_id,
        created_at=clock.now(),
    )
    session.add(batch)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="messaging.batch.create",
        function=FUNCTION,
        target=batch,
        target_label=batch.name,
        summary=batch_selection.describe(spec)[:500],
        after={"kind": batch_kind.value, "channel": batch_channel.value, "template": template.code, **shared},
    )
    return batch


# --- start and cancel -------------------------------------------------------------------------------


def start(session: Session, actor: Actor, batch: Batch) -> Batch:
    """Start a draft: its recipients are resolved and messages queued in the background after commit."""
    if not actor.can(BATCH_RUN):
        raise PermissionDenied()
    if batch.status is not BatchStatus.DRAFT:
        raise Conflict(ONLY_DRAFT)
    outbox.gateway_on(session, batch.channel)
    template = outbox.template_for(session, batch.template_id, batch.channel)
    assert template is not None
    errors: list[FieldError] = []
    batch_selection.check_coverage(
        template, batch.selection, batch.variables, errors
    )  # the template may have changed
    if errors:
        raise FieldErrors(errors)
    batch.status, batch.started_at = BatchStatus.RUNNING, clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="messaging.batch.start",
        function=FUNCTION,
        target=batch,
        target_label=batch.name,
    )
    jobs.enqueue_on_commit(session, batch_run.resolve_task, batch.id)
    return batch


def cancel(session: Session, actor: Actor, batch: Batch) -> Batch:
    """Cancel a draft or a running batch: messages still queued are withdrawn (cancelled)."""
    if not actor.can(BATCH_RUN):
        raise PermissionDenied()
    # Wait for a chunk being resolved (and see its rows); a chunk started later sees the cancel.
    session.execute(select(Batch.id).where(Batch.id == batch.id).with_for_update())
    session.refresh(batch)
    if batch.status not in (BatchStatus.DRAFT, BatchStatus.RUNNING):
        raise Conflict(ALREADY_ENDED)
    withdrawn = batch_run.withdraw(session, batch)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="messaging.batch.cancel",
        function=FUNCTION,
        target=batch,
        target_label=batch.name,
        summary=f"{withdrawn} queued message(s) withdrawn",
    )
    return batch


# --- preview, progress and results -----------------------------------------------------------------


@dataclass
class Sample:
    line: int | None
    customer_id: int | None
    customer_name: str
    recipient: str
    subject: str
    body: str
    skip_reason: SkipReason | None
    note: str


@dataclass
class Preview:
    recipients: int
    samples: list[Sample] = field(default_factory=list)


def planned(session: Session, actor: Actor | None, batch: Batch) -> int:
    """How many recipients the selection resolves to (customers of the filter now, or lines)."""
    if batch_run.is_list(batch):
        return len(batch.selection.get("rows", []))
    if actor is None:
        return 0
    stmt = batch_selection.customers_stmt(session, actor, batch.selection).with_only_columns(Customer.id)
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def preview(session: Session, batch: Batch, *, size: int = SAMPLE_SIZE) -> Preview:
    """The number of recipients and the first `size` messages as they will be sent (or why not) —
    resolved exactly as the run will, with the creator's data scope. Writes nothing."""
    actor = batch_run.creator(session, batch)
    template = session.get(MessageTemplate, batch.template_id)
    found = Preview(recipients=planned(session, actor, batch))
    if actor is None or template is None:
        return found
    targets = batch_run.targets(session, actor, batch, after=0, limit=size)
    ids = [t.customer.id for t in targets if t.customer is not None and t.to is None]
    addresses = batch_selection.addresses(session, batch.channel, ids)
    taken: set[str] = set()
    for target in targets:
        address = addresses.get(target.customer.id) if target.customer is not None else None
        outcome = batch_run.plan(session, actor, batch, template, target, address, taken=taken)
        taken.add(outcome.key)
        found.samples.append(
            Sample(
                line=target.line,
                customer_id=target.customer.id if target.customer else None,
                customer_name=target.customer.name if target.customer else "",
                recipient=outcome.to.shown if outcome.to else "",
                subject=outcome.subject,
                body=outcome.body,
                skip_reason=outcome.skip,
                note=outcome.note,
            )
        )
    return found


@dataclass
class Progress:
    status: BatchStatus
    planned: int  # recipients expected (the total once resolved)
    resolved: int  # outbox rows written so far
    processed: int  # rows whose fate is known (not queued)
    percent: int
    by_status: dict[str, int]
    by_skip_reason: dict[str, int]


def progress(session: Session, batch: Batch) -> Progress:
    rows = session.execute(
        select(Message.status, Message.skip_reason, func.count())
        .where(Message.batch_id == batch.id)
        .group_by(Message.status, Message.skip_reason)
    ).all()
    by_status = {s.value: 0 for s in MessageStatus}
    by_skip = {r.value: 0 for r in SkipReason}
    for status, reason, count in rows:
        by_status[status.value] += count
        if reason is not None:
            by_skip[reason.value] += count
    resolved = sum(by_status.values())
    processed = resolved - by_status[MessageStatus.QUEUED.value]
    if batch.total:
        expected = batch.total
    elif batch.status is BatchStatus.RUNNING:
        expected = max(planned(session, batch_run.creator(session, batch), batch), resolved)
    else:
        expected = resolved
    if batch.status is BatchStatus.DONE:
        percent = 100
    elif expected:
        percent = min(100, processed * 100 // expected)
    else:
        percent = 0
    return Progress(batch.status, expected, resolved, processed, percent, by_status, by_skip)


def results_stmt(
    batch: Batch, *, status: MessageStatus | None = None, skip_reason: SkipReason | None = None
) -> Select[Any]:
    stmt = (
        select(Message, Customer.name, Customer.code)
        .outerjoin(Customer, Customer.id == Message.customer_id)
        .where(Message.batch_id == batch.id)
    )
    if status is not None:
        stmt = stmt.where(Message.status == status)
    if skip_reason is not None:
        stmt = stmt.where(Message.skip_reason == skip_reason)
    return stmt


def results(
    session: Session,
    batch: Batch,
    *,
    status: MessageStatus | None = None,
    skip_reason: SkipReason | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[Message, str | None, str | None]], int]:
    """The batch's messages (with the customer's name and code), in resolution order."""
    stmt = results_stmt(batch, status=status, skip_reason=skip_reason)
    total = (
        session.scalar(select(func.count()).select_from(stmt.with_only_columns(Message.id).subquery())) or 0
    )
    rows = session.execute(stmt.order_by(Message.id).limit(limit).offset(offset)).tuples().all()
    return list(rows), total
