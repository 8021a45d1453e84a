"""Running a proactive-service batch (主动服务) in the background: recipients are resolved in chunks,
each chunk one unit of work, and every recipient becomes one row of the outbox — a queued message, or
a skipped one with the reason (no address, do-not-disturb, a duplicate address, a text that cannot be
sent). The batch's progress and results are counted from those rows.

Resumable and idempotent: a chunk starts after the last customer (filter) or line (list) already
written, and the outbox's unique (batch, recipient key) stops a second resolver that raced the first
from writing anything twice (its chunk rolls back and it stops). A message is therefore queued — and
delivered — at most once per address, however often the job is started; a per-minute sweep resumes
a resolution whose job was lost and finishes batches whose last message went out.

Two customers sharing an address get one message: the second is recorded as skipped (duplicate), so
the results account for every selected customer. Do-not-disturb applies to SMS as for every send;
a batch never overrides a warning — warned numbers are skipped with the entry's reason.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kefu.core import clock, i18n, jobs
from kefu.core.errors import FieldError
from kefu.core.permissions import Actor, build_actor
from kefu.customers import access as customer_access
from kefu.customers.models import Customer
from kefu.db import db
from kefu.messaging import batch_selection, dnd, outbox, render
from kefu.messaging.models import (
    Batch,
    BatchStatus,
    Channel,
    Message,
    MessageStatus,
    MessageTemplate,
    SkipReason,
    Source,
)
from kefu.org.models import User

log = logging.getLogger(__name__)

CHUNK = 500
STALLED = timedelta(minutes=10)  # a resolution without a new row for this long has lost its job
NO_CUSTOMER = {"name": "", "code": "", "tier": ""}


@dataclass(frozen=True)
class Target:
    """One recipient-to-be: a customer of the filter, or a line of the list."""

    customer: Customer | None
    line: int | None = None
    to: outbox.Recipient | None = None  # the address written on the list's line
    values: Mapping[str, str] = field(default_factory=dict)  # the line's values

    @property
    def own_key(self) -> str:
        """The outbox key of a row that has no address of its own (skipped: none, or a duplicate)."""
        if self.line is not None:
            return f"line:{self.line}"
        assert self.customer is not None
        return f"customer:{self.customer.id}"


@dataclass(frozen=True)
class Outcome:
    target: Target
    to: outbox.Recipient | None
    subject: str = ""
    body: str = ""
    skip: SkipReason | None = None
    note: str = ""

    @property
    def key(self) -> str:
        if self.to is None or self.skip is SkipReason.DUPLICATE:
            return self.target.own_key
        return self.to.key


def is_list(batch: Batch) -> bool:
    return batch.selection.get("mode") == "list"


def creator(session: Session, batch: Batch) -> Actor | None:
    """The batch's creator with their rights: whose customers the batch reaches, who signs as agent."""
    user = session.get(User, batch.created_by_id) if batch.created_by_id is not None else None
    return build_actor(session, user) if user is not None else None


def targets(session: Session, actor: Actor, batch: Batch, *, after: int, limit: int) -> list[Target]:
    """The next `limit` targets in the batch's order: customers with an id above `after` (filter), or
    lines from position `after` (list). Customers are those `actor` may see, now."""
    if not is_list(batch):
        stmt = batch_selection.customers_stmt(session, actor, batch.selection)
        customers = session.scalars(stmt.where(Customer.id > after).order_by(Customer.id).limit(limit))
        return [Target(customer=c) for c in customers]
    rows = batch.selection.get("rows", [])[after : after + limit]
    ids = sorted({r["customer_id"] for r in rows if r.get("customer_id") is not None})
    found: dict[int, Customer] = {}
    if ids:
        stmt = customer_access.restrict(select(Customer).where(Customer.id.in_(ids)), actor)
        found = {c.id: c for c in session.scalars(stmt)}
    channel = Channel(batch.channel)
    return [
        Target(
            customer=found.get(r["customer_id"]) if r.get("customer_id") is not None else None,
            line=r["line"],
            to=outbox.Recipient(channel, r["to"], r["key"]) if r.get("key") else None,
            values=r.get("values", {}),
        )
        for r in rows
    ]


