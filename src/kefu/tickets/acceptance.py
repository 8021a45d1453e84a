"""Business acceptance orders (业务受理申请单, TKT-15): registering an order and acting on it.

An order is a ticket of an acceptance type plus its `ticket_acceptance` row. Every action here is a
ticket action underneath — lock is accept (签收 / 抢单), the handler's reply and rejection, the payment
confirmation and the resubmission complete the current step with its state — so the ticket's version
check, processing log, audit and notifications all apply, and the order's state follows from the flow
(`acceptance_hooks`). What an action adds is its precondition (a legal state, the lock held by the
actor), the order's own data (amount and reference, reply and back-office number, corrections), and
its audit. Unlocking gives the taken step back to its pool (the holder, or a manager with a reason).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock, i18n
from kefu.core.errors import Conflict, FieldError, FieldErrors, NotFound, PermissionDenied
from kefu.core.permissions import Actor
from kefu.org.config import dictionary_cache
from kefu.org.models import Department
from kefu.tickets import acceptance_hooks, access, customer_profile, formvalues, service
from kefu.tickets import acceptance_values as values
from kefu.tickets.acceptance_flows import (
    DONE,
    PAID,
    REJECT,
    RESUBMIT,
    acceptance_types,
    ensure_acceptance_types,
    mode_of,
)
from kefu.tickets.acceptance_models import AcceptanceState, PaymentMode, TicketAcceptance
from kefu.tickets.models import Ticket, TicketStatus, TicketType
from kefu.workflow.runtime import service as runtime
from kefu.workflow.runtime.models import FlowInstance, FlowTask

CREATE, HANDLE, MANAGE = service.CREATE, service.HANDLE, service.MANAGE
CONFIG_EDIT = "tickets.config.edit"
SERVICE_NATURE = "service_request"  # the case nature 业务办理 of the seeded dictionary
ORDER_FIELDS = (
    "kind",
    "subscriber_id",
    "service_no",
    "address",
    "fee",
    "appointment_date",
    "appointment_window",
)
# Which actions each state allows (the rest of each precondition is checked by the action).
ALLOWED: dict[str, frozenset[AcceptanceState]] = {
    "lock": frozenset({AcceptanceState.PENDING}),
    "unlock": frozenset({AcceptanceState.LOCKED}),
    "reject": frozenset({AcceptanceState.LOCKED}),
    "complete": frozenset({AcceptanceState.LOCKED}),
    "payment": frozenset({AcceptanceState.PENDING, AcceptanceState.LOCKED}),
    "resubmit": frozenset({AcceptanceState.REJECTED}),
}


def load(session: Session, actor: Actor, ticket_id: int) -> tuple[Ticket, TicketAcceptance]:
    """The order if `actor` may see its ticket, else 404 (also for a ticket that is no order)."""
    ticket = access.load(session, actor, ticket_id)
    row = acceptance_hooks.find(session, ticket.id)
    if row is None:
        raise NotFound()
    return ticket, row


def set_up_types(session: Session, *, actor: Actor, department_id: int | None) -> dict[str, TicketType]:
    """`ensure_acceptance_types` for an administrator of ticket configuration, audited (the two flows
    are fixed, so publishing them needs no flow-designer right); `department_id` must name an active
    department."""
    service.require(actor, CONFIG_EDIT)
    if department_id is not None:
        dept = session.get(Department, department_id)
        if dept is None or not dept.enabled:
            raise FieldError("department_id", "Choose an active department")
    made = ensure_acceptance_types(session, actor=actor, department_id=department_id)
    audit.record(
        session,
        actor=actor,
        action="acceptance.setup",
        function="tickets.config",
        target_type="ticket_type",
        summary=", ".join(t.code for t in made.values()),
        after={mode: t.id for mode, t in made.items()},
    )
    return made


# --- registration ----------------------------------------------------------------------------------------


def _type(
    session: Session, type_id: int | None, mode: Any, errors: list[FieldError]
) -> tuple[TicketType, PaymentMode] | None:
    wanted: PaymentMode | None = None
    if mode not in (None, ""):
        try:
            wanted = values.payment_mode(mode)
        except FieldError as exc:
            errors.append(exc)
            return None
    if type_id is not None:
        found = session.get(TicketType, type_id)
        found_mode = mode_of(session, found) if found is not None and found.enabled else None
        if found is None or found_mode is None:
            errors.append(FieldError("type_id", "Choose a business acceptance type"))
            return None
        if wanted is not None and wanted is not found_mode:
            errors.append(FieldError("payment_mode", "The ticket type has the other payment mode"))
            return None
        return found, found_mode
    if wanted is None:
        errors.append(FieldError("payment_mode", "This field is required"))
        return None
    match = next((t for t, m in acceptance_types(session) if m is wanted), None)
    if match is None:
        errors.append(FieldError("payment_mode", "No ticket type is set up for this payment mode"))
        return None
    return match, wanted


def _customer(
    session: Session, actor: Actor, ticket: values.TicketValues, errors: list[FieldError]
) -> tuple[str, str]:
    """The customer's name and phone (from the profile where left empty), checked as registration
    would, so that one answer names every bad field."""
    name, phone = (ticket.customer_name or "").strip(), (ticket.customer_phone or "").strip()
    if ticket.customer_id is not None:
        known = customer_profile.contact_of(session, actor, ticket.customer_id)
        if known is None:
            errors.append(FieldError("customer_id", "No such customer"))
        else:
            name, phone = name or known.name, phone or known.phone
    if not name:
        errors.append(FieldError("customer_name", "This field is required"))
    if not phone:
        errors.append(FieldError("customer_phone", "This field is required"))
    else:
        try:
            phone = formvalues.clean_phone(phone)
        except formvalues.Invalid as exc:
            errors.append(FieldError("customer_phone", exc.message, **exc.params))
    return name, phone


def _codes(session: Session, dictionary: str) -> list[str]:
    try:
        return [item.code for item in dictionary_cache.items(session, dictionary)]
    except NotFound:
        return []


def create(
    session: Session,
    *,
    actor: Actor,
    payment_mode: Any,
    type_id: int | None,
    order: values.OrderValues,
    ticket: values.TicketValues,
) -> tuple[Ticket, TicketAcceptance]:
    """Register an order (受理): its ticket on the acceptance type of the payment mode (or the type
    given), and its row. Every bad field is named at once (422); nothing is written then."""
    service.require(actor, CREATE)
    errors: list[FieldError] = []
    chosen = _type(session, type_id, payment_mode, errors)
    cleaned, order_errors = values.check_order(session, actor, order, customer_id=ticket.customer_id)
    errors.extend(order_errors)
    if (ticket.channel or "").strip() not in _codes(session, "channel"):
        errors.append(FieldError("channel", "Choose one of the offered values"))
    name, phone = _customer(session, actor, ticket, errors)
    if errors:
        raise FieldErrors(errors)
    assert chosen is not None
    ticket_type, mode = chosen
    kind_label = values.kind_labels(session, "zh_CN").get(cleaned["kind"], cleaned["kind"])
    subject = (ticket.subject or "").strip() or f"{kind_label} · {name}"
    created = service.register(
        session,
        actor=actor,
        ticket_type=ticket_type,
        channel=ticket.channel,
        subject=subject,
        description=ticket.description,
        priority=ticket.priority,
        nature=SERVICE_NATURE if SERVICE_NATURE in _codes(session, "case_nature") else None,
        customer_id=ticket.customer_id,
        customer_name=name,
        customer_phone=phone,
        customer_email=ticket.customer_email,
        department_id=ticket.department_id,
        contact_id=ticket.contact_id,
        acceptance_order=True,
    )
    now = clock.now()
    row = TicketAcceptance(ticket_id=created.id, payment_mode=mode, created_at=now, updated_at=now, **cleaned)
    session.add(row)
    acceptance_hooks.forget_miss(session, created.id)
    session.flush()
    instance = session.get(FlowInstance, created.flow_instance_id)
    assert instance is not None
    acceptance_hooks.sync(
        session,
        row,
        ticket=created,
        instance=instance,
        tasks=service.active_tasks(session, created),
        initial=True,
    )
    service.audit_action(
        session,
        actor,
        created,
        "acceptance_create",
        summary=f"{kind_label} ({mode.value})",
        after={"payment_mode": mode.value, "state": row.state.value, **cleaned},
    )
    return created, row


# --- actions ---------------------------------------------------------------------------------------------


def _not_now(row: TicketAcceptance) -> Conflict:
    return Conflict(
        "This is not possible while the order is %(state)s",
        state=i18n.gettext(values.STATE_LABELS[row.state]),
    )


def _current(session: Session, ticket: Ticket) -> FlowTask:
    tasks = service.active_tasks(session, ticket)
    if not tasks:
        raise Conflict("The order has no open step")
    return tasks[0]


def step_states(task: FlowTask) -> set[str]:
    """The state codes the task's node declares (its flow version's node settings)."""
    node = (task.instance.version.nodes or {}).get(task.node_id, {})
    return {str(s.get("code")) for s in node.get("states", [])}


def _at_step(task: FlowTask, state: str) -> None:
    if state not in step_states(task):
        raise Conflict("The order is at %(stage)s, where this action does not apply", stage=task.name)


def _must_hold(session: Session, actor: Actor, action: str, row: TicketAcceptance) -> None:
    """The actor holds the order's lock: the handler's actions need it."""
    if row.state is AcceptanceState.LOCKED and row.locked_by_id != actor.user.id:
        raise acceptance_hooks.locked_by_other(session, row)
    if row.state is AcceptanceState.PENDING:
        raise Conflict("Lock the order before handling it")
    if row.state not in ALLOWED[action]:
        raise _not_now(row)


def _mine(task: FlowTask, actor: Actor) -> None:
    if task.assignee_id != actor.user.id:
        raise PermissionDenied("The order is not with you")


def lock(
    session: Session, *, actor: Actor, ticket: Ticket, row: TicketAcceptance, expected_version: int | None
) -> TicketAcceptance:
    """Lock (锁定) the order: take its current step from the pool, or accept the step given to me.
    While locked, nobody else can act on it; a second handler gets a 409 naming the holder."""
    service.require(actor, HANDLE)
    if row.state is AcceptanceState.LOCKED:
        if row.locked_by_id == actor.user.id:
            raise Conflict("You already hold the lock of this order")
        raise acceptance_hooks.locked_by_other(session, row)
    if row.state not in ALLOWED["lock"]:
        raise _not_now(row)
    task = _current(session, ticket)
    pool = task.assignee_id is None and task.dispatch == "grab" and actor.user.id in task.candidate_ids
    if task.assignee_id != actor.user.id and not pool:
        raise PermissionDenied("The order is not with you")
    service.accept(session, actor=actor, ticket=ticket, expected_version=expected_version, task_id=task.id)
    return row


def unlock(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    row: TicketAcceptance,
    expected_version: int | None,
    comment: str | None,
) -> TicketAcceptance:
    """Unlock (解锁): the step goes back to its pool. The holder may; a manager (tickets.ticket.manage
    within its scope) may unlock someone else's order, giving a reason."""
    if row.state not in ALLOWED["unlock"]:
        raise Conflict("The order is not locked")
    holder = row.locked_by_id
    text = service.clean_text(comment)
    if holder == actor.user.id:
        service.require(actor, HANDLE)
    else:
        if not (actor.can(MANAGE) and access.in_scope(session, actor, ticket, MANAGE)):
            raise PermissionDenied("Only the holder of the lock or a supervisor can unlock the order")
        if not text:
            raise FieldError("comment", "Give a reason")
    service.begin_change(session, ticket, expected_version)  # no lock check: lifting it is the point
    acceptance_hooks.remember_actor(session, ticket.id, actor)
    task = session.get(FlowTask, row.task_id) if row.task_id is not None else None
    if task is None or not task.is_active:
        raise Conflict("The order has no open step")
    with runtime.audited_by_caller():
        runtime.release_task(session, task=task, comment=text, actor=actor)
    service.log_entry(
        session, ticket, actor, "acceptance_unlocked", task=task, comment=text, detail={"user_id": holder}
    )
    service.audit_action(
        session, actor, ticket, "acceptance_unlock", summary=text, before={"locked_by_id": holder}
    )
    return row


