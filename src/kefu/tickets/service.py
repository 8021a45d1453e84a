"""Tickets (工单): registration and the closed-loop lifecycle, each action one function.

Every action checks permission and the ticket's version (`expected_version`: a stale one is a 409
with the current state, never a silent overwrite), claims the ticket row first (so concurrent actions
queue on it and all but one fail), drives the workflow runtime, writes the processing log (TKT-9) and
the audit, and tells the people concerned through personal messages. Services never commit.

What the flow does (who handles which node, review fail back to the handler, time limits) is the flow
template's business; the ticket service only knows the generic task actions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kefu.audit import service as audit
from kefu.core import clock, events, i18n
from kefu.core.errors import Conflict, FieldError, FieldErrors, NotFound, PermissionDenied
from kefu.core.permissions import Actor
from kefu.notices.service import notify
from kefu.org.config import dictionary_cache
from kefu.org.models import Department
from kefu.tickets import access, attachments, customer_profile, finder, formdef, formvalues, numbering
from kefu.tickets.models import (
    CaseTemplate,
    Ticket,
    TicketLog,
    TicketStatus,
    TicketType,
)
from kefu.tickets.setup import service as setup
from kefu.workflow import flows
from kefu.workflow.models import FlowVersion
from kefu.workflow.runtime import service as runtime
from kefu.workflow.runtime import subjects
from kefu.workflow.runtime.models import ACTIVE_TASK, FlowInstance, FlowTask, InstanceStatus

FUNCTION = "tickets.ticket"
CREATE, HANDLE, DISPATCH, MANAGE, URGE, TRACK = (
    f"{FUNCTION}.{op}" for op in ("create", "handle", "dispatch", "manage", "urge", "track")
)
SUBJECT = access.SUBJECT
MAX_COMMENT = 4000
MAX_DESCRIPTION = 20000
TICKET_CREATED = "ticket.created"
TICKET_CHANGED = "ticket.changed"


# --- the subject hook: the ticket's summary follows its flow -------------------------------------------


def _on_flow_change(session: Session, instance: FlowInstance, active: list[FlowTask] | None = None) -> None:
    ticket = session.get(Ticket, instance.subject_id)
    if ticket is None or ticket.flow_instance_id not in (None, instance.id):
        return  # not a ticket of this database, or an earlier flow of a reopened ticket
    tasks = (
        active
        if active is not None
        else list(
            session.scalars(
                select(FlowTask)
                .where(FlowTask.instance_id == instance.id, FlowTask.status.in_(ACTIVE_TASK))
                .order_by(FlowTask.id)
            )
        )
    )
    before = (ticket.status, ticket.stage, ticket.handler_id)
    ticket.stage = ", ".join(dict.fromkeys(t.name for t in tasks))[:200]
    ticket.handler_id = next((t.assignee_id for t in tasks if t.assignee_id is not None), None)
    ticket.due_at = instance.due_at
    if instance.status is InstanceStatus.COMPLETED:
        ticket.status = TicketStatus.CLOSED
        ticket.closed_at = ticket.closed_at or clock.now()
    elif instance.status is InstanceStatus.CANCELLED:
        ticket.status = TicketStatus.CANCELLED
        ticket.closed_at = ticket.closed_at or clock.now()
    elif instance.status is InstanceStatus.SUSPENDED:
        ticket.status = TicketStatus.SUSPENDED
    else:
        ticket.status = TicketStatus.OPEN
        ticket.closed_at = None
    after = (ticket.status, ticket.stage, ticket.handler_id)
    if after != before:
        ticket.updated_at = clock.now()
        events.on_commit(
            session,
            events.Event(
                type=TICKET_CHANGED,
                data={
                    "id": ticket.id,
                    "serial": ticket.serial,
                    "status": ticket.status.value,
                    "stage": ticket.stage,
                    "handler_id": ticket.handler_id,
                    "previous_status": before[0].value if before[0] else None,
                },
                audience=(),
            ),
        )
    from kefu.tickets import acceptance_hooks  # an acceptance order's state follows its flow (TKT-15)

    acceptance_hooks.on_flow_change(session, ticket, instance, tasks)


def _label(session: Session, instance: FlowInstance) -> str:
    ticket = session.get(Ticket, instance.subject_id)
    return f"{ticket.serial} {ticket.subject}" if ticket is not None else instance.label


subjects.register(
    subjects.Subject(
        type=SUBJECT,
        link=lambda task: f"/tickets/{task.instance.subject_id}",
        label=_label,
        on_change=_on_flow_change,
        permissions={
            runtime.START: CREATE,
            runtime.HANDLE: HANDLE,
            runtime.DISPATCH: DISPATCH,
            runtime.MANAGE: MANAGE,
        },
    )
)


# --- helpers ---------------------------------------------------------------------------------------------


def require(actor: Actor, permission: str) -> None:
    if not actor.can(permission):
        raise PermissionDenied()


def clean_text(comment: str | None, limit: int = MAX_COMMENT) -> str:
    return (comment or "").strip()[:limit]


def _codes(session: Session, dictionary: str) -> list[str]:
    try:
        return [item.code for item in dictionary_cache.items(session, dictionary)]
    except NotFound:
        return []


def begin_change(
    session: Session, ticket: Ticket, expected_version: int | None, *, actor: Actor | None = None
) -> None:
    """Claim the ticket row for this action: a stale version is a 409 now, and a concurrent action on
    the same ticket waits here and then fails (its update matches no row). With `actor`, a business
    acceptance order locked by someone else refuses too (409 naming the holder)."""
    if expected_version is not None and expected_version != ticket.lock_version:
        raise Conflict(
            "The ticket was changed by someone else meanwhile (now: %(status)s, %(stage)s); reload it",
            status=i18n.gettext(ticket.status.value),
            stage=ticket.stage or "-",
        )
    if actor is not None:
        from kefu.tickets import acceptance_hooks  # acceptance orders (TKT-15); it imports this module

        acceptance_hooks.before_action(session, ticket, actor)
    ticket.updated_at = clock.now()
    runtime_flush(session)


def runtime_flush(session: Session) -> None:
    """Flush; a ticket row changed meanwhile by someone else becomes a 409."""
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("The ticket was changed by someone else meanwhile; reload it") from None


def log_entry(
    session: Session,
    ticket: Ticket,
    actor: Actor | None,
    action: str,
    *,
    task: FlowTask | None = None,
    state: str | None = None,
    comment: str = "",
    detail: Mapping[str, Any] | None = None,
) -> TicketLog:
    row = TicketLog(
        ticket_id=ticket.id,
        at=clock.now(),
        user_id=actor.user.id if actor is not None else None,
        department_id=actor.user.department_id if actor is not None else None,
        action=action,
        node_id=task.node_id if task is not None else "",
        node_name=task.name if task is not None else "",
        state=state,
        comment=comment,
        detail=dict(detail or {}),
    )
    session.add(row)
    return row


def audit_action(
    session: Session, actor: Actor | None, ticket: Ticket, action: str, summary: str = "", **kw: Any
) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"ticket.{action}",
        function=FUNCTION,
        target=ticket,
        target_label=ticket.serial,
        summary=summary,
        **kw,
    )


def _link(ticket: Ticket) -> str:
    return f"/tickets/{ticket.id}"


def tell(
    session: Session, ticket: Ticket, user_ids: Iterable[int | None], title: str, *, actor: Actor | None
) -> None:
    me = actor.user.id if actor is not None else None
    recipients = [u for u in dict.fromkeys(user_ids) if u is not None and u != me]
    if recipients:
        notify(
            session,
            user_ids=recipients,
            title=title % {"serial": ticket.serial},
            body=ticket.subject,
            link=_link(ticket),
            kind="ticket",
            target_type="ticket",
            target_id=str(ticket.id),
            sender=actor,
        )


def active_tasks(session: Session, ticket: Ticket) -> list[FlowTask]:
    if ticket.flow_instance_id is None:
        return []
    stmt = select(FlowTask).where(
        FlowTask.instance_id == ticket.flow_instance_id, FlowTask.status.in_(ACTIVE_TASK)
    )
    return list(session.scalars(stmt.order_by(FlowTask.id)))


def current_people(session: Session, ticket: Ticket) -> list[int]:
    """Whom the ticket is with now: the assignees, or while unassigned the candidates."""
    people: list[int] = []
    for task in active_tasks(session, ticket):
        people.extend([task.assignee_id] if task.assignee_id is not None else task.candidate_ids)
    return list(dict.fromkeys(people))


def _my_task(session: Session, ticket: Ticket, actor: Actor, task_id: int | None) -> FlowTask:
    """The open task of this ticket the action is about: the given one, or the one assigned to me."""
    tasks = active_tasks(session, ticket)
    if task_id is not None:
        found = next((t for t in tasks if t.id == task_id), None)
        if found is None:
            raise Conflict("This step of the ticket is no longer open; reload it")
        return found
    mine = [t for t in tasks if t.assignee_id == actor.user.id]
    if not mine:
        pool = [t for t in tasks if t.assignee_id is None and actor.user.id in t.candidate_ids]
        if pool:
            return pool[0]
        raise PermissionDenied("The ticket is not with you")
    return mine[0]


def _instance(session: Session, ticket: Ticket) -> FlowInstance:
    instance = session.get(FlowInstance, ticket.flow_instance_id) if ticket.flow_instance_id else None
    if instance is None:
        raise Conflict("The ticket has no running flow")
    return instance


# --- registration ----------------------------------------------------------------------------------------


def effective_form(session: Session, ticket_type: TicketType) -> list[formdef.ElementDef]:
    """The elements of the type's form template, if it is active and within its dates today."""
    template = ticket_type.form_template
    if template is None:
        return []
    if setup.effective_template(session, template) is None:
        raise FieldError("type_id", "The form template of this ticket type is not in effect today")
    return setup.element_defs(template)