def plan(
    session: Session,
    actor: Actor | None,
    batch: Batch,
    template: MessageTemplate,
    target: Target,
    address: outbox.Recipient | None,
    *,
    taken: set[str],
) -> Outcome:
    """What becomes of one target: the rendered message, or why it is skipped. Writes nothing."""
    to = target.to or address
    if to is None:
        return Outcome(target, None, skip=SkipReason.NO_ADDRESS)
    if to.key in taken:
        return Outcome(target, to, skip=SkipReason.DUPLICATE, note=to.shown)
    if batch.channel is Channel.SMS:
        verdict = dnd.check(session, to.key, batch.business_category_id)
        if verdict.mode is not None:
            return Outcome(target, to, skip=SkipReason.DND, note=f"{verdict.mode.value}: {verdict.reason()}")
    values: dict[str, Any] = {k: v for k, v in batch.variables.items() if v}
    values.update({k: v for k, v in target.values.items() if v})
    context = outbox.context(session, actor=actor, to=to, customer=target.customer, values=values)
    context.setdefault("customer", NO_CUSTOMER)
    try:
        body = render.render(template.body, context)
        subject = (
            render.render(template.subject, context, field="subject") if to.channel is Channel.EMAIL else ""
        )
    except FieldError as exc:
        return Outcome(target, to, skip=SkipReason.INVALID, note=exc.render(i18n.gettext))
    return Outcome(target, to, subject=subject, body=body)


def write(session: Session, actor: Actor, batch: Batch, outcome: Outcome) -> Message:
    """One outbox row for the outcome: queued for delivery after commit, or skipped with its reason."""
    target = outcome.target
    if outcome.skip is None and outcome.to is not None:
        try:
            message = outbox.queue(
                session,
                actor,
                channel=batch.channel,
                to=outcome.to,
                body=outcome.body,
                subject=outcome.subject,
                source=Source.BATCH,
                customer_id=target.customer.id if target.customer else None,
                template_id=batch.template_id,
                business_category_id=batch.business_category_id,
                batch_id=batch.id,
                department_id=batch.department_id,
            )
        except (
            FieldError
        ) as exc:  # refused after all (too long, no subject, a do-not-disturb entry just added)
            reason = SkipReason.DND if exc.field in ("to", "confirm_dnd") else SkipReason.INVALID
            outcome = replace(outcome, skip=reason, note=exc.render(i18n.gettext))
    if outcome.skip is not None:
        message = outbox.skip(
            session,
            channel=batch.channel,
            shown=outcome.to.shown if outcome.to else (target.customer.name if target.customer else ""),
            key=outcome.key,
            reason=outcome.skip,
            note=outcome.note,
            source=Source.BATCH,
            batch_id=batch.id,
            customer_id=target.customer.id if target.customer else None,
            template_id=batch.template_id,
            business_category_id=batch.business_category_id,
            actor=actor,
        )
        message.department_id = batch.department_id
    message.reference = str(target.line) if target.line is not None else ""
    return message


def _claim(session: Session, batch_id: int) -> Batch | None:
    """The batch if it is still being resolved, write-locked for this unit of work (a cancel waits
    for the chunk, and a chunk started after a cancel sees it), else None."""
    result = session.execute(
        update(Batch)
        .where(Batch.id == batch_id, Batch.status == BatchStatus.RUNNING, Batch.total == 0)
        .values(status=BatchStatus.RUNNING)
    )
    if not getattr(result, "rowcount", 0):
        return None
    return session.get(Batch, batch_id)


def _cursor(session: Session, batch: Batch) -> int:
    """Where resolution resumes: lines written (a list, one row per line), or the last customer."""
    if is_list(batch):
        return (
            session.scalar(select(func.count()).select_from(Message).where(Message.batch_id == batch.id)) or 0
        )
    return session.scalar(select(func.max(Message.customer_id)).where(Message.batch_id == batch.id)) or 0


