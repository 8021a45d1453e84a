"""Checks of the simple flow form: every problem at once, each naming the field it belongs to."""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from kefu.core.errors import KefuError
from kefu.core.i18n import lazy
from kefu.workflow.builder.model import (
    ASSIGN_KINDS,
    ASSIGN_KINDS_NODE_REF,
    ASSIGN_KINDS_WITH_REF,
    COUNTERSIGN_MODES,
    DISPATCH_TYPES,
    END,
    ESCALATIONS,
    IMPLICIT_STATE,
    Countersign,
    SimpleFlow,
    SimpleNode,
    generated_ids,
    routes,
)

# XML NCName (what BPMN ids must be): a letter or "_" first, then letters, digits, "_", "-", ".".
NCNAME_RE = re.compile(r"^[^\W\d][\w.\-\u00B7\u0300-\u036F\u203F\u2040]*$")
STATE_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
DATA_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# ISO-8601 durations of working time: days, hours, minutes, seconds (no years or months: their length
# in working time is not defined).
DURATION_RE = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


NCNAME_MESSAGE = lazy("Start with a letter or '_', then use letters, digits, '_', '-' or '.'")
REQUIRED_MESSAGE = lazy("This field is required")


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with the form: `field` is a path such as "nodes[2].states[0].next"."""

    field: str
    message: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def render(self, gettext: Callable[[str], str] = lambda s: s) -> str:
        """The message in the reader's language (msgid translated first, params filled in after)."""
        text = gettext(self.message)
        return text % self.params if self.params else text


class InvalidFlow(KefuError):
    """`to_bpmn` was given a flow that `validate_simple` rejects; `problems` lists why."""

    status_code = 422
    code = "invalid_flow"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(lazy("The flow has %(count)s problems"), count=len(problems))
        self.problems = problems


def is_ncname(value: str) -> bool:
    return bool(NCNAME_RE.match(value))


def parse_duration(value: str) -> int | None:
    """Seconds of an ISO-8601 day-time duration ("PT8H", "P2D" = 2 working days → 2×86400), or None."""
    match = DURATION_RE.match(value)
    if not match or value == "P" or value.endswith("T"):
        return None
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def validate_simple(flow: SimpleFlow) -> list[Problem]:
    """Every problem of `flow`, in form order; an empty list means `to_bpmn` will accept it."""
    problems: list[Problem] = []
    add = problems.append
    if not flow.code:
        add(Problem("code", REQUIRED_MESSAGE))
    elif not is_ncname(flow.code):
        add(Problem("code", NCNAME_MESSAGE))
    if not flow.name.strip():
        add(Problem("name", REQUIRED_MESSAGE))
    if not flow.nodes:
        add(Problem("nodes", lazy("Add at least one node")))
        return problems
    ids = Counter(node.id for node in flow.nodes)
    for index, node in enumerate(flow.nodes):
        problems.extend(_node_problems(flow, index, node, ids))
    if all(count == 1 for count in ids.values()) and END not in ids:
        problems.extend(_reachability(flow))
    if not problems:
        problems.extend(_clashes(flow))  # a last check: with bad ids or codes, clashes are just noise
    return problems


def _node_problems(flow: SimpleFlow, index: int, node: SimpleNode, ids: Counter[str]) -> list[Problem]:
    at = f"nodes[{index}]"
    found: list[Problem] = []
    add = found.append
    if node.id == END:
        add(Problem(f"{at}.id", lazy("%(id)s is reserved for the end of the flow"), {"id": END}))
    elif not is_ncname(node.id):
        add(Problem(f"{at}.id", NCNAME_MESSAGE))
    elif ids[node.id] > 1:
        add(Problem(f"{at}.id", lazy("Another node has the id %(id)s"), {"id": node.id}))
    if not node.name.strip():
        add(Problem(f"{at}.name", REQUIRED_MESSAGE))
    if node.dispatch not in DISPATCH_TYPES:
        add(Problem(f"{at}.dispatch", lazy("Choose auto, manual or grab")))
    found.extend(_assign_problems(flow, at, node))
    found.extend(_state_problems(flow, at, node, ids))
    if node.limit:
        seconds = parse_duration(node.limit)
        if seconds is None:
            add(Problem(f"{at}.limit", lazy("Enter a working-time duration such as PT8H or P2D")))
        elif seconds == 0:
            add(Problem(f"{at}.limit", lazy("The time limit must be longer than zero")))
    if not isinstance(node.warn_at, int | float) or math.isnan(node.warn_at) or not 0 < node.warn_at < 1:
        add(Problem(f"{at}.warn_at", lazy("Enter a fraction between 0 and 1")))
    if node.escalation not in ESCALATIONS:
        add(Problem(f"{at}.escalation", lazy("Choose notify, reassign or path")))
    elif node.escalation != "notify" and not node.limit:
        add(Problem(f"{at}.escalation", lazy("Set a time limit for the escalation to apply")))
    codes = [state.code for state in node.states] or [IMPLICIT_STATE]
    if node.escalation == "path" and node.escalation_state not in codes:
        add(Problem(f"{at}.escalation_state", lazy("Choose the state to take after the time limit")))
    elif node.escalation != "path" and node.escalation_state:
        add(Problem(f"{at}.escalation_state", lazy("Only the path escalation takes a state")))
    if node.countersign is not None:
        found.extend(_countersign_problems(f"{at}.countersign", node.countersign))
    return found


