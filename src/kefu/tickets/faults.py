"""Fault reports (障碍申告, TKT-14) and the registration hook of complaints and fault reports.

A ticket is a fault report when its nature (案例性质) is the code of the `tickets.fault_nature`
parameter. Before its flow starts, a fault report is routed by the dispatch rules (派单规则: the
first enabled rule in order whose area, fault type and customer tier match names the handling
department, where the flow's `handling_department` assignment picks the handler), linked to the
active fault / cutover notices of its area, and — when urgent — announced by SMS to the senior staff
on duty now (the holders of `tickets.fault.senior` whose roster shift covers this instant), as staff
messages that do-not-disturb does not apply to.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import clock, i18n
from kefu.core.errors import FieldError
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor, build_actor, register
from kefu.customers.models import Customer
from kefu.knowledge import search as knowledge_search
from kefu.messaging import outbox
from kefu.messaging.models import Channel, Message, Source
from kefu.org.calendar import roster
from kefu.org.config import parameters
from kefu.org.models import DataScope, Department, User
from kefu.tickets import complaints, fault_notices
from kefu.tickets.fault_models import DispatchRule
from kefu.tickets.models import BusinessCategory, Ticket, TicketType

# senior = senior staff alerted by SMS of urgent faults while on duty (值班高级人员).
register("tickets.fault", "Fault reports", ("senior",), area="tickets")
# Fault and cutover notices: view = read them all (agents see the active ones anyway); manage = write.
register("tickets.notice", "Fault and cutover notices", ("view", "manage"), area="tickets")
SENIOR = "tickets.fault.senior"
URGENT = ("urgent", "critical")
SMS_TEXT = lazy("Urgent fault %(serial)s: %(subject)s (area %(area)s). Please follow up.")

FAULT_NATURE = parameters.declare(
    "tickets.fault_nature",
    "Case nature of fault reports",
    str,
    "fault",
    group="tickets",
    max_length=60,
    help=lazy("Tickets of this case nature are fault reports: dispatched by rules, linked to notices."),
)


def is_fault(session: Session, ticket: Ticket) -> bool:
    return bool(ticket.nature) and ticket.nature == parameters.get(session, FAULT_NATURE)


# --- the registration hook ----------------------------------------------------------------------------


def on_register(
    session: Session, *, ticket: Ticket, ticket_type: TicketType, actor: Actor, department_named: bool
) -> None:
    """Called by ticket registration before the flow starts (the ticket has its id)."""
    from kefu.tickets import service

    values = ticket.fields or {}
    # Form elements with these codes fill the ticket's own columns, which search and dispatch use:
    # the area (dictionary `area`), another system's code for the matter (e.g. the Inmarsat code)
    # and the customer's terminal number.
    area = values.get("area")
    if area and not ticket.area:
        ticket.area = str(area)[:60]
    for column in ("external_code", "terminal_no"):
        value = values.get(column)
        if value and not getattr(ticket, column):
            setattr(ticket, column, str(value).strip()[:100])
    if complaints.is_complaint(session, ticket):
        complaints.classify(session, ticket, actor)
    if not is_fault(session, ticket):
        return
    if not department_named:
        rule = matching_rule(session, facts(session, ticket))
        if rule is not None and rule.department_id != ticket.department_id:
            ticket.department_id = rule.department_id
            service.log_entry(
                session,
                ticket,
                actor,
                "rule_dispatched",
                comment=rule.name,
                detail={"rule_id": rule.id, "department_id": rule.department_id},
            )
    for notice in fault_notices.link_ticket(session, ticket):
        service.log_entry(
            session, ticket, actor, "notice_linked", comment=notice.title, detail={"notice_id": notice.id}
        )
    if ticket.priority in URGENT:
        alert_seniors(session, ticket=ticket, actor=actor)


# --- dispatch rules -----------------------------------------------------------------------------------


def facts(session: Session, ticket: Ticket) -> dict[str, Any]:
    """What dispatch rules look at: the area, the fault type (the form's `fault_type` element, else
    the business category code) and the customer's tier."""
    fault_type = (ticket.fields or {}).get("fault_type")
    if not fault_type and ticket.category_id is not None:
        category = session.get(BusinessCategory, ticket.category_id)
        fault_type = category.code if category is not None else None
    customer = session.get(Customer, ticket.customer_id) if ticket.customer_id is not None else None
    return {
        "area": ticket.area,
        "fault_type": str(fault_type) if fault_type else None,
        "customer_tier": customer.tier if customer is not None else None,
    }


def matching_rule(session: Session, found: dict[str, Any]) -> DispatchRule | None:
    stmt = (
        select(DispatchRule)
        .join(Department, Department.id == DispatchRule.department_id)
        .where(DispatchRule.enabled.is_(True), Department.enabled.is_(True))
        .order_by(DispatchRule.sort, DispatchRule.id)
    )
    return next((rule for rule in session.scalars(stmt) if rule.matches(found)), None)


# --- urgent faults: SMS to the senior staff on duty -----------------------------------------------------


def _roster_reader() -> Actor:
    """Reads the whole roster (no person; nothing is written under this actor)."""
    user = User(username="system", name="Fault alert", department_id=None)
    return Actor(user=user, scopes={roster.VIEW: DataScope.ALL}, department_path="")