def _choices(session: Session) -> Any:
    return lambda code: _codes(session, code)


def register(
    session: Session,
    *,
    actor: Actor,
    ticket_type: TicketType,
    channel: str | None,
    subject: str | None,
    description: str | None = "",
    priority: str | None = None,
    nature: str | None = None,
    customer_id: int | None = None,
    customer_name: str | None = "",
    customer_phone: str | None = "",
    customer_email: str | None = "",
    fields: Mapping[str, Any] | None = None,
    case_template: CaseTemplate | None = None,
    department_id: int | None = None,
    attachment_ids: Sequence[int] = (),
    contact_id: int | None = None,
    acceptance_order: bool = False,
) -> Ticket:
    """Register a ticket (信息登录, TKT-4) and start its type's flow; FieldErrors name every bad field.

    A business acceptance type is refused unless `acceptance_order` (the acceptance service, which
    writes the order's own row beside the ticket): registered as a plain ticket it would lack it.

    `contact_id` names the interaction the ticket comes from (the call being handled): it is linked
    to the ticket, and its customer fills in the customer when none is given.

    A case template (案例模板) prefills what the caller left empty; the type's form template checks
    the custom fields exactly as the form does.
    """
    require(actor, CREATE)
    if not ticket_type.enabled:
        raise FieldError("type_id", "This ticket type is disabled")
    if not acceptance_order:
        from kefu.tickets import acceptance_flows  # acceptance orders (TKT-15); it imports this module

        if acceptance_flows.mode_of(session, ticket_type) is not None:
            raise FieldError("type_id", "Business acceptance orders are registered on the 业务受理 form")
    if case_template is not None:
        if case_template.type_id != ticket_type.id or not case_template.enabled:
            raise FieldError("case_template_id", "This case template does not belong to the ticket type")
        subject = subject or case_template.subject
        description = description or case_template.description
        priority = priority or case_template.priority
        nature = nature or case_template.nature
        fields = {**(case_template.fields or {}), **(fields or {})}
    errors: list[FieldError] = []
    subject = clean_text(subject, 200)
    if not subject:
        errors.append(FieldError("subject", "This field is required"))
    channel = (channel or "").strip()
    if channel not in _codes(session, "channel"):
        errors.append(FieldError("channel", "Choose one of the offered values"))
    priority = (priority or ticket_type.default_priority or "normal").strip()
    if priority not in _codes(session, "urgency"):
        errors.append(FieldError("priority", "Choose one of the offered values"))
    nature = (nature or "").strip() or None
    if nature is not None and nature not in _codes(session, "case_nature"):
        errors.append(FieldError("nature", "Choose one of the offered values"))
    contact = None
    if contact_id is not None:
        contact = customer_profile.contact_record(session, actor, contact_id)
        if contact is None:
            errors.append(FieldError("contact_id", "No such contact record"))
        elif customer_id is None and contact.customer_id is not None:
            # The caller's customer, if the registering person may see them.
            known_id = contact.customer_id
            customer_id = known_id if customer_profile.contact_of(session, actor, known_id) else None
    if customer_id is not None:
        known = customer_profile.contact_of(session, actor, customer_id)
        if known is None:
            errors.append(FieldError("customer_id", "No such customer"))
        else:  # what the caller left empty comes from the customer's profile
            customer_name = customer_name or known.name
            customer_phone = customer_phone or known.phone
            customer_email = customer_email or known.email
    phone = clean_text(customer_phone, 40)
    if phone:
        try:
            phone = formvalues.clean_phone(phone)
        except formvalues.Invalid as exc:
            errors.append(FieldError("customer_phone", exc.message))
    department = department_id or ticket_type.default_department_id
    if department_id is not None:
        dept = session.get(Department, department_id)
        if dept is None or not dept.enabled:
            errors.append(FieldError("department_id", "Choose an active department"))
    cleaned: dict[str, Any] = {}
    elements: list[formdef.ElementDef] = []
    try:
        elements = effective_form(session, ticket_type)
        cleaned = formdef.validate(elements, fields or {}, choices=_choices(session))
    except FieldErrors as exc:
        errors.extend(exc.errors)
    except FieldError as exc:
        errors.append(exc)
    version = (
        flows.published_version(session, ticket_type.flow_template_id)
        if ticket_type.flow_template_id is not None
        else None
    )
    if version is None:
        errors.append(FieldError("type_id", "The flow of this ticket type has no published version"))
    if errors:
        raise FieldErrors(errors)
    assert version is not None
    now = clock.now()
    ticket = Ticket(
        serial=numbering.next_serial(session, ticket_type),
        type_id=ticket_type.id,
        category_id=ticket_type.category_id,
        form_template_id=ticket_type.form_template_id,
        case_template_id=case_template.id if case_template is not None else None,
        channel=channel,
        subject=subject,
        description=clean_text(description, MAX_DESCRIPTION),
        priority=priority,
        nature=nature,
        customer_id=customer_id,
        customer_name=clean_text(customer_name, 100),
        customer_phone=phone,
        customer_email=clean_text(customer_email, 200),
        fields=cleaned,
        status=TicketStatus.OPEN,
        creator_id=actor.user.id,
        creator_department_id=actor.user.department_id,
        department_id=department,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    in_fields = [
        i for e in elements if e.type is formdef.ElementType.ATTACHMENT for i in (cleaned.get(e.code) or [])
    ]
    attachments.attach(session, ticket, actor, [*attachment_ids, *in_fields], log=None)
    log_entry(session, ticket, actor, "created", comment=ticket.subject)
    finder.index_ticket(session, ticket)  # keyword and customer-pinyin search (TKT-10)
    if contact is not None:
        customer_profile.link_contact(session, record=contact, ticket_id=ticket.id)
    from kefu.tickets import faults  # complaints and fault reports (TKT-13/14); it imports this module

    faults.on_register(
        session,
        ticket=ticket,
        ticket_type=ticket_type,
        actor=actor,
        department_named=department_id is not None,
    )
    _start_flow(session, ticket, ticket_type, actor, version)
    audit_action(session, actor, ticket, "create", summary=ticket.subject, after={"type": ticket_type.code})
    events.on_commit(
        session,
        events.Event(
            type=TICKET_CREATED,
            data={
                "id": ticket.id,
                "serial": ticket.serial,
                "type": ticket_type.code,
                "channel": ticket.channel,
                "priority": ticket.priority,
                "subject": ticket.subject,
            },
            audience=(),
        ),
    )
    return ticket


def flow_data(ticket: Ticket, ticket_type: TicketType) -> dict[str, Any]:
    """What the flow's conditions can read: the custom fields and the ticket's own attributes."""
    return {
        **(ticket.fields or {}),
        "ticket_type": ticket_type.code,
        "channel": ticket.channel,
        "priority": ticket.priority,
        "nature": ticket.nature,
    }


def _start_flow(
    session: Session,
    ticket: Ticket,
    ticket_type: TicketType,
    actor: Actor,
    version: FlowVersion | None = None,
) -> FlowInstance:
    if version is None and ticket_type.flow_template_id is not None:
        version = flows.published_version(session, ticket_type.flow_template_id)
    if version is None:
        raise FieldError("type_id", "The flow of this ticket type has no published version")
    if ticket.flow_instance_id is not None:
        ticket.flow_instance_id = None
    with runtime.audited_by_caller():
        instance = runtime.start_instance(
            session,
            version=version,
            subject_type=SUBJECT,
            subject_id=ticket.id,
            data=flow_data(ticket, ticket_type),
            actor=actor,
            limit=ticket_type.limit,
            handling_department_id=ticket.department_id,
        )
    ticket.flow_instance_id = instance.id
    session.flush()
    return instance


# --- lifecycle actions --------------------------------------------------------------------------------


def accept(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    expected_version: int | None,
    task_id: int | None = None,
) -> Ticket:
    """Accept (签收) the ticket: take it from the pool, or acknowledge it was given to me."""
    require(actor, HANDLE)
    begin_change(session, ticket, expected_version, actor=actor)
    task = _my_task(session, ticket, actor, task_id)
    with runtime.audited_by_caller():
        runtime.claim_task(session, task=task, actor=actor)
    log_entry(session, ticket, actor, "accepted", task=task)
    audit_action(session, actor, ticket, "accept", summary=task.name)
    return ticket


def reply(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    expected_version: int | None,
    comment: str | None,
    attachment_ids: Sequence[int] = (),
) -> TicketLog:
    """Reply (回复): the handler records progress or the answer for the customer; the flow stays."""
    require(actor, HANDLE)
    text = clean_text(comment)
    if not text:
        raise FieldError("comment", "This field is required")
    begin_change(session, ticket, expected_version, actor=actor)
    if not ticket.is_active:
        raise Conflict("The ticket is no longer open")
    task = _my_task(session, ticket, actor, None)
    row = log_entry(session, ticket, actor, "replied", task=task, comment=text)
    session.flush()
    attachments.attach(session, ticket, actor, attachment_ids, log=row)
    finder.index_ticket(session, ticket)
    tell(session, ticket, [ticket.creator_id], i18n.gettext("Reply on ticket %(serial)s"), actor=actor)
    audit_action(session, actor, ticket, "reply", summary=text[:200])
    return row


def complete(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    expected_version: int | None,
    state: str | None,
    comment: str | None,
    task_id: int | None = None,
    attachment_ids: Sequence[int] = (),
) -> Ticket:
    """Finish my step with one of its states: complete (完成), review pass / fail (审核), close (关闭) —
    whatever the node declares; the flow moves on."""
    require(actor, HANDLE)
    begin_change(session, ticket, expected_version, actor=actor)
    task = _my_task(session, ticket, actor, task_id)
    text = clean_text(comment)
    with runtime.audited_by_caller():
        runtime.complete_task(session, task=task, state=state, comment=text, data=None, actor=actor)
    row = log_entry(session, ticket, actor, "completed", task=task, state=task.state, comment=text)
    session.flush()
    attachments.attach(session, ticket, actor, attachment_ids, log=row)
    if ticket.status is TicketStatus.CLOSED:
        tell(session, ticket, [ticket.creator_id], i18n.gettext("Ticket %(serial)s is closed"), actor=actor)
    audit_action(session, actor, ticket, "complete", summary=f"{task.name} → {task.state}")
    return ticket


def transfer(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    expected_version: int | None,
    comment: str | None,
    user_id: int | None = None,
    department_id: int | None = None,
    task_id: int | None = None,
) -> Ticket:
    """Transfer (转办) my step — or, as a dispatcher, any open step — to a person or a department."""
    begin_change(session, ticket, expected_version, actor=actor)
    task = _task_to_move(session, actor, ticket, task_id)
    with runtime.audited_by_caller():
        runtime.transfer_task(
            session, task=task, user_id=user_id, department_id=department_id, comment=comment, actor=actor
        )
    if department_id is not None:
        ticket.department_id = department_id
    log_entry(
        session,
        ticket,
        actor,
        "transferred",
        task=task,
        comment=clean_text(comment),
        detail={"user_id": task.assignee_id, "department_id": department_id or task.department_id},
    )
    audit_action(session, actor, ticket, "transfer", summary=clean_text(comment))
    return ticket


def _task_to_move(session: Session, actor: Actor, ticket: Ticket, task_id: int | None) -> FlowTask:
    if task_id is None:
        return _my_task(session, ticket, actor, None)
    task = next((t for t in active_tasks(session, ticket) if t.id == task_id), None)
    if task is None:
        raise Conflict("This step of the ticket is no longer open; reload it")
    if task.assignee_id != actor.user.id and not (
        actor.can(DISPATCH) and access.in_scope(session, actor, ticket, DISPATCH)
    ):
        raise PermissionDenied()
    return task


def hand_back(
    session: Session, *, actor: Actor, ticket: Ticket, expected_version: int | None, comment: str | None
) -> Ticket:
    """Hand my step back (退办): to whoever transferred it to me, else to the previous node's handler."""
    require(actor, HANDLE)
    begin_change(session, ticket, expected_version, actor=actor)
    task = _my_task(session, ticket, actor, None)
    with runtime.audited_by_caller():
        runtime.hand_back(session, task=task, comment=comment, actor=actor)
    log_entry(session, ticket, actor, "handed_back", task=task, comment=clean_text(comment))
    audit_action(session, actor, ticket, "hand_back", summary=clean_text(comment))
    return ticket


def dispatch(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    expected_version: int | None,
    task_id: int,
    user_id: int,
    comment: str | None = "",
) -> Ticket:
    """Dispatch (派送) a step waiting for dispatch — or reassign one — to a person."""
    require(actor, DISPATCH)
    if not access.in_scope(session, actor, ticket, DISPATCH):
        raise PermissionDenied()
    begin_change(session, ticket, expected_version, actor=actor)
    task = next((t for t in active_tasks(session, ticket) if t.id == task_id), None)
    if task is None:
        raise Conflict("This step of the ticket is no longer open; reload it")
    with runtime.audited_by_caller():
        runtime.assign_task(session, task=task, user_id=user_id, comment=comment, actor=actor)
    log_entry(
        session,
        ticket,
        actor,
        "dispatched",
        task=task,
        comment=clean_text(comment),
        detail={"user_id": user_id},
    )
    audit_action(session, actor, ticket, "dispatch", summary=clean_text(comment))
    return ticket


def _manage(session: Session, actor: Actor, ticket: Ticket, expected_version: int | None) -> FlowInstance:
    require(actor, MANAGE)
    if not access.in_scope(session, actor, ticket, MANAGE):
        raise PermissionDenied()
    begin_change(session, ticket, expected_version, actor=actor)
    return _instance(session, ticket)


def suspend(
    session: Session, *, actor: Actor, ticket: Ticket, expected_version: int | None, comment: str | None
) -> Ticket:
    """Suspend (挂起): nobody can finish a step and the time limits stop until it is resumed."""
    text = _required(comment)
    instance = _manage(session, actor, ticket, expected_version)
    people = current_people(session, ticket)
    with runtime.audited_by_caller():
        runtime.suspend_instance(session, instance=instance, comment=text, actor=actor)
    log_entry(session, ticket, actor, "suspended", comment=text)
    tell(session, ticket, people, i18n.gettext("Ticket %(serial)s is suspended"), actor=actor)
    audit_action(session, actor, ticket, "suspend", summary=text)
    return ticket


def resume(
    session: Session, *, actor: Actor, ticket: Ticket, expected_version: int | None, comment: str | None
) -> Ticket:
    instance = _manage(session, actor, ticket, expected_version)
    with runtime.audited_by_caller():
        runtime.resume_instance(session, instance=instance, comment=clean_text(comment), actor=actor)
    log_entry(session, ticket, actor, "resumed", comment=clean_text(comment))
    tell(
        session,
        ticket,
        current_people(session, ticket),
        i18n.gettext("Ticket %(serial)s is resumed"),
        actor=actor,
    )
    audit_action(session, actor, ticket, "resume", summary=clean_text(comment))
    return ticket


def cancel(
    session: Session, *, actor: Actor, ticket: Ticket, expected_version: int | None, comment: str | None
) -> Ticket:
    """Withdraw (撤销) the ticket: its flow ends, open steps are cancelled."""
    text = _required(comment)
    instance = _manage(session, actor, ticket, expected_version)
    people = current_people(session, ticket)
    with runtime.audited_by_caller():
        runtime.cancel_instance(session, instance=instance, comment=text, actor=actor)
    log_entry(session, ticket, actor, "cancelled", comment=text)
    tell(
        session,
        ticket,
        [*people, ticket.creator_id],
        i18n.gettext("Ticket %(serial)s was withdrawn"),
        actor=actor,
    )
    audit_action(session, actor, ticket, "cancel", summary=text)
    return ticket


def reopen(
    session: Session, *, actor: Actor, ticket: Ticket, expected_version: int | None, comment: str | None
) -> Ticket:
    """Reopen (重开) a closed ticket: a new run of its type's current flow; the history stays."""
    text = _required(comment)
    require(actor, MANAGE)
    if not access.in_scope(session, actor, ticket, MANAGE):
        raise PermissionDenied()
    begin_change(session, ticket, expected_version, actor=actor)
    if ticket.status is not TicketStatus.CLOSED:
        raise Conflict("Only a closed ticket can be reopened")
    ticket.reopen_count += 1
    ticket.closed_at = None
    ticket.status = TicketStatus.OPEN
    log_entry(session, ticket, actor, "reopened", comment=text)
    _start_flow(session, ticket, ticket.ticket_type, actor)
    audit_action(session, actor, ticket, "reopen", summary=text)
    return ticket


def _required(comment: str | None) -> str:
    text = clean_text(comment)
    if not text:
        raise FieldError("comment", "Give a reason")
    return text
