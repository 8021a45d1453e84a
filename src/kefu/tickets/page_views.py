"""What the ticket pages show, gathered for their templates: workbench rows, the registration form's
inputs and options, and one ticket's detail (facts, custom fields, actions, log, files, flow)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import clock, i18n, storage
from kefu.core.errors import FieldError, KefuError
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.org.config import dictionary_cache
from kefu.org.departments import department_tree
from kefu.org.models import Department, User
from kefu.tickets import formdef, queries, service
from kefu.tickets.models import (
    CaseTemplate,
    FormTemplate,
    Ticket,
    TicketAttachment,
    TicketType,
)
from kefu.workflow.runtime import queries as flow_queries
from kefu.workflow.runtime.models import FlowInstance

CHANNEL, URGENCY, CASE_NATURE = "channel", "urgency", "case_nature"
REGISTER_KEYS = (
    "type_id",
    "case_template_id",
    "channel",
    "priority",
    "nature",
    "customer_name",
    "customer_phone",
    "customer_email",
    "subject",
    "description",
    "department_id",
    "customer_id",
    "contact_id",
)
ACTION_LABELS = {
    "accept": lazy("Accept"),
    "complete": lazy("Complete the step"),
    "reply": lazy("Reply"),
    "transfer": lazy("Transfer"),
    "hand_back": lazy("Hand back"),
    "dispatch": lazy("Dispatch the ticket"),
    "suspend": lazy("Suspend"),
    "resume": lazy("Resume"),
    "cancel": lazy("Withdraw"),
    "reopen": lazy("Reopen"),
    "urge": lazy("Urge"),
    "track": lazy("Track"),
    "follow_up": lazy("Record a follow-up"),
}
# What the processing log calls each entry (TicketLog.action).
LOG_LABELS = {
    "created": lazy("Registered"),
    "accepted": lazy("Accepted"),
    "replied": lazy("Replied"),
    "completed": lazy("Completed"),
    "transferred": lazy("Transferred"),
    "handed_back": lazy("Handed back"),
    "dispatched": lazy("Dispatched"),
    "suspended": lazy("Suspended"),
    "resumed": lazy("Resumed"),
    "cancelled": lazy("Withdrawn"),
    "reopened": lazy("Reopened"),
    "urged": lazy("Urged"),
    "tracked": lazy("Started tracking"),
    "followed_up": lazy("Followed up"),
    "attached": lazy("Attached a file"),
    "email_received": lazy("Email from the customer"),
    "email_sent": lazy("Email to the customer"),
    "rule_dispatched": lazy("Dispatched by rule"),
    "notice_linked": lazy("Linked to a fault notice"),
    "seniors_alerted": lazy("Seniors on duty alerted by SMS"),
    "on_the_spot": lazy("Answered on the spot"),
    "complaint_repeat": lazy("Repeat complaint"),
    "complaint_secondary": lazy("Secondary complaint"),
}
# A ticket's own status words (the flow's task statuses use the bare codes as msgids).
TICKET_STATUS_LABELS = {
    "open": lazy("Being handled"),
    "suspended": lazy("On hold"),
    "closed": lazy("Closed"),
    "cancelled": lazy("Withdrawn"),
}


def ticket_status(status: Any) -> str:
    """The status of a ticket as the screens word it (a Jinja filter: `t.status | ticket_status`)."""
    code = getattr(status, "value", status)
    return i18n.gettext(TICKET_STATUS_LABELS.get(code, code))


TRACKING_RESULTS = {"continue": lazy("Continue tracking"), "resolved": lazy("Resolved")}


def labels(session: Session, dictionary: str) -> dict[str, str]:
    """Code → label of a dictionary in the reader's language (disabled items too: old tickets use them)."""
    try:
        found = dictionary_cache.items(session, dictionary, include_disabled=True)
    except KefuError:
        return {}
    locale = i18n.get_locale()
    return {item.code: item.text(locale) for item in found}