def _chunk(
    session: Session, actor: Actor, batch: Batch, template: MessageTemplate, found: list[Target]
) -> int:
    customer_ids = [t.customer.id for t in found if t.customer is not None and t.to is None]
    addresses = batch_selection.addresses(session, batch.channel, customer_ids)
    done: set[int | None] = set()
    if not is_list(batch) and customer_ids:
        done = set(
            session.scalars(
                select(Message.customer_id).where(
                    Message.batch_id == batch.id, Message.customer_id.in_(customer_ids)
                )
            )
        )
    keys = {t.to.key for t in found if t.to} | {a.key for a in addresses.values()}
    taken: set[str] = set()
    if keys:
        taken = set(
            session.scalars(
                select(Message.recipient_key).where(
                    Message.batch_id == batch.id, Message.recipient_key.in_(keys)
                )
            )
        )
    written = 0
    for target in found:
        if target.line is None and target.customer is not None and target.customer.id in done:
            continue
        address = addresses.get(target.customer.id) if target.customer is not None else None
        outcome = plan(session, actor, batch, template, target, address, taken=taken)
        write(session, actor, batch, outcome)
        taken.add(outcome.key)
        written += 1
    session.flush()
    return written


def withdraw(session: Session, batch: Batch, *, error: str = "") -> int:
    """End the batch (cancelled): its queued messages are withdrawn. Returns how many."""
    result = session.execute(
        update(Message)
        .where(Message.batch_id == batch.id, Message.status == MessageStatus.QUEUED)
        .values(status=MessageStatus.CANCELLED, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    batch.status, batch.finished_at = BatchStatus.CANCELLED, clock.now()
    if error:
        batch.error = error
    return int(getattr(result, "rowcount", 0) or 0)


def _finish(session: Session, batch: Batch) -> None:
    """Every recipient is resolved: the total is fixed; the batch is done once nothing is queued."""
    total = session.scalar(select(func.count()).select_from(Message).where(Message.batch_id == batch.id)) or 0
    batch.total = total
    if not total:
        batch.status, batch.finished_at = BatchStatus.DONE, clock.now()
    else:
        outbox.finish_batch_if_done(session, batch.id)


def resolve(batch_id: int, *, chunk_size: int = CHUNK) -> int:
    """Resolve the running batch's recipients into the outbox, chunk by chunk; returns the rows written
    by this call (0 when there is nothing left to do). Safe to call again at any time."""
    written = 0
    while True:
        try:
            with db.unit_of_work() as session:
                batch = _claim(session, batch_id)
                if batch is None:
                    return written
                actor = creator(session, batch)
                template = session.get(MessageTemplate, batch.template_id)
                if actor is None or template is None:
                    withdraw(
                        session, batch, error="The creator or the template of the batch no longer exists"
                    )
                    return written
                found = targets(session, actor, batch, after=_cursor(session, batch), limit=chunk_size)
                if not found:
                    _finish(session, batch)
                    return written
                written += _chunk(session, actor, batch, template, found)
        except IntegrityError:
            # Another resolver wrote this chunk first: it carries on, this one stops.
            log.info("batch %s: another resolver is at work; stopping this one", batch_id)
            return written


resolve_task = jobs.task(name="messaging.batch_resolve")(resolve)


def sweep() -> int:
    """Finish running batches whose messages all went out, and resume resolutions that stalled (their
    job was lost in a restart). Returns how many resolutions were resumed."""
    now = clock.now()
    stalled: list[int] = []
    with db.unit_of_work() as session:
        running = session.execute(
            select(Batch.id, Batch.total, Batch.started_at).where(Batch.status == BatchStatus.RUNNING)
        ).all()
        for batch_id, total, started_at in running:
            if total:
                outbox.finish_batch_if_done(session, batch_id)
                continue
            last = session.scalar(select(func.max(Message.created_at)).where(Message.batch_id == batch_id))
            if (last or started_at or now) <= now - STALLED:
                stalled.append(batch_id)
    for batch_id in stalled:
        resolve_task(batch_id)
    return len(stalled)


@jobs.periodic(jobs.crontab(minute="*"), name="messaging.batch_sweep")
def sweep_job() -> int:
    return sweep()
