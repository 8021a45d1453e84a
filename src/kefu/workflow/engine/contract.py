"""The kefu contract of `docs/workflow-bpmn.md`: node settings, approval states and how they route.

Each check returns Problems naming the element at fault; none of them runs anything of the flow.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Any

from kefu.core.i18n import lazy
from kefu.workflow.engine.graph import Flow, Graph
from kefu.workflow.engine.model import (
    ASSIGN_KINDS,
    ASSIGN_KINDS_WITH_REF,
    COUNTERSIGN_MODES,
    DISPATCH_TYPES,
    ESCALATIONS,
    HUMAN_KINDS,
    IMPLICIT_STATE,
    NODE_KINDS,
    Problem,
    bpmn,
    is_iso_duration,
    kefu,
    local_name,
)

STATE_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
STATE_NAME = "kefu_state"
CONDITIONAL_SOURCES = ("exclusiveGateway", "inclusiveGateway")
_NO_PARTICIPANTS = lazy(
    "A countersign needs its participants as a collection (loopDataInputRef and inputDataItem)."
)
_NO_RULE = lazy("A countersign needs at least one assignment rule (kefu:assign) to name its participants.")
_UNGUARDED_BRANCH = lazy(
    "Branch %(flow)s of gateway %(gateway)s needs a condition or must be the default flow."
)


def check_contract(graph: Graph) -> list[Problem]:
    """Every kefu-contract problem of the process in `graph`."""
    problems: list[Problem] = []
    declared: dict[str, tuple[str, ...]] = {}
    for node_id, element in graph.nodes.items():
        node = element.find(f"{bpmn('extensionElements')}/{kefu('node')}")
        if node is not None:
            problems += _check_node(graph, node_id, element, node)
        if element.find(f"{bpmn('extensionElements')}/{kefu('countersign')}") is not None:
            problems += _check_countersign(node_id, element)
        if NODE_KINDS.get(local_name(element)) in HUMAN_KINDS:
            codes = tuple(s.get("code", "") for s in node.iter(kefu("state"))) if node is not None else ()
            declared[node_id] = codes or (IMPLICIT_STATE,)
    problems += _check_branches(graph)
    problems += _check_routes(graph, declared)
    return problems


def state_mentions(condition: str) -> tuple[set[str], set[str]]:
    """State codes a condition compares `kefu_state` with: (codes it selects, every code it names).

    `kefu_state == "a"` and `kefu_state in ("a", "b")` select; `!=` and `not in` only name.
    """
    try:
        tree = ast.parse(condition.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return set(), set()
    selected: set[str] = set()
    named: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or len(node.ops) != 1:
            continue
        left, op, right = node.left, node.ops[0], node.comparators[0]
        if isinstance(right, ast.Name) and right.id == STATE_NAME and isinstance(op, ast.Eq | ast.NotEq):
            left, right = right, left
        if not (isinstance(left, ast.Name) and left.id == STATE_NAME):
            continue
        codes = set(_string_constants(right))
        named |= codes
        if isinstance(op, ast.Eq | ast.In):
            selected |= codes
    return selected, named


def _string_constants(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        for element in node.elts:
            yield from _string_constants(element)


def _check_node(graph: Graph, node_id: str, element: Any, node: Any) -> list[Problem]:
    problems: list[Problem] = []

    def problem(message: str, **params: Any) -> None:
        problems.append(Problem(node_id, message, params))

    if NODE_KINDS.get(local_name(element)) not in HUMAN_KINDS:
        problem(lazy("Node settings (kefu:node) are only allowed on user tasks."))
        return problems
    dispatch = node.get("dispatch")
    if dispatch is not None and dispatch not in DISPATCH_TYPES:
        problem(
            lazy("Dispatch type %(value)s is not one of: %(allowed)s"),
            value=dispatch,
            allowed=", ".join(DISPATCH_TYPES),
        )
    limit = node.get("limit")
    if limit and not is_iso_duration(limit):
        problem(lazy("Time limit %(value)s is not an ISO-8601 duration such as PT8H or P2D."), value=limit)
    warn_at = node.get("warn-at")
    if warn_at is not None and not _is_fraction(warn_at):
        problem(lazy("warn-at must be a fraction between 0 and 1, not %(value)s."), value=warn_at)
    codes: list[str] = []
    for state in node.iter(kefu("state")):
        code = state.get("code", "")
        if not STATE_CODE.match(code):
            problem(lazy("State code %(code)s is not valid (letters, digits, _ . - only)."), code=code)
        elif code in codes:
            problem(lazy("State %(code)s is declared twice."), code=code)
        codes.append(code)
        target = state.get("next")
        if target is not None and target not in graph.nodes:
            problem(
                lazy("State %(state)s goes to node %(next)s, which does not exist."), state=code, next=target
            )
    escalation = node.get("escalation")
    if escalation is not None:
        if escalation not in ESCALATIONS:
            problem(
                lazy("Escalation %(value)s is not one of: %(allowed)s"),
                value=escalation,
                allowed=", ".join(ESCALATIONS),
            )
        if not limit:
            problem(lazy("Escalation needs a time limit (limit)."))
        if escalation == "path" and node.get("escalation-state") not in codes:
            problem(
                lazy("Escalation state %(state)s is not a state of this node."),
                state=node.get("escalation-state", ""),
            )
    for rule in node.iter(kefu("assign")):
        kind, ref = rule.get("kind", ""), rule.get("ref")
        if kind not in ASSIGN_KINDS:
            problem(
                lazy("Assignment kind %(kind)s is not one of: %(allowed)s"),
                kind=kind,
                allowed=", ".join(ASSIGN_KINDS),
            )
        elif kind in ASSIGN_KINDS_WITH_REF and not ref:
            problem(lazy("Assignment kind %(kind)s needs a ref."), kind=kind)
        elif kind.startswith("node_") and NODE_KINDS.get(graph.kind(ref or "")) not in HUMAN_KINDS:
            problem(
                lazy("Assignment refers to node %(ref)s, which is not a user task of this flow."), ref=ref
            )
    return problems


def _is_fraction(text: str) -> bool:
    try:
        return 0 < float(text) < 1
    except ValueError:
        return False


def _check_countersign(node_id: str, element: Any) -> list[Problem]:
    rule = element.find(f"{bpmn('extensionElements')}/{kefu('countersign')}")
    loop = element.find(bpmn("multiInstanceLoopCharacteristics"))
    if loop is None:
        return [
            Problem(
                node_id, lazy("A countersign (kefu:countersign) is only allowed on a multi-instance task.")
            )
        ]
    problems: list[Problem] = []
    mode = rule.get("mode", "")
    if mode not in COUNTERSIGN_MODES:
        problems.append(
            Problem(
                node_id,
                lazy("Countersign mode %(value)s is not one of: %(allowed)s"),
                {"value": mode, "allowed": ", ".join(COUNTERSIGN_MODES)},
            )
        )
    quorum = rule.get("quorum", "")
    if mode == "quorum" and not (quorum.strip().isdigit() and int(quorum) > 0):
        problems.append(
            Problem(
                node_id,
                lazy("Countersign quorum must be a positive whole number, not %(value)s."),
                {"value": quorum},
            )
        )
    if loop.find(bpmn("completionCondition")) is not None:
        problems.append(
            Problem(
                node_id, lazy("A countersign sets its own completion rule; remove the completion condition.")
            )
        )
    if loop.find(bpmn("loopDataInputRef")) is None or loop.find(bpmn("inputDataItem")) is None:
        problems.append(Problem(node_id, _NO_PARTICIPANTS))
    # Without a rule nobody is named unless every caller supplies the list itself (tickets never
    # do), and a countersign without participants is never entered (WF-9): refuse it now.
    if element.find(f"{bpmn('extensionElements')}/{kefu('node')}/{kefu('assign')}") is None:
        problems.append(Problem(node_id, _NO_RULE))
    return problems


def _check_branches(graph: Graph) -> list[Problem]:
    """Conditions only on gateway branches; each branch of a choosing gateway has one or is the default."""
    problems: list[Problem] = []
    for flow in graph.flows.values():
        if flow.condition is not None and graph.kind(flow.source) not in CONDITIONAL_SOURCES:
            problems.append(
                Problem(
                    flow.flow_id,
                    lazy("Conditions are only allowed on flows leaving an exclusive or inclusive gateway."),
                )
            )
    for node_id, element in graph.nodes.items():
        if local_name(element) not in CONDITIONAL_SOURCES:
            continue
        branches = graph.out(node_id)
        default = element.get("default")
        if default is not None and default not in {f.flow_id for f in branches}:
            problems.append(
                Problem(
                    node_id, lazy("The default flow %(flow)s does not leave this gateway."), {"flow": default}
                )
            )
        if len(branches) < 2:
            continue
        for flow in branches:
            if flow.condition is None and flow.flow_id != default:
                problems.append(
                    Problem(flow.flow_id, _UNGUARDED_BRANCH, {"flow": flow.flow_id, "gateway": node_id})
                )
    return problems


def _check_routes(graph: Graph, declared: dict[str, tuple[str, ...]]) -> list[Problem]:
    """Each declared state has exactly one flow leading to its `next`; conditions name declared states."""
    problems: list[Problem] = []
    decided_by: dict[str, set[str]] = {}  # deciding gateway → states of the tasks it follows
    for node_id, codes in declared.items():
        node = graph.nodes[node_id].find(f"{bpmn('extensionElements')}/{kefu('node')}")
        states = list(node.iter(kefu("state"))) if node is not None else []
        choice = graph.following_choice(node_id)
        if choice is None:
            if states:
                problems.append(
                    Problem(
                        node_id,
                        lazy(
                            "A node with states needs one outgoing flow (to a node or an exclusive gateway)."
                        ),
                    )
                )
            continue
        decider, branches, default = choice
        if decider != node_id:
            decided_by.setdefault(decider, set()).update(codes)
        for state in states:
            problems += _check_state_route(
                node_id, state.get("code", ""), state.get("next"), branches, default
            )
    every_code = {code for codes in declared.values() for code in codes}
    for flow in graph.flows.values():
        if flow.condition is None:
            continue
        known = decided_by.get(flow.source, every_code)
        for code in sorted(state_mentions(flow.condition)[1] - known):
            problems.append(
                Problem(
                    flow.flow_id,
                    lazy("The condition names state %(state)s, which no node before it declares."),
                    {"state": code},
                )
            )
    return problems


def _check_state_route(
    node_id: str, code: str, target: str | None, branches: list[Flow], default: str | None
) -> list[Problem]:
    params: dict[str, Any] = {"state": code, "node": node_id}
    if len(branches) == 1 and branches[0].condition is None:
        chosen = branches[0]
    else:
        matching = [f for f in branches if code in state_mentions(f.condition or "")[0]]
        if len(matching) > 1:
            flows = ", ".join(f.flow_id for f in matching)
            return [
                Problem(
                    node_id,
                    lazy("State %(state)s of %(node)s matches several flows: %(flows)s"),
                    {**params, "flows": flows},
                )
            ]
        fallback = [f for f in branches if f.flow_id == default]
        if not matching and not fallback:
            return [Problem(node_id, lazy("State %(state)s of %(node)s has no outgoing flow."), params)]
        chosen = (matching or fallback)[0]
    if target is not None and chosen.target != target:
        return [
            Problem(
                node_id,
                lazy("State %(state)s of %(node)s leads to %(target)s, but its next node is %(next)s."),
                {**params, "target": chosen.target, "next": target},
            )
        ]
    return []