def options(session: Session, dictionary: str) -> list[tuple[str, str]]:
    """The enabled items of a dictionary as (code, label) for a select."""
    try:
        found = dictionary_cache.items(session, dictionary)
    except KefuError:
        return []
    locale = i18n.get_locale()
    return [(item.code, item.text(locale)) for item in found]


# --- the workbench -------------------------------------------------------------------------------------


@dataclass
class ListRow:
    ticket: Ticket
    stage: str
    handler: str
    priority: str
    due_at: Any
    overdue: bool


def list_rows(session: Session, rows: list[queries.Row]) -> list[ListRow]:
    handlers = queries.names(session, {r.ticket.handler_id for r in rows})
    priorities = labels(session, URGENCY)
    return [
        ListRow(
            ticket=r.ticket,
            stage=r.task.name if r.task is not None else r.ticket.stage,
            handler=handlers.get(r.ticket.handler_id or 0, ""),
            priority=priorities.get(r.ticket.priority, r.ticket.priority),
            due_at=r.due_at,
            overdue=r.overdue,
        )
        for r in rows
    ]


# --- registration --------------------------------------------------------------------------------------


def elements_or_none(session: Session, ticket_type: TicketType | None) -> list[formdef.ElementDef]:
    """The type's form elements; none when there is no type or its form is not in effect (the
    registration then reports that on `type_id`)."""
    if ticket_type is None:
        return []
    try:
        return service.effective_form(session, ticket_type)
    except FieldError:
        return []


def case_templates(session: Session, ticket_type: TicketType | None) -> list[CaseTemplate]:
    if ticket_type is None:
        return []
    stmt = (
        select(CaseTemplate)
        .where(CaseTemplate.type_id == ticket_type.id, CaseTemplate.enabled.is_(True))
        .order_by(CaseTemplate.sort, CaseTemplate.name)
    )
    return list(session.scalars(stmt))


def apply_case(
    session: Session,
    ticket_type: TicketType | None,
    case: CaseTemplate,
    values: dict[str, str],
    fields: dict[str, Any] | None,
) -> tuple[dict[str, str], dict[str, Any]]:
    """The form with the case template's content put in (what it leaves empty stays as typed)."""
    elements = elements_or_none(session, ticket_type)
    if fields is None:
        fields = {e.code: list(e.default) if isinstance(e.default, tuple) else e.default for e in elements}
    codes = {e.code for e in elements}
    fields = {**fields, **{k: v for k, v in (case.fields or {}).items() if k in codes}}
    values = dict(values)
    for key in ("subject", "description", "priority", "nature"):
        if getattr(case, key):
            values[key] = getattr(case, key)
    return values, fields


def registration_options(session: Session) -> dict[str, Any]:
    return {
        "channels": options(session, CHANNEL),
        "priorities": options(session, URGENCY),
        "natures": options(session, CASE_NATURE),
        "departments": [(d.id, "— " * depth + d.name) for d, depth in department_tree(session) if d.enabled],
    }


