"""The simple flow builder over the web (简单流程配置): the JSON shape of a flow, its problems, and saving.

The builder page and the builder API share this module: both send a flow as `BuilderFlow` JSON, get
every problem at once, each located at the field it belongs to (`nodes[1].states[0].next`), and save
through the flow-template service (`flows.create_template` / `flows.save_draft`), which audits.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.errors import Conflict, KefuError, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.org.models import Department, Role, User, UserGroup
from kefu.workflow import flows
from kefu.workflow.builder import (
    AssignRule,
    Countersign,
    Problem,
    SimpleFlow,
    SimpleNode,
    StateRule,
    from_bpmn,
    to_bpmn,
    validate_simple,
)
from kefu.workflow.models import FlowTemplate, FlowVersion

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class BuilderAssign(BaseModel):
    kind: str
    ref: str = ""


class BuilderState(BaseModel):
    code: str
    label: str = ""
    next: str


class BuilderCountersign(BaseModel):
    mode: str = "all"
    quorum: int | None = None
    participants_var: str = "countersigners"
    sequential: bool = False


class BuilderNode(BaseModel):
    id: str
    name: str = ""
    dispatch: str = "auto"
    assign: list[BuilderAssign] = Field(default_factory=list)
    states: list[BuilderState] = Field(default_factory=list)
    limit: str = Field(default="", description="Working time, ISO-8601: PT8H, P2D (days of calendar hours).")
    warn_at: float | None = Field(default=0.75, description="Fraction of the limit that triggers a warning.")
    escalation: str = "notify"
    escalation_state: str = ""
    countersign: BuilderCountersign | None = None


class BuilderFlow(BaseModel):
    """A flow in the simple form; `code` is the BPMN process id (and the template code of a new template)."""

    code: str = ""
    name: str = ""
    nodes: list[BuilderNode] = Field(default_factory=list)


class BuilderSave(BuilderFlow):
    """Create a template (`template_id` empty) or put the flow into the draft of template `template_id`."""

    template_id: int | None = None
    description: str = ""
    comment: str = Field(default="", max_length=500)


class BuilderProblemRead(BaseModel):
    field: str
    loc: list[str | int]
    message: str


class BuilderPreview(BaseModel):
    """The BPMN the flow becomes (empty while it has problems) and its problems."""

    bpmn_xml: str
    problems: list[BuilderProblemRead]


class BuilderOption(BaseModel):
    value: str
    label: str


class BuilderOptions(BaseModel):
    """What candidate rules may refer to: role, department and user-group codes, usernames."""

    role: list[BuilderOption]
    department: list[BuilderOption]
    group: list[BuilderOption]
    user: list[BuilderOption]


class FlowProblems(KefuError):
    """The flow cannot be saved; on the API each problem is a 422 entry located at its field."""

    status_code = 422
    code = "invalid_flow"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(lazy("The flow has %(count)s problems"), count=len(problems))
        self.problems = problems

    def as_detail(self, gettext: Any = lambda s: s) -> list[dict[str, object]]:
        return [
            {"loc": ["body", *location(p.field)], "msg": p.render(gettext), "type": "invalid_flow"}
            for p in self.problems
        ]


def location(path: str) -> list[str | int]:
    """The parts of a field path: `nodes[1].states[0].next` → ["nodes", 1, "states", 0, "next"]."""
    return [name if name else int(index) for name, index in _PATH_PART.findall(path)]


def path_of(loc: tuple[Any, ...] | list[Any]) -> str:
    """The inverse of `location`: ("nodes", 1, "id") → "nodes[1].id"."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def parse_problems(error: ValidationError) -> list[Problem]:
    """Pydantic's complaints about a builder body as Problems (message: pydantic's English text)."""
    return [Problem(path_of(e["loc"]), str(e["msg"])) for e in error.errors()]


def to_simple(body: BuilderFlow) -> SimpleFlow:
    """The builder's plain data form of `body` (nothing checked yet: see `problems`)."""
    nodes = []
    for node in body.nodes:
        countersign = None
        if node.countersign is not None:
            countersign = Countersign(**node.countersign.model_dump())
        nodes.append(
            SimpleNode(
                id=node.id.strip(),
                name=node.name.strip(),
                dispatch=node.dispatch,
                assign=[AssignRule(rule.kind, rule.ref.strip()) for rule in node.assign],
                states=[StateRule(s.code.strip(), s.label.strip(), s.next) for s in node.states],
                limit=node.limit.strip(),
                warn_at=node.warn_at if node.warn_at is not None else float("nan"),
                escalation=node.escalation,
                escalation_state=node.escalation_state,
                countersign=countersign,
            )
        )
    return SimpleFlow(code=body.code.strip(), name=body.name.strip(), nodes=nodes)