def seniors_on_duty(session: Session) -> list[User]:
    """Active holders of `tickets.fault.senior` whose roster shift covers now."""
    entries = roster.on_duty(session, actor=_roster_reader(), at=clock.now())
    found: dict[int, User] = {}
    for entry in entries:
        user = entry.user
        if user.is_active and user.id not in found and build_actor(session, user).can(SENIOR):
            found[user.id] = user
    return list(found.values())


def alert_seniors(session: Session, *, ticket: Ticket, actor: Actor) -> list[Message]:
    """Queue the urgent-fault SMS to every senior on duty with a mobile number; logged on the ticket."""
    from kefu.tickets import service

    body = i18n.gettext(SMS_TEXT) % {
        "serial": ticket.serial,
        "subject": ticket.subject[:60],
        "area": ticket.area or "-",
    }
    sent: list[Message] = []
    for user in seniors_on_duty(session):
        try:
            to = outbox.recipient(Channel.SMS, user.mobile)
        except FieldError:
            continue  # no usable mobile number
        sent.append(
            outbox.queue(
                session,
                actor,
                channel=Channel.SMS,
                to=to,
                body=body,
                source=Source.STAFF,
                ticket_id=ticket.id,
            )
        )
    if sent:
        service.log_entry(
            session,
            ticket,
            actor,
            "seniors_alerted",
            comment=", ".join(m.recipient for m in sent),
            detail={"message_ids": [m.id for m in sent]},
        )
    return sent


# --- knowledge suggestions while registering ------------------------------------------------------------


def suggestions(session: Session, actor: Actor, text: str, *, limit: int = 5) -> list[dict[str, Any]]:
    """Published knowledge for the symptoms typed so far (the knowledge base's own search)."""
    text = (text or "").strip()[:200]
    if not text:
        return []
    page = knowledge_search.run(session, actor, knowledge_search.Query(text=text), limit=limit)
    return [
        {
            "id": r.article.id,
            "title": r.article.title,
            "summary": (r.article.summary or "")[:200],
            "link": f"/knowledge/articles/{r.article.id}",
        }
        for r in page.results
    ]


# --- dispatch rules: configuration ------------------------------------------------------------------------

RULES_VIEW, RULES_EDIT = "tickets.config.view", "tickets.config.edit"
RULE_FIELDS = ("name", "sort", "area", "fault_type", "customer_tier", "department_id", "enabled")


def rules(session: Session) -> list[DispatchRule]:
    return list(session.scalars(select(DispatchRule).order_by(DispatchRule.sort, DispatchRule.id)))


def get_rule(session: Session, rule_id: int) -> DispatchRule:
    from kefu.core.errors import NotFound

    found = session.get(DispatchRule, rule_id)
    if found is None:
        raise NotFound()
    return found


def _clean_rule(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    from kefu.core.errors import FieldErrors

    errors: list[FieldError] = []
    name = str(values.get("name") or "").strip()
    if not name:
        errors.append(FieldError("name", "This field is required"))
    dept_id = values.get("department_id")
    dept = session.get(Department, dept_id) if isinstance(dept_id, int) else None
    if dept is None or not dept.enabled:
        errors.append(FieldError("department_id", "Choose an active department"))
    known = fault_notices.area_codes(session)
    area = str(values.get("area") or "").strip() or None
    if area and known and area not in known:
        errors.append(FieldError("area", "Choose one of the offered values"))
    if errors:
        raise FieldErrors(errors)
    return {
        "name": name[:100],
        "sort": int(values.get("sort") or 0),
        "area": area,
        "fault_type": (str(values.get("fault_type") or "").strip() or None),
        "customer_tier": (str(values.get("customer_tier") or "").strip() or None),
        "department_id": dept_id,
        "enabled": bool(values.get("enabled", True)),
    }


def _audit_rule(session: Session, actor: Actor, rule: DispatchRule, action: str, **kw: Any) -> None:
    from kefu.audit import service as audit

    audit.record(
        session,
        actor=actor,
        action=f"dispatch_rule.{action}",
        function="tickets.config",
        target=rule,
        target_label=rule.name,
        **kw,
    )


def create_rule(session: Session, *, actor: Actor, values: dict[str, Any]) -> DispatchRule:
    rule = DispatchRule(**_clean_rule(session, values), created_at=clock.now())
    session.add(rule)
    session.flush()
    _audit_rule(session, actor, rule, "create", after=_rule_state(rule))
    return rule


def update_rule(
    session: Session, *, actor: Actor, rule: DispatchRule, values: dict[str, Any]
) -> DispatchRule:
    before = _rule_state(rule)
    for name, value in _clean_rule(session, {**_rule_state(rule), **values}).items():
        setattr(rule, name, value)
    session.flush()
    _audit_rule(session, actor, rule, "update", before=before, after=_rule_state(rule))
    return rule


def delete_rule(session: Session, *, actor: Actor, rule: DispatchRule) -> None:
    _audit_rule(session, actor, rule, "delete", before=_rule_state(rule))
    session.delete(rule)
    session.flush()


def _rule_state(rule: DispatchRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in RULE_FIELDS}