def reject(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    row: TicketAcceptance,
    expected_version: int | None,
    reason: str | None,
) -> TicketAcceptance:
    """Reject (审核不通过) the order I hold, with a reason: it goes back to the registering agent."""
    service.require(actor, HANDLE)
    text = service.clean_text(reason)
    if not text:
        raise FieldError("reason", "Give a reason")
    _must_hold(session, actor, "reject", row)
    task = _current(session, ticket)
    _at_step(task, REJECT)
    service.complete(
        session,
        actor=actor,
        ticket=ticket,
        expected_version=expected_version,
        state=REJECT,
        comment=text,
        task_id=task.id,
    )
    return row


def complete(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    row: TicketAcceptance,
    expected_version: int | None,
    reply: str | None,
    business_ref: str | None = "",
) -> TicketAcceptance:
    """Reply (回复) the order I hold: the business was carried out; the back-office order number
    (e.g. the BOSS order) is recorded. The flow moves on (to payment, or to the end)."""
    service.require(actor, HANDLE)
    errors: list[FieldError] = []
    text = service.clean_text(reply)
    if not text:
        errors.append(FieldError("reply", "This field is required"))
    try:
        reference = values.text("business_ref", business_ref, 100)
    except FieldError as exc:
        errors.append(exc)
    if errors:
        raise FieldErrors(errors)
    _must_hold(session, actor, "complete", row)
    task = _current(session, ticket)
    _at_step(task, DONE)
    row.reply, row.business_ref = text, reference
    service.complete(
        session,
        actor=actor,
        ticket=ticket,
        expected_version=expected_version,
        state=DONE,
        comment=text,
        task_id=task.id,
    )
    service.audit_action(
        session, actor, ticket, "acceptance_reply", summary=reference, after={"business_ref": reference}
    )
    return row