def from_simple(flow: SimpleFlow) -> BuilderFlow:
    """`flow` as builder JSON (to fill the form or answer the API)."""
    return BuilderFlow.model_validate(
        {
            "code": flow.code,
            "name": flow.name,
            "nodes": [
                {
                    "id": n.id,
                    "name": n.name,
                    "dispatch": n.dispatch,
                    "assign": [{"kind": r.kind, "ref": r.ref} for r in n.assign],
                    "states": [{"code": s.code, "label": s.label, "next": s.next} for s in n.states],
                    "limit": n.limit,
                    "warn_at": n.warn_at,
                    "escalation": n.escalation,
                    "escalation_state": n.escalation_state,
                    "countersign": None if n.countersign is None else vars(n.countersign),
                }
                for n in flow.nodes
            ],
        }
    )


_ORG_REFS: dict[str, tuple[Any, str]] = {
    "role": (Role.code, lazy("No role has the code %(ref)s")),
    "department": (Department.code, lazy("No department has the code %(ref)s")),
    "group": (UserGroup.code, lazy("No user group has the code %(ref)s")),
    "user": (User.username, lazy("No active user has the username %(ref)s")),
}


def org_problems(session: Session, flow: SimpleFlow) -> list[Problem]:
    """Candidate rules naming a role, department, user group or user that does not exist (WF-4)."""
    wanted: dict[str, set[str]] = {}
    for node in flow.nodes:
        for rule in node.assign:
            if rule.kind in _ORG_REFS and rule.ref:
                wanted.setdefault(rule.kind, set()).add(rule.ref)
    known: dict[str, set[str]] = {}
    for kind, refs in wanted.items():
        column = _ORG_REFS[kind][0]
        stmt = select(column).where(column.in_(refs))
        if kind == "user":
            stmt = stmt.where(User.is_active.is_(True))
        known[kind] = set(session.scalars(stmt))
    found = []
    for index, node in enumerate(flow.nodes):
        for number, rule in enumerate(node.assign):
            if rule.kind in wanted and rule.ref and rule.ref not in known[rule.kind]:
                message = _ORG_REFS[rule.kind][1]
                found.append(Problem(f"nodes[{index}].assign[{number}].ref", message, {"ref": rule.ref}))
    return found


def problems(session: Session, flow: SimpleFlow) -> list[Problem]:
    """Every problem of `flow`: the builder's checks, then references to the organisation."""
    return validate_simple(flow) + org_problems(session, flow)


def preview(session: Session, body: BuilderFlow) -> tuple[str, list[Problem]]:
    """(BPMN XML, problems) of `body`; the XML is empty while there are problems. Changes nothing."""
    flow = to_simple(body)
    found = problems(session, flow)
    return ("" if found else to_bpmn(flow)), found


def save(
    session: Session,
    *,
    actor: Actor,
    body: BuilderFlow,
    template: FlowTemplate | None,
    description: str = "",
    comment: str = "",
) -> tuple[FlowTemplate, FlowVersion]:
    """Write the flow as BPMN into a new template (code and name from the flow) or into the draft of
    `template`; raises FlowProblems (422, every problem) and saves nothing when the flow has problems.

    Creating needs `workflow.templates.create`, saving into a template `workflow.templates.edit`.
    """
    needed = "workflow.templates.create" if template is None else "workflow.templates.edit"
    if not actor.can(needed):
        raise PermissionDenied()
    flow = to_simple(body)
    found = problems(session, flow)
    if found:
        raise FlowProblems(found)
    xml = to_bpmn(flow)
    if template is None:
        template = flows.create_template(
            session, actor=actor, code=flow.code, name=flow.name, bpmn_xml=xml, description=description
        )
        return template, template.versions[0]
    return template, flows.save_draft(session, actor=actor, template=template, bpmn_xml=xml, comment=comment)


def latest_version(template: FlowTemplate) -> FlowVersion:
    return max(template.versions, key=lambda v: v.number)


def read_template(template: FlowTemplate) -> BuilderFlow | None:
    """The simple form of the template's latest version, or None when the builder cannot show it."""
    try:
        flow = from_bpmn(latest_version(template).bpmn_xml)
    except ValueError:
        return None
    return None if flow is None else from_simple(flow)


def read_template_or_refuse(template: FlowTemplate) -> BuilderFlow:
    flow = read_template(template)
    if flow is None:
        raise Conflict("This flow uses more than the simple builder can show; edit it in the designer")
    return flow


def options(session: Session) -> BuilderOptions:
    """The organisation's roles, departments, user groups and active users, for candidate-rule choices.

    Role codes are unique within a group only; a rule names the code, so each code is listed once.
    """
    roles: dict[str, str] = {}
    for role in session.scalars(select(Role).order_by(Role.code, Role.id)):
        roles.setdefault(role.code, role.name)
    departments = session.scalars(
        select(Department).where(Department.enabled.is_(True)).order_by(Department.sort, Department.code)
    )
    groups = session.scalars(select(UserGroup).order_by(UserGroup.code))
    users = session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.username))
    return BuilderOptions(
        role=[BuilderOption(value=code, label=f"{name} ({code})") for code, name in roles.items()],
        department=[BuilderOption(value=d.code, label=f"{d.name} ({d.code})") for d in departments],
        group=[BuilderOption(value=g.code, label=f"{g.name} ({g.code})") for g in groups],
        user=[BuilderOption(value=u.username, label=f"{u.name} ({u.username})") for u in users],
    )
