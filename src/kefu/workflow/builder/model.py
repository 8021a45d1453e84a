"""The simple flow form (简单流程): an ordered list of nodes, each with its settings and approval states.

This is what an administrator fills in; `to_bpmn` turns it into BPMN 2.0 (see docs/workflow-bpmn.md)
and `from_bpmn` reads such BPMN back. The classes are plain data: nothing here checks values —
`validate_simple` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
KEFU_NS = "urn:kefu:bpmn:1"
NSMAP = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS, "xsi": XSI_NS, "kefu": KEFU_NS}

END = "end"
"""The reserved `next` of a state that finishes the flow."""

IMPLICIT_STATE = "done"
"""The single state of a node that declares none; it goes to the following node (the last: to the end)."""

DISPATCH_TYPES = ("auto", "manual", "grab")
ESCALATIONS = ("notify", "reassign", "path")
COUNTERSIGN_MODES = ("all", "any", "quorum")
ASSIGN_KINDS_WITH_REF = ("role", "department", "user", "group")
ASSIGN_KINDS_WITHOUT_REF = ("initiator", "submitter_supervisor", "previous_handler", "handling_department")
ASSIGN_KINDS_NODE_REF = ("node_handler", "node_department")
ASSIGN_KINDS = ASSIGN_KINDS_WITH_REF + ASSIGN_KINDS_WITHOUT_REF + ASSIGN_KINDS_NODE_REF

Dispatch = Literal["auto", "manual", "grab"]
Escalation = Literal["notify", "reassign", "path"]
CountersignMode = Literal["all", "any", "quorum"]


@dataclass
class AssignRule:
    """One candidate rule (WF-4): `kind` as in the contract; `ref` is a code, a username or a node id."""

    kind: str
    ref: str = ""


@dataclass
class StateRule:
    """An approval state (审批状态, WF-3): choosing `code` sends the flow to node `next` (or `"end"`)."""

    code: str
    label: str
    next: str


@dataclass
class Countersign:
    """Countersign (会签, WF-5): one task per participant listed in task data `participants_var`.

    `mode` "all" waits for everyone, "any" ends at the first completion, "quorum" after `quorum` of them.
    """

    mode: CountersignMode | str = "all"
    quorum: int | None = None
    participants_var: str = "countersigners"
    sequential: bool = False


@dataclass
class SimpleNode:
    """A flow node (流程节点, WF-2): who handles it, how it is dispatched, its time limit and states.

    With no `states` the node has the single implicit state "done", leading to the following node of
    the flow (the last node: to the end). `limit` is an ISO-8601 duration of working time; `escalation`
    (what happens after the limit) needs one, and with "path" `escalation_state` names the state taken.
    """

    id: str
    name: str
    dispatch: Dispatch | str = "auto"
    assign: list[AssignRule] = field(default_factory=list)
    states: list[StateRule] = field(default_factory=list)
    limit: str = ""
    warn_at: float = 0.75
    escalation: Escalation | str = "notify"
    countersign: Countersign | None = None
    escalation_state: str = ""


@dataclass
class SimpleFlow:
    """A flow template in the simple form: `code` becomes the BPMN process id; nodes[0] follows the start."""

    code: str
    name: str
    nodes: list[SimpleNode] = field(default_factory=list)


@dataclass(frozen=True)
class Route:
    """Where one state of a node leads; `implicit` marks the "done" state of a node without states."""

    node: str
    state: str
    label: str
    next: str
    implicit: bool = False


def routes(flow: SimpleFlow) -> list[Route]:
    """Every (node, state) → next of the flow in declaration order, implicit states included."""
    found: list[Route] = []
    for index, node in enumerate(flow.nodes):
        if node.states:
            found.extend(Route(node.id, s.code, s.label, s.next) for s in node.states)
        else:
            following = flow.nodes[index + 1].id if index + 1 < len(flow.nodes) else END
            found.append(Route(node.id, IMPLICIT_STATE, "", following, implicit=True))
    return found


START_EVENT = "StartEvent"
END_EVENT = "EndEvent"
START_FLOW = "Flow_start"


def gateway_id(node_id: str) -> str:
    return f"Gateway_{node_id}"


def flow_id(node_id: str, state: str) -> str:
    return f"Flow_{node_id}_{state}"


def gateway_flow_id(node_id: str) -> str:
    """The flow from a task to its gateway (state codes are lowercase, so no state flow has this id)."""
    return f"Flow_{node_id}_Gateway"


def input_item_id(node_id: str) -> str:
    """Id of a countersign node's inputDataItem; the engine stores each participant under this name."""
    return f"countersigner_{node_id}"


def participant_lists(flow: SimpleFlow) -> list[str]:
    """Task-data names of the countersign participant lists, each once; the process declares them as
    `bpmn:property` elements so that `loopDataInputRef` resolves (modelers drop unresolved references)."""
    names: list[str] = []
    for node in flow.nodes:
        if node.countersign is not None and node.countersign.participants_var not in names:
            names.append(node.countersign.participants_var)
    return names


def has_gateway(node: SimpleNode) -> bool:
    """A node with several states routes through an exclusive gateway; one or none flows directly."""
    return len(node.states) > 1


def generated_ids(flow: SimpleFlow) -> list[tuple[int | None, str]]:
    """Every element id `to_bpmn` writes, with the index of the node that causes it (None: the flow)."""
    drawn: list[tuple[int | None, str]] = [(None, START_EVENT), (None, END_EVENT), (None, START_FLOW)]
    other: list[tuple[int | None, str]] = [
        (None, f"Definitions_{flow.code}"),
        (None, flow.code),
        (None, f"BPMNDiagram_{flow.code}"),
        (None, f"BPMNPlane_{flow.code}"),
    ]
    index_of = {node.id: index for index, node in enumerate(flow.nodes)}
    for index, node in enumerate(flow.nodes):
        drawn.append((index, node.id))
        if has_gateway(node):
            drawn += [(index, gateway_id(node.id)), (index, gateway_flow_id(node.id))]
        if node.countersign is not None:
            other.append((index, input_item_id(node.id)))
            if node.countersign.participants_var not in {element for _, element in other}:
                other.append((index, node.countersign.participants_var))
    drawn.extend((index_of[r.node], flow_id(r.node, r.state)) for r in routes(flow))
    return drawn + other + [(owner, f"{element}_di") for owner, element in drawn]