def confirm_payment(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    row: TicketAcceptance,
    expected_version: int | None,
    amount: Any,
    reference: str | None = "",
    comment: str | None = "",
) -> TicketAcceptance:
    """Confirm the payment (缴费确认) with the amount received and the receipt or transaction number."""
    service.require(actor, HANDLE)
    errors: list[FieldError] = []
    paid = None
    try:
        paid = values.amount("amount", amount, required=True)
    except FieldError as exc:
        errors.append(exc)
    try:
        ref = values.text("reference", reference, 100)
    except FieldError as exc:
        errors.append(exc)
    if errors:
        raise FieldErrors(errors)
    if row.state is AcceptanceState.LOCKED and row.locked_by_id != actor.user.id:
        raise acceptance_hooks.locked_by_other(session, row)
    if row.state not in ALLOWED["payment"]:
        raise _not_now(row)
    task = _current(session, ticket)
    _at_step(task, PAID)
    _mine(task, actor)
    row.paid_amount, row.payment_ref = paid, ref
    note = f"¥{paid}" + (f" · {ref}" if ref else "")
    extra = service.clean_text(comment)
    service.complete(
        session,
        actor=actor,
        ticket=ticket,
        expected_version=expected_version,
        state=PAID,
        comment=f"{note}\n{extra}" if extra else note,
        task_id=task.id,
    )
    service.audit_action(
        session, actor, ticket, "acceptance_payment", summary=note, after={"amount": paid, "reference": ref}
    )
    return row