@dataclass
class FieldInput:
    element: formdef.ElementDef
    name: str  # the input's name: fields-<code>
    key: str  # the error key: fields.<code>
    value: Any
    choices: list[tuple[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The value as an input shows it (a datetime-local input takes `YYYY-MM-DDTHH:MM[:SS]`)."""
        if self.value is None or isinstance(self.value, list | bool):
            return ""
        return str(self.value)

    @property
    def chosen(self) -> list[str]:
        value = self.value
        items = value if isinstance(value, list) else ([] if value in (None, "") else [value])
        return [str(v) for v in items]

    @property
    def checked(self) -> bool:
        return self.value is True or (
            isinstance(self.value, str) and self.value.lower() in ("true", "on", "1")
        )


def _choices(session: Session, element: formdef.ElementDef) -> list[tuple[str, str]]:
    if element.options:
        return list(element.options)
    return options(session, element.dictionary) if element.dictionary else []


def field_inputs(
    session: Session, elements: list[formdef.ElementDef], values: dict[str, Any]
) -> list[FieldInput]:
    """The custom fields of a form template as inputs, with the values to show."""
    return [
        FieldInput(
            element=e,
            name=f"fields-{e.code}",
            key=f"fields.{e.code}",
            value=values.get(e.code),
            choices=_choices(session, e) if e.type in formdef.CHOICE_TYPES else [],
        )
        for e in elements
    ]


# --- one ticket --------------------------------------------------------------------------------------------


def action_key(code: str, task_id: int | None) -> str:
    """Tells the forms of one action apart when it is offered for several steps."""
    return f"{code}-{task_id or 0}"


@dataclass
class ActionView:
    code: str
    key: str
    label: str
    task_id: int | None
    task_name: str
    states: list[tuple[str, str]]


@dataclass
class LogView:
    code: str
    at: Any
    user: str
    department: str
    node: str
    action: str
    state: str
    comment: str
    target: str
    files: list[TicketAttachment]


@dataclass
class CustomField:
    label: str
    text: str
    files: list[TicketAttachment] = field(default_factory=list)


def _custom_fields(session: Session, ticket: Ticket, files: dict[int, TicketAttachment]) -> list[CustomField]:
    """The ticket's custom fields in the order of its form template, labelled as the template says."""
    template = session.get(FormTemplate, ticket.form_template_id) if ticket.form_template_id else None
    shown: list[CustomField] = []
    values = ticket.fields or {}
    for raw in template.elements if template is not None else []:
        try:
            element = formdef.ElementDef.from_dict(raw)
        except KefuError:
            continue
        value = values.get(element.code)
        choices = dict(_choices(session, element)) if element.type in formdef.CHOICE_TYPES else {}
        if element.type is formdef.ElementType.ATTACHMENT:
            found = [files[i] for i in value or [] if isinstance(i, int) and i in files]
            shown.append(CustomField(element.label, "" if found else "—", found))
        elif element.type is formdef.ElementType.BOOL:
            shown.append(CustomField(element.label, i18n.gettext("Yes") if value else i18n.gettext("No")))
        elif isinstance(value, list):
            shown.append(CustomField(element.label, "、".join(choices.get(v, str(v)) for v in value) or "—"))
        elif value is None or value == "":
            shown.append(CustomField(element.label, "—"))
        else:
            shown.append(CustomField(element.label, choices.get(str(value), str(value))))
    return shown


def _actions(session: Session, actor: Actor, ticket: Ticket) -> list[ActionView]:
    tasks = {t.id: t.name for t in service.active_tasks(session, ticket)}
    several = len(tasks) > 1
    found = []
    for action in queries.actions(session, actor, ticket):
        name = tasks.get(action.task_id or 0, "")
        label = i18n.gettext(ACTION_LABELS[action.code])
        found.append(
            ActionView(
                code=action.code,
                key=action_key(action.code, action.task_id),
                label=f"{label} · {name}" if several and name else label,
                task_id=action.task_id,
                task_name=name,
                states=action.states,
            )
        )
    return found


def _people(session: Session) -> list[tuple[int, str]]:
    stmt = (
        select(User.id, User.name, Department.name)
        .outerjoin(Department, Department.id == User.department_id)
        .where(User.is_active.is_(True))
        .order_by(Department.name, User.name)
        .limit(1000)
    )
    return [
        (uid, f"{name}（{dept}）" if dept else name) for uid, name, dept in session.execute(stmt).tuples()
    ]


def _state_labels(instance: FlowInstance | None) -> dict[tuple[str, str], str]:
    nodes = (instance.version.nodes or {}) if instance is not None else {}
    return {
        (node_id, s["code"]): s.get("label") or s["code"]
        for node_id, node in nodes.items()
        for s in node.get("states", [])
    }


def _log(
    session: Session, ticket: Ticket, instance: FlowInstance | None, files: list[TicketAttachment]
) -> list[LogView]:
    lines = queries.log(session, ticket)
    states = _state_labels(instance)
    targets = {line.entry.detail.get("user_id") for line in lines if line.entry.detail}
    people = queries.names(session, targets)
    dept_ids = {line.entry.detail.get("department_id") for line in lines if line.entry.detail}
    depts = dict(
        session.execute(
            select(Department.id, Department.name).where(Department.id.in_([d for d in dept_ids if d]))
        )
        .tuples()
        .all()
    )
    by_log: dict[int, list[TicketAttachment]] = {}
    for f in files:
        if f.log_id is not None:
            by_log.setdefault(f.log_id, []).append(f)
    shown = []
    for line in lines:
        e = line.entry
        detail = e.detail or {}
        target = people.get(detail.get("user_id") or 0) or depts.get(detail.get("department_id") or 0, "")
        if e.action == "followed_up":
            target = i18n.gettext(TRACKING_RESULTS.get(detail.get("result", ""), detail.get("result", "")))
        shown.append(
            LogView(
                code=e.action,
                at=e.at,
                user=line.user_name,
                department=line.department_name,
                node=e.node_name,
                action=i18n.gettext(LOG_LABELS.get(e.action, e.action)),
                state=states.get((e.node_id, e.state), e.state) if e.state else "",
                comment=e.comment if e.action not in ("created", "attached") else "",
                target=target if e.action in ("transferred", "dispatched", "followed_up") else "",
                files=by_log.get(e.id, []),
            )
        )
    return shown


def _flow(session: Session, ticket: Ticket) -> dict[str, Any]:
    """The flow tracking view of the ticket's current run: diagram markers and the node history."""
    instance = session.get(FlowInstance, ticket.flow_instance_id) if ticket.flow_instance_id else None
    if instance is None:
        return {"flow": None, "instance": None}
    detail = flow_queries.instance_detail(session, instance)
    now = clock.now()
    open_tasks = [t for t in detail.tasks if t.status in ("open", "claimed")]
    current = sorted({t.node_id for t in open_tasks})
    late = sorted({t.node_id for t in open_tasks if t.due_at is not None and t.due_at < now})
    done = [n for n in dict.fromkeys(detail.path) if n not in current]
    return {
        "instance": instance,
        "flow": detail,
        "markers": {"done": done, "current": current, "late": late},
        "bpmn_xml": instance.version.bpmn_xml,
    }


def detail(session: Session, actor: Actor, ticket: Ticket) -> dict[str, Any]:
    files = queries.attachments(session, ticket)
    flow = _flow(session, ticket)
    actions = _actions(session, actor, ticket)
    needs_people = any(a.code in ("transfer", "dispatch") for a in actions)
    names = queries.names(session, {ticket.creator_id, ticket.handler_id, *(f.uploaded_by_id for f in files)})
    department = session.get(Department, ticket.department_id) if ticket.department_id else None
    return {
        "ticket": ticket,
        "type_name": ticket.ticket_type.name,
        "channel": labels(session, CHANNEL).get(ticket.channel, ticket.channel),
        "priority": labels(session, URGENCY).get(ticket.priority, ticket.priority),
        "nature": labels(session, CASE_NATURE).get(ticket.nature, ticket.nature) if ticket.nature else "",
        "department_name": department.name if department is not None else "",
        "names": names,
        "overdue": ticket.is_active and ticket.due_at is not None and ticket.due_at < clock.now(),
        "custom_fields": _custom_fields(session, ticket, {f.id: f for f in files}),
        "actions": actions,
        "people": _people(session) if needs_people else [],
        "departments": [(d.id, "— " * depth + d.name) for d, depth in department_tree(session) if d.enabled]
        if needs_people
        else [],
        "log": _log(session, ticket, flow["instance"], files),
        "attachments": files,
        "contacts": queries.contacts(session, ticket),
        "channel_labels": labels(session, CHANNEL),
        "human_size": storage.human_size,
        "tracking_results": TRACKING_RESULTS,
        **flow,
    }
