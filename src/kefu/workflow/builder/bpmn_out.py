"""Simple flow form → BPMN 2.0 XML with diagram (the shape docs/workflow-bpmn.md describes)."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from kefu.workflow.builder.layout import Bounds, label_bounds, layout
from kefu.workflow.builder.model import (
    BPMN_NS,
    BPMNDI_NS,
    DC_NS,
    DI_NS,
    END,
    END_EVENT,
    KEFU_NS,
    NSMAP,
    START_EVENT,
    START_FLOW,
    XSI_NS,
    Route,
    SimpleFlow,
    SimpleNode,
    flow_id,
    gateway_flow_id,
    gateway_id,
    has_gateway,
    input_item_id,
    participant_lists,
    routes,
)
from kefu.workflow.builder.validate import InvalidFlow, validate_simple

TARGET_NAMESPACE = "urn:kefu:flows"


@dataclass(frozen=True)
class _Flow:
    id: str
    source: str
    target: str
    name: str = ""
    condition: str = ""


def state_condition(code: str) -> str:
    """The condition of the sequence flow taken when the handler chose state `code`."""
    return f'kefu_state == "{code}"'


def to_bpmn(flow: SimpleFlow) -> str:
    """BPMN 2.0 XML of `flow`, diagram included; raises InvalidFlow when `validate_simple` finds problems.

    The process id is the flow code and it is executable. The start event leads to nodes[0]; each node is
    a userTask carrying `kefu:node` (and `kefu:countersign` with multi-instance characteristics); a node
    with several states is followed by the exclusive gateway `Gateway_<node>` whose flows
    `Flow_<node>_<state>` carry `kefu_state == "<state>"`; every "end" leads to one shared end event.
    Ids are deterministic, so the same form always gives the same XML. The text has no XML declaration
    (it parses as a str); its encoding is UTF-8 when stored as bytes.
    """
    problems = validate_simple(flow)
    if problems:
        raise InvalidFlow(problems)
    elements: list[tuple[str, str]] = [(START_EVENT, "start")]
    flows = [_Flow(START_FLOW, START_EVENT, flow.nodes[0].id)]
    by_node: dict[str, list[Route]] = {node.id: [] for node in flow.nodes}
    for route in routes(flow):
        by_node[route.node].append(route)
    for node in flow.nodes:
        elements.append((node.id, "task"))
        source, gated = node.id, has_gateway(node)
        if gated:
            source = gateway_id(node.id)
            elements.append((source, "gateway"))
            flows.append(_Flow(gateway_flow_id(node.id), node.id, source))
        for route in by_node[node.id]:
            target = END_EVENT if route.next == END else route.next
            condition = state_condition(route.state) if gated else ""
            flows.append(_Flow(flow_id(node.id, route.state), source, target, route.label, condition))
    elements.append((END_EVENT, "end"))
    definitions = etree.Element(
        _q(BPMN_NS, "definitions"),
        nsmap=NSMAP,
        id=f"Definitions_{flow.code}",
        targetNamespace=TARGET_NAMESPACE,
        exporter="kefu",
        exporterVersion="1",
    )
    process = etree.SubElement(
        definitions, _q(BPMN_NS, "process"), id=flow.code, name=flow.name, isExecutable="true"
    )
    for name in participant_lists(flow):
        etree.SubElement(process, _q(BPMN_NS, "property"), id=name, name=name)
    nodes = {node.id: node for node in flow.nodes}
    tags = {"start": "startEvent", "task": "userTask", "gateway": "exclusiveGateway", "end": "endEvent"}
    for element_id, kind in elements:
        element = etree.SubElement(process, _q(BPMN_NS, tags[kind]), id=element_id)
        if kind == "task":
            element.set("name", nodes[element_id].name)
            _write_settings(element, nodes[element_id])
        for f in flows:
            if f.target == element_id:
                etree.SubElement(element, _q(BPMN_NS, "incoming")).text = f.id
        for f in flows:
            if f.source == element_id:
                etree.SubElement(element, _q(BPMN_NS, "outgoing")).text = f.id
        if kind == "task" and nodes[element_id].countersign is not None:
            _write_multi_instance(element, nodes[element_id])
    for f in flows:
        sequence = etree.SubElement(process, _q(BPMN_NS, "sequenceFlow"), id=f.id)
        if f.name:
            sequence.set("name", f.name)
        sequence.set("sourceRef", f.source)
        sequence.set("targetRef", f.target)
        if f.condition:
            condition = etree.SubElement(sequence, _q(BPMN_NS, "conditionExpression"))
            condition.set(_q(XSI_NS, "type"), "bpmn:tFormalExpression")
            condition.text = f.condition
    _write_diagram(definitions, flow, elements, flows)
    return etree.tostring(definitions, encoding="unicode", pretty_print=True)


def _q(namespace: str, tag: str) -> str:
    return f"{{{namespace}}}{tag}"


def _write_settings(task: etree._Element, node: SimpleNode) -> None:
    extensions = etree.SubElement(task, _q(BPMN_NS, "extensionElements"))
    settings = etree.SubElement(extensions, _q(KEFU_NS, "node"), dispatch=node.dispatch)
    if node.limit:
        settings.set("limit", node.limit)
    settings.set("warn-at", repr(float(node.warn_at)))
    if node.limit:  # without a limit nothing escalates, and the contract refuses an escalation
        settings.set("escalation", node.escalation)
        if node.escalation_state:
            settings.set("escalation-state", node.escalation_state)
    for rule in node.assign:
        assign = etree.SubElement(settings, _q(KEFU_NS, "assign"), kind=rule.kind)
        if rule.ref:
            assign.set("ref", rule.ref)
    for state in node.states:
        target = END_EVENT if state.next == END else state.next  # `next` names the element the flow goes to
        etree.SubElement(settings, _q(KEFU_NS, "state"), code=state.code, label=state.label, next=target)
    if node.countersign is not None:
        countersign = etree.SubElement(extensions, _q(KEFU_NS, "countersign"), mode=node.countersign.mode)
        if node.countersign.quorum is not None:
            countersign.set("quorum", str(node.countersign.quorum))


def _write_multi_instance(task: etree._Element, node: SimpleNode) -> None:
    assert node.countersign is not None
    loop = etree.SubElement(
        task,
        _q(BPMN_NS, "multiInstanceLoopCharacteristics"),
        isSequential="true" if node.countersign.sequential else "false",
    )
    etree.SubElement(loop, _q(BPMN_NS, "loopDataInputRef")).text = node.countersign.participants_var
    etree.SubElement(loop, _q(BPMN_NS, "inputDataItem"), id=input_item_id(node.id))


def _write_diagram(
    definitions: etree._Element, flow: SimpleFlow, elements: list[tuple[str, str]], flows: list[_Flow]
) -> None:
    placed = layout(elements, [(f.id, f.source, f.target) for f in flows], START_EVENT)
    diagram = etree.SubElement(definitions, _q(BPMNDI_NS, "BPMNDiagram"), id=f"BPMNDiagram_{flow.code}")
    plane = etree.SubElement(
        diagram, _q(BPMNDI_NS, "BPMNPlane"), id=f"BPMNPlane_{flow.code}", bpmnElement=flow.code
    )
    for element_id, kind in elements:
        shape = etree.SubElement(plane, _q(BPMNDI_NS, "BPMNShape"), id=f"{element_id}_di")
        shape.set("bpmnElement", element_id)
        if kind == "gateway":
            shape.set("isMarkerVisible", "true")
        _bounds(shape, placed.shapes[element_id])
    for f in flows:
        edge = etree.SubElement(plane, _q(BPMNDI_NS, "BPMNEdge"), id=f"{f.id}_di", bpmnElement=f.id)
        points = placed.edges[f.id]
        for x, y in points:
            etree.SubElement(edge, _q(DI_NS, "waypoint"), x=str(x), y=str(y))
        if f.name:
            label = etree.SubElement(edge, _q(BPMNDI_NS, "BPMNLabel"))
            _bounds(label, label_bounds(points, placed.routes[f.id], f.name))


def _bounds(parent: etree._Element, box: Bounds) -> None:
    etree.SubElement(
        parent, _q(DC_NS, "Bounds"), x=str(box.x), y=str(box.y), width=str(box.width), height=str(box.height)
    )