def resubmit(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    row: TicketAcceptance,
    expected_version: int | None,
    comment: str | None,
    changes: values.OrderValues,
) -> TicketAcceptance:
    """Correct and resubmit (修改重报) a rejected order: it waits for a handler again (pending)."""
    service.require(actor, HANDLE)
    cleaned, errors = values.check_order(session, actor, changes, customer_id=None, partial=True)
    if errors:
        raise FieldErrors(errors)
    if row.state not in ALLOWED["resubmit"]:
        raise _not_now(row)
    task = _current(session, ticket)
    _at_step(task, RESUBMIT)
    _mine(task, actor)
    before = {name: getattr(row, name) for name in cleaned}
    for name, value in cleaned.items():
        setattr(row, name, value)
    changed_before, changed_after = audit.diff(before, cleaned)
    service.complete(
        session,
        actor=actor,
        ticket=ticket,
        expected_version=expected_version,
        state=RESUBMIT,
        comment=service.clean_text(comment),
        task_id=task.id,
    )
    service.audit_action(
        session,
        actor,
        ticket,
        "acceptance_resubmit",
        summary=service.clean_text(comment)[:200],
        before=changed_before,
        after=changed_after,
    )
    return row


# --- what the reader may do now ------------------------------------------------------------------------


def actions(session: Session, actor: Actor, ticket: Ticket, row: TicketAcceptance) -> list[str]:
    """The order actions `actor` may take now (the panel shows exactly these)."""
    if ticket.status is not TicketStatus.OPEN:
        return []
    me = actor.user.id
    if row.state is AcceptanceState.LOCKED and row.locked_by_id != me:
        return ["unlock"] if _may_unlock_other(session, actor, ticket, row) else []
    tasks = service.active_tasks(session, ticket)
    if not tasks or not actor.can(HANDLE):
        return []
    task = tasks[0]
    states = step_states(task)
    found: list[str] = []
    if row.state is AcceptanceState.PENDING:
        pool = task.assignee_id is None and task.dispatch == "grab" and me in task.candidate_ids
        if PAID in states and task.assignee_id == me:
            found.append("payment")
        elif task.assignee_id == me or pool:
            found.append("lock")
    elif row.state is AcceptanceState.LOCKED:
        found += [a for a, s in (("payment", PAID), ("complete", DONE), ("reject", REJECT)) if s in states]
        found.append("unlock")
    elif row.state is AcceptanceState.REJECTED and RESUBMIT in states and task.assignee_id == me:
        found.append("resubmit")
    return found


def _may_unlock_other(session: Session, actor: Actor, ticket: Ticket, row: TicketAcceptance) -> bool:
    if row.locked_by_id == actor.user.id:
        return actor.can(HANDLE)
    return actor.can(MANAGE) and access.in_scope(session, actor, ticket, MANAGE)