def _assign_problems(flow: SimpleFlow, at: str, node: SimpleNode) -> list[Problem]:
    found: list[Problem] = []
    if not node.assign:
        found.append(Problem(f"{at}.assign", lazy("Add at least one rule for who handles this node")))
    node_ids = {other.id for other in flow.nodes}
    for number, rule in enumerate(node.assign):
        field_ = f"{at}.assign[{number}]"
        if rule.kind not in ASSIGN_KINDS:
            found.append(Problem(f"{field_}.kind", lazy("Unknown rule kind %(kind)s"), {"kind": rule.kind}))
        elif rule.kind in ASSIGN_KINDS_WITH_REF and not rule.ref.strip():
            found.append(Problem(f"{field_}.ref", REQUIRED_MESSAGE))
        elif rule.kind in ASSIGN_KINDS_NODE_REF and (rule.ref not in node_ids or rule.ref == node.id):
            found.append(Problem(f"{field_}.ref", lazy("Choose another node of this flow")))
        elif rule.kind not in ASSIGN_KINDS_WITH_REF + ASSIGN_KINDS_NODE_REF and rule.ref:
            found.append(Problem(f"{field_}.ref", lazy("This kind of rule takes no reference")))
    return found


def _state_problems(flow: SimpleFlow, at: str, node: SimpleNode, ids: Counter[str]) -> list[Problem]:
    found: list[Problem] = []
    codes = Counter(state.code for state in node.states)
    for number, state in enumerate(node.states):
        field_ = f"{at}.states[{number}]"
        if not STATE_CODE_RE.match(state.code):
            found.append(
                Problem(
                    f"{field_}.code",
                    lazy("Start with a lowercase letter, then use lowercase letters, digits or '_'"),
                )
            )
        elif codes[state.code] > 1:
            found.append(
                Problem(
                    f"{field_}.code",
                    lazy("Another state of this node has the code %(code)s"),
                    {"code": state.code},
                )
            )
        if state.next != END and state.next not in ids:
            found.append(Problem(f"{field_}.next", lazy("No node has the id %(id)s"), {"id": state.next}))
    return found


def _countersign_problems(at: str, countersign: Countersign) -> list[Problem]:
    found: list[Problem] = []
    if countersign.mode not in COUNTERSIGN_MODES:
        found.append(Problem(f"{at}.mode", lazy("Choose all, any or quorum")))
    quorum = countersign.quorum
    valid_quorum = isinstance(quorum, int) and not isinstance(quorum, bool) and quorum >= 1
    if countersign.mode == "quorum" and not valid_quorum:
        found.append(Problem(f"{at}.quorum", lazy("Enter a quorum of at least 1")))
    elif countersign.mode != "quorum" and quorum is not None:
        found.append(Problem(f"{at}.quorum", lazy("Only the quorum mode takes a quorum")))
    if not DATA_NAME_RE.match(countersign.participants_var):
        message = lazy("Start with a letter or '_', then use letters, digits or '_'")
        found.append(Problem(f"{at}.participants_var", message))
    return found


def _clashes(flow: SimpleFlow) -> list[Problem]:
    """Generated ids that coincide, e.g. Flow_a_b_c of node "a_b" state "c" and of node "a" state "b_c".

    The problem goes to the node whose own id it is, else to the node that caused the later one."""
    node_ids = {node.id: index for index, node in enumerate(flow.nodes)}
    seen: dict[str, int | None] = {}
    found: list[Problem] = []
    for owner, element in generated_ids(flow):
        if element in seen:
            blamed = node_ids.get(element, owner if owner is not None else seen[element])
            where = f"nodes[{blamed}].id" if blamed is not None else "code"
            message = lazy("The id %(id)s clashes with another element of the flow")
            found.append(Problem(where, message, {"id": element}))
        else:
            seen[element] = owner
    return found


def _reachability(flow: SimpleFlow) -> list[Problem]:
    """Every node must be reachable from the start, and the end reachable from every node."""
    successors: dict[str, list[str]] = {node.id: [] for node in flow.nodes}
    predecessors: dict[str, list[str]] = {node.id: [] for node in flow.nodes}
    predecessors[END] = []
    for route in routes(flow):
        if route.next in predecessors:
            successors[route.node].append(route.next)
            predecessors[route.next].append(route.node)
    reached = _closure(flow.nodes[0].id, successors)
    finishing = _closure(END, predecessors)
    found: list[Problem] = []
    for index, node in enumerate(flow.nodes):
        if node.id not in reached:
            found.append(
                Problem(
                    f"nodes[{index}].id",
                    lazy("Node %(id)s cannot be reached from the start"),
                    {"id": node.id},
                )
            )
        elif node.id not in finishing:
            found.append(
                Problem(
                    f"nodes[{index}].states",
                    lazy("No path leads from node %(id)s to the end"),
                    {"id": node.id},
                )
            )
    return found


def _closure(origin: str, edges: dict[str, list[str]]) -> set[str]:
    seen = {origin}
    pending = [origin]
    while pending:
        for target in edges.get(pending.pop(), []):
            if target not in seen:
                seen.add(target)
                pending.append(target)
    return seen
