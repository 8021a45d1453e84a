"""BPMN 2.0 XML → simple flow form, when the diagram is still of the simple shape.

The simple shape: one process with one plain start event, user tasks, exclusive gateways and plain end
events. The start leads to a task; each task has one outgoing flow, either straight to a task or an end
event, or into an exclusive gateway of its own whose flows (conditions `kefu_state == "<code>"`, one per
state) lead to tasks or end events. Anything else — other tasks or gateways, boundary or intermediate
events, sub-processes, pools, lanes, annotations, documentation, other extensions, default flows — is
for the graphical designer: saving the form again would lose it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from kefu.workflow.builder.bpmn_out import state_condition
from kefu.workflow.builder.model import (
    BPMN_NS,
    END,
    IMPLICIT_STATE,
    KEFU_NS,
    AssignRule,
    Countersign,
    SimpleFlow,
    SimpleNode,
    StateRule,
)

CONDITION_RE = re.compile(r"""^\s*kefu_state\s*==\s*(["'])([a-z][a-z0-9_]*)\1\s*$""")
EVENT_CHILDREN = {"incoming", "outgoing"}
TASK_CHILDREN = EVENT_CHILDREN | {"extensionElements", "multiInstanceLoopCharacteristics"}
KEFU_TASK_SETTINGS = {f"{{{KEFU_NS}}}node", f"{{{KEFU_NS}}}countersign"}
KEFU_NODE_CHILDREN = {f"{{{KEFU_NS}}}assign", f"{{{KEFU_NS}}}state"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, remove_pis=True)


class NotSimple(Exception):
    """The diagram uses more than the simple builder can show."""


@dataclass
class _Sequence:
    id: str
    source: str
    target: str
    name: str
    condition: str | None


def from_bpmn(xml: str | bytes) -> SimpleFlow | None:
    """The simple form of a BPMN flow, or None when it is not of the simple shape (see the module doc).

    What the sequence flows say wins over the `next` attributes of `kefu:state` (the flows are what
    runs). A task without declared states whose flow does not lead to the following task (in document
    order, the start's task first) gets an explicit "done" state. Raises ValueError when `xml` is not
    well-formed XML.
    """
    try:
        root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not well-formed XML: {exc}") from exc
    try:
        return _read(root)
    except NotSimple:
        return None


def _tag(element: etree._Element) -> str:
    qname = etree.QName(element)
    if qname.namespace != BPMN_NS:
        raise NotSimple(qname.text)
    return qname.localname


def _read(root: etree._Element) -> SimpleFlow:
    if _tag(root) != "definitions" or root.find(f"{{{BPMN_NS}}}collaboration") is not None:
        raise NotSimple("definitions")
    processes = root.findall(f"{{{BPMN_NS}}}process")
    if len(processes) != 1:
        raise NotSimple("process")
    process = processes[0]
    kinds: dict[str, str] = {}
    elements: dict[str, etree._Element] = {}
    sequences: list[_Sequence] = []
    for child in process:
        tag = _tag(child)
        if tag == "sequenceFlow":
            condition = child.find(f"{{{BPMN_NS}}}conditionExpression")
            sequences.append(
                _Sequence(
                    child.get("id", ""),
                    child.get("sourceRef", ""),
                    child.get("targetRef", ""),
                    child.get("name", ""),
                    None if condition is None else (condition.text or ""),
                )
            )
        elif tag in ("startEvent", "endEvent", "userTask", "exclusiveGateway"):
            _check_element(tag, child)
            if child.get("id", "") in kinds:
                raise NotSimple(child.get("id", ""))
            kinds[child.get("id", "")] = tag
            elements[child.get("id", "")] = child
        elif tag != "property":  # properties declare data (the participant lists); they do nothing
            raise NotSimple(tag)
    out: dict[str, list[_Sequence]] = {element: [] for element in kinds}
    into: dict[str, list[_Sequence]] = {element: [] for element in kinds}
    for sequence in sequences:
        if sequence.source not in kinds or sequence.target not in kinds:
            raise NotSimple(sequence.id)
        out[sequence.source].append(sequence)
        into[sequence.target].append(sequence)
    starts = [element for element, kind in kinds.items() if kind == "startEvent"]
    if len(starts) != 1 or into[starts[0]] or len(out[starts[0]]) != 1:
        raise NotSimple("startEvent")
    first = out[starts[0]][0]
    if first.condition is not None or kinds[first.target] != "userTask":
        raise NotSimple(first.id)
    tasks = [element for element, kind in kinds.items() if kind == "userTask"]
    order = [first.target] + [task for task in tasks if task != first.target]
    owned: set[str] = set()
    nodes = []
    for index, task in enumerate(order):
        following = order[index + 1] if index + 1 < len(order) else END
        node = _read_node(elements[task], kinds, out, into, owned, following)
        nodes.append(node)
    for element, kind in kinds.items():
        if (kind == "exclusiveGateway" and element not in owned) or (kind == "endEvent" and out[element]):
            raise NotSimple(element)
    return SimpleFlow(code=process.get("id", ""), name=process.get("name", ""), nodes=nodes)


def _check_element(tag: str, element: etree._Element) -> None:
    if tag == "exclusiveGateway" and element.get("default"):
        raise NotSimple("default flow")
    for child in element:
        name = _tag(child)
        if name not in (TASK_CHILDREN if tag == "userTask" else EVENT_CHILDREN):
            raise NotSimple(name)
        if name == "extensionElements":
            for setting in child:
                if setting.tag not in KEFU_TASK_SETTINGS:
                    raise NotSimple(str(setting.tag))
                if any(part.tag not in KEFU_NODE_CHILDREN for part in setting):
                    raise NotSimple(str(setting.tag))


def _read_node(
    task: etree._Element,
    kinds: dict[str, str],
    out: dict[str, list[_Sequence]],
    into: dict[str, list[_Sequence]],
    owned: set[str],
    following: str,
) -> SimpleNode:
    settings = task.find(f"{{{BPMN_NS}}}extensionElements/{{{KEFU_NS}}}node")
    node = _read_settings(task, settings)
    declared = [] if settings is None else settings.findall(f"{{{KEFU_NS}}}state")
    labels = {state.get("code", ""): state.get("label", "") for state in declared}
    if len(labels) != len(declared) or len(out[node.id]) != 1:
        raise NotSimple(node.id)
    leaving = out[node.id][0]

    def next_of(sequence: _Sequence) -> str:
        kind = kinds[sequence.target]
        if kind not in ("userTask", "endEvent"):
            raise NotSimple(sequence.id)
        return END if kind == "endEvent" else sequence.target

    if kinds[leaving.target] == "exclusiveGateway":
        gateway = leaving.target
        if leaving.condition is not None or into[gateway] != [leaving] or not out[gateway]:
            raise NotSimple(gateway)
        owned.add(gateway)
        chosen: dict[str, StateRule] = {}
        for sequence in out[gateway]:
            match = CONDITION_RE.match(sequence.condition or "")
            if not match or match.group(2) in chosen:
                raise NotSimple(sequence.id)
            code = match.group(2)
            chosen[code] = StateRule(code, labels.get(code, sequence.name), next_of(sequence))
        if declared and set(labels) != set(chosen):
            raise NotSimple(node.id)
        node.states = [chosen[code] for code in labels] if declared else list(chosen.values())
    elif declared:
        code = next(iter(labels))
        if len(labels) != 1 or leaving.condition not in (None, state_condition(code)):
            raise NotSimple(node.id)
        node.states = [StateRule(code, labels[code], next_of(leaving))]
    else:
        target = next_of(leaving)
        if leaving.condition is not None:
            raise NotSimple(leaving.id)
        if target != following:
            node.states = [StateRule(IMPLICIT_STATE, "", target)]
    return node


def _read_settings(task: etree._Element, settings: etree._Element | None) -> SimpleNode:
    node = SimpleNode(id=task.get("id", ""), name=task.get("name", ""))
    if settings is not None:
        node.dispatch = settings.get("dispatch", "auto")
        node.limit = settings.get("limit", "")
        node.escalation = settings.get("escalation", "notify")
        node.escalation_state = settings.get("escalation-state", "")
        try:
            node.warn_at = float(settings.get("warn-at", "0.75"))
        except ValueError as exc:
            raise NotSimple("warn-at") from exc
        rules = settings.findall(f"{{{KEFU_NS}}}assign")
        node.assign = [AssignRule(rule.get("kind", ""), rule.get("ref", "")) for rule in rules]
    countersign = task.find(f"{{{BPMN_NS}}}extensionElements/{{{KEFU_NS}}}countersign")
    loop = task.find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics")
    if loop is None:
        if countersign is not None:
            raise NotSimple(node.id)
        return node
    if any(_tag(child) not in ("loopDataInputRef", "inputDataItem") for child in loop):
        raise NotSimple(node.id)
    participants = loop.find(f"{{{BPMN_NS}}}loopDataInputRef")
    if participants is None or not (participants.text or "").strip():
        raise NotSimple(node.id)
    node.countersign = Countersign(
        participants_var=participants.text.strip(), sequential=loop.get("isSequential") == "true"
    )
    if countersign is not None:
        node.countersign.mode = countersign.get("mode", "all")
        quorum = countersign.get("quorum")
        try:
            node.countersign.quorum = None if quorum is None else int(quorum)
        except ValueError as exc:
            raise NotSimple("quorum") from exc
    return node
