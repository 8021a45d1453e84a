"""A diagram for flows imported without one: every node and flow drawn, nothing overlapping, edges on
borders; flows with a diagram untouched; the engine reads the flow as before."""

from __future__ import annotations

import json
from itertools import combinations, pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from kefu.workflow.builder.autolayout import KINDS, missing_diagram, with_diagram
from kefu.workflow.builder.model import BPMN_NS, BPMNDI_NS, DC_NS, DI_NS, NSMAP
from kefu.workflow.engine import validate_bpmn
from kefu.workflow.engine.runtime import Engine
from kefu.workflow.engine.spec import parse

from .diagram import Box

TESTS = Path(__file__).parents[2]
ENGINE_FLOWS = TESTS / "unit" / "workflow" / "flows"
DATA = Path(__file__).parent / "data"

LINEAR = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:t">
  <bpmn:process id="linear" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="register" name="登记"/>
    <bpmn:userTask id="handle" name="处理"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="register"/>
    <bpmn:sequenceFlow id="f2" sourceRef="register" targetRef="handle"/>
    <bpmn:sequenceFlow id="f3" sourceRef="handle" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

# Exclusive gateway with a loop back; the pass branch is declared first, though its end event sits lower
# than the task the fail branch goes back to.
LOOP = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:kefu="urn:kefu:bpmn:1" id="d" targetNamespace="urn:t">
  <bpmn:process id="loop" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="handle"/>
    <bpmn:userTask id="handle" name="Handle"/>
    <bpmn:sequenceFlow id="f2" sourceRef="handle" targetRef="review"/>
    <bpmn:userTask id="review" name="Review">
      <bpmn:extensionElements>
        <kefu:node>
          <kefu:state code="pass" label="Pass" next="end"/>
          <kefu:state code="fail" label="Fail" next="handle"/>
        </kefu:node>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="decide"/>
    <bpmn:exclusiveGateway id="decide"/>
    <bpmn:sequenceFlow id="pass" name="通过" sourceRef="decide" targetRef="end">
      <bpmn:conditionExpression>kefu_state == "pass"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="fail" name="退回" sourceRef="decide" targetRef="handle">
      <bpmn:conditionExpression>kefu_state == "fail"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""

COLLABORATION = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
    targetNamespace="urn:t">
  <bpmn:collaboration id="c"><bpmn:participant id="pool" name="客服" processRef="p"/></bpmn:collaboration>
  <bpmn:process id="p" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="front" name="front"><bpmn:flowNodeRef>s</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>t</bpmn:flowNodeRef><bpmn:flowNodeRef>e</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"/><bpmn:userTask id="t"/><bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="b" sourceRef="t" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""

FLOWS = {
    "linear": LINEAR,
    "loop": LOOP,
    "approval": (ENGINE_FLOWS / "approval.bpmn").read_text(encoding="utf-8"),
    "parallel": (ENGINE_FLOWS / "parallel.bpmn").read_text(encoding="utf-8"),
    "boundary_timer": (ENGINE_FLOWS / "boundary_timer.bpmn").read_text(encoding="utf-8"),
    "countersign": (ENGINE_FLOWS / "countersign.bpmn").read_text(encoding="utf-8"),
    "subprocess": (ENGINE_FLOWS / "subprocess.bpmn").read_text(encoding="utf-8"),
    "collaboration": COLLABORATION,
}
DRAWN = [DATA / "complaint.bpmn-js.bpmn", DATA / "proposal.bpmn-js.bpmn"]


def _shape_kind(tag: str) -> str:
    kind = KINDS[tag]
    return {"start": "event", "end": "event", "boundary": "event", "gateway": "gateway"}.get(kind, kind)


def check(xml: str) -> tuple[dict[str, Box], dict[str, list[tuple[float, float]]]]:
    """Assert what a laid-out flow must satisfy; returns its shapes and edges."""
    root = etree.fromstring(xml.encode())
    nodes, flows, parents, hosts = {}, {}, {}, {}
    for element in root.iter(f"{{{BPMN_NS}}}*"):
        tag = etree.QName(element).localname
        if tag in KINDS:
            nodes[element.get("id")] = _shape_kind(tag)
            parents[element.get("id")] = element.getparent().get("id")
            if element.get("attachedToRef"):
                hosts[element.get("id")] = element.get("attachedToRef")
        elif tag == "sequenceFlow":
            flows[element.get("id")] = (element.get("sourceRef"), element.get("targetRef"))
            parents[element.get("id")] = element.getparent().get("id")
    shapes: dict[str, Box] = {}
    edges: dict[str, list[tuple[float, float]]] = {}
    for shape in root.iter(f"{{{BPMNDI_NS}}}BPMNShape"):
        element = shape.get("bpmnElement")
        if element not in nodes:
            continue
        assert element not in shapes, f"two shapes for {element}"
        bounds = shape.find(f"{{{DC_NS}}}Bounds")
        shapes[element] = Box(nodes[element], *(float(bounds.get(n)) for n in ("x", "y", "width", "height")))
    for edge in root.iter(f"{{{BPMNDI_NS}}}BPMNEdge"):
        assert edge.get("bpmnElement") not in edges, f"two edges for {edge.get('bpmnElement')}"
        edges[edge.get("bpmnElement")] = [
            (float(p.get("x")), float(p.get("y"))) for p in edge.iter(f"{{{DI_NS}}}waypoint")
        ]
    assert set(shapes) == set(nodes)
    assert set(edges) == set(flows)
    ids = [el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")]
    assert len(ids) == len(set(ids)), "ids must be unique"
    assert {"bpmndi", "dc", "di"} <= set(root.nsmap), root.nsmap

    def ancestors(element: str) -> set[str]:
        found = set()
        while parents.get(element) in nodes:
            element = parents[element]
            found.add(element)
        return found

    for (one, a), (two, b) in combinations(shapes.items(), 2):
        if hosts.get(one) == two or hosts.get(two) == one or one in ancestors(two) or two in ancestors(one):
            continue  # a boundary event sits on its host; a subprocess holds its contents
        assert not a.overlaps(b), f"{one} overlaps {two}"
    for flow, (source, target) in flows.items():
        points = edges[flow]
        assert len(points) >= 2, flow
        assert shapes[source].on_border(points[0]), f"{flow} does not leave {source} on its border"
        assert shapes[target].on_border(points[-1]), f"{flow} does not reach {target} on its border"
        inside = {parents[flow]} | ancestors(parents[flow]) if parents[flow] in nodes else set()
        for p, q in pairwise(points):
            assert p != q and (p[0] == q[0] or p[1] == q[1]), f"{flow}: {p}–{q} is not orthogonal"
            for element, box in shapes.items():
                if element not in inside:
                    assert not box.crossed_by(p, q), f"{flow} runs through {element}"
    return shapes, edges


@pytest.mark.parametrize("name", FLOWS)
def test_every_node_and_flow_is_drawn_without_overlaps(name):
    before = FLOWS[name]
    assert "BPMNShape" not in before
    after = with_diagram(before)
    check(after)
    assert missing_diagram(after) == (set(), set())
    assert with_diagram(after) == after  # once drawn, left alone


# Splits whose targets the layout puts in another vertical order than their flows are declared in.
REORDERED = {"loop": ("spec", "decide"), "subprocess": ("subprocess_specs", "field", "fix_outcome")}


def _splits_sorted(spec: dict) -> dict:
    """The spec with every task's outgoing connections in a fixed order."""
    for process in [spec["spec"], *spec["subprocess_specs"].values()]:
        for task in process["task_specs"].values():
            task["outputs"] = sorted(task["outputs"])
            if "cond_task_specs" in task:
                task["cond_task_specs"] = sorted(task["cond_task_specs"], key=lambda c: c["task_spec"])
    return spec


@pytest.mark.parametrize("name", FLOWS)
def test_the_engine_reads_the_flow_as_before(name):
    before, after = FLOWS[name], with_diagram(FLOWS[name])
    assert [p.text for p in validate_bpmn(after)] == [p.text for p in validate_bpmn(before)]
    if name == "collaboration":
        return
    old, new = parse(before), parse(after)
    assert (new.process_id, new.name, new.nodes) == (old.process_id, old.name, old.nodes)
    old_spec, new_spec = json.loads(old.spec_json), json.loads(new.spec_json)
    if name not in REORDERED:
        assert new_spec == old_spec
        return
    # With a diagram SpiffWorkflow orders a split's flows by the height of their targets' shapes; an
    # end event in a row sits lower than a task of that row. Each state routes to one flow, so the
    # order changes nothing that runs (see the run test below) — and it is the only difference.
    *where, split = REORDERED[name]
    old_task, new_task = old_spec, new_spec
    for key in [*where, "task_specs", split]:
        old_task, new_task = old_task[key], new_task[key]
    assert new_task["outputs"] == old_task["outputs"][::-1]
    assert _splits_sorted(new_spec) == _splits_sorted(old_spec)


@pytest.mark.parametrize("path", [*DRAWN, ENGINE_FLOWS / "hostile_entities.bpmn"], ids=lambda p: p.name)
def test_a_flow_with_a_diagram_or_unreadable_is_left_byte_for_byte(path):
    text = path.read_text(encoding="utf-8")
    assert with_diagram(text) is text


@pytest.mark.parametrize("text", ["", "not xml", "<a/>", "<bpmn:definitions xmlns:bpmn='urn:other'/>"])
def test_text_that_is_no_bpmn_document_is_left_to_validation(text):
    assert with_diagram(text) == text


def test_linear_flow_reads_left_to_right_on_one_line():
    shapes, edges = check(with_diagram(LINEAR))
    centres = [shapes[n].center for n in ("start", "register", "handle", "end")]
    assert len({y for _, y in centres}) == 1
    assert [x for x, _ in centres] == sorted(x for x, _ in centres)
    assert all(len(edges[f]) == 2 for f in ("f1", "f2", "f3"))


def test_the_loop_back_runs_below_the_row_and_named_flows_get_labels():
    xml = with_diagram(LOOP)
    shapes, edges = check(xml)
    handle = shapes["handle"]
    back = edges["fail"]
    assert all(y > handle.y + handle.height for _, y in back[1:-1])
    assert back[-1][1] == handle.y + handle.height  # enters from below
    root = etree.fromstring(xml.encode())
    labels = root.findall(".//bpmndi:BPMNEdge[@bpmnElement='fail']/bpmndi:BPMNLabel/dc:Bounds", NSMAP)
    assert len(labels) == 1


def test_parallel_branches_stack_in_one_column():
    shapes, _ = check(with_diagram(FLOWS["parallel"]))
    assert shapes["technical"].x == shapes["billing"].x
    assert shapes["technical"].y != shapes["billing"].y


def test_boundary_timers_sit_on_the_hosts_bottom_border_and_their_flows_leave_downwards():
    shapes, edges = check(with_diagram(FLOWS["boundary_timer"]))
    host = shapes["visit_site"]
    for event, flow in (("deadline", "to_escalate"), ("reminder", "to_remind")):
        box = shapes[event]
        assert box.center[1] == host.y + host.height
        assert host.x < box.center[0] < host.x + host.width
        first, second = edges[flow][:2]
        assert first == (box.center[0], box.y + box.height) and second[1] > first[1]
    assert shapes["deadline"].x + shapes["deadline"].width <= shapes["reminder"].x
    # The host's own flow leaves from its right side, clear of the events below.
    assert edges["visited"][0] == (host.x + host.width, host.center[1])


def test_a_subprocess_is_expanded_around_its_contents():
    xml = with_diagram(FLOWS["subprocess"])
    shapes, _ = check(xml)
    field = shapes["field"]
    for inner in ("field_start", "dispatch", "fix", "fix_outcome", "field_end", "nag", "nag_end"):
        box = shapes[inner]
        assert field.x < box.x and box.x + box.width < field.x + field.width, inner
        assert field.y < box.y and box.y + box.height < field.y + field.height, inner
    root = etree.fromstring(xml.encode())
    shape = root.find(".//bpmndi:BPMNShape[@bpmnElement='field']", NSMAP)
    assert shape.get("isExpanded") == "true"


def test_a_countersign_task_is_an_ordinary_task_shape():
    shapes, _ = check(with_diagram(FLOWS["countersign"]))
    assert (shapes["sign"].width, shapes["sign"].height) == (100, 80)


def test_a_collaboration_gets_a_pool_around_its_process():
    xml = with_diagram(COLLABORATION)
    shapes, _ = check(xml)
    root = etree.fromstring(xml.encode())
    plane = root.find(".//bpmndi:BPMNPlane", NSMAP)
    assert plane.get("bpmnElement") == "c"
    pool = plane.find("bpmndi:BPMNShape[@bpmnElement='pool']", NSMAP)
    assert pool.get("isHorizontal") == "true"
    bounds = pool.find("dc:Bounds", NSMAP)
    x, y, w, h = (float(bounds.get(n)) for n in ("x", "y", "width", "height"))
    for box in shapes.values():
        assert x < box.x and box.x + box.width < x + w and y < box.y and box.y + box.height < y + h


def test_comments_declaration_and_semantics_survive():
    text = FLOWS["boundary_timer"]
    after = with_diagram(text)
    assert after.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!-- A visit')
    cut = after.index("  <bpmndi:BPMNDiagram")
    blank = etree.XMLParser(remove_blank_text=True)  # indentation between elements aside
    semantic = etree.fromstring(text.encode(), blank)
    laid_out = etree.fromstring(after.encode(), blank)
    laid_out.remove(laid_out.find("bpmndi:BPMNDiagram", NSMAP))
    assert set(laid_out.nsmap) == {*semantic.nsmap, "bpmndi", "dc", "di"}  # unused ones kept too
    etree.cleanup_namespaces(laid_out)
    etree.cleanup_namespaces(semantic)
    assert etree.tostring(laid_out, method="c14n") == etree.tostring(semantic, method="c14n")
    assert after[cut:].rstrip().endswith("</bpmndi:BPMNDiagram>\n</bpmn:definitions>")


def test_a_partial_diagram_keeps_what_is_drawn_and_adds_the_rest_below():
    full = with_diagram(FLOWS["approval"])
    root = etree.fromstring(full.encode())
    plane = root.find(".//bpmndi:BPMNPlane", NSMAP)
    kept = {}
    for shape in plane.findall("bpmndi:BPMNShape", NSMAP):
        if shape.get("bpmnElement") in ("handle", "close", "end"):
            plane.remove(shape)
        else:
            kept[shape.get("bpmnElement")] = etree.tostring(shape)
    for edge in plane.findall("bpmndi:BPMNEdge", NSMAP):
        source = root.find(f".//bpmn:sequenceFlow[@id='{edge.get('bpmnElement')}']", NSMAP).get("sourceRef")
        if source in ("decision", "handle", "close"):
            plane.remove(edge)
    partial = etree.tostring(root, encoding="unicode")
    assert missing_diagram(partial)[0] == {"handle", "close", "end"}
    completed = with_diagram(partial)
    assert missing_diagram(completed) == (set(), set())
    again = etree.fromstring(completed.encode())
    for element, text in kept.items():
        assert etree.tostring(again.find(f".//bpmndi:BPMNShape[@bpmnElement='{element}']", NSMAP)) == text
    drawn_bottom = max(
        float(s.find("dc:Bounds", NSMAP).get("y")) + float(s.find("dc:Bounds", NSMAP).get("height"))
        for s in again.iter(f"{{{BPMNDI_NS}}}BPMNShape")
        if s.get("bpmnElement") in kept
    )
    for element in ("handle", "close", "end"):
        bounds = again.find(f".//bpmndi:BPMNShape[@bpmnElement='{element}']/dc:Bounds", NSMAP)
        assert float(bounds.get("y")) > drawn_bottom
    shapes, edges = _read(completed)
    for flow in ("approved_flow", "rejected_flow", "to_close", "to_end"):
        source, target = _ends(completed, flow)
        assert shapes[source].on_border(edges[flow][0]) and shapes[target].on_border(edges[flow][-1]), flow


def _read(xml: str) -> tuple[dict[str, Box], dict[str, list[tuple[float, float]]]]:
    root = etree.fromstring(xml.encode())
    kinds = {
        el.get("id"): _shape_kind(etree.QName(el).localname)
        for el in root.iter(f"{{{BPMN_NS}}}*")
        if etree.QName(el).localname in KINDS
    }
    shapes = {
        s.get("bpmnElement"): Box(
            kinds[s.get("bpmnElement")],
            *(float(s.find("dc:Bounds", NSMAP).get(n)) for n in ("x", "y", "width", "height")),
        )
        for s in root.iter(f"{{{BPMNDI_NS}}}BPMNShape")
    }
    edges = {
        e.get("bpmnElement"): [(float(p.get("x")), float(p.get("y"))) for p in e.iter(f"{{{DI_NS}}}waypoint")]
        for e in root.iter(f"{{{BPMNDI_NS}}}BPMNEdge")
    }
    return shapes, edges


def _ends(xml: str, flow: str) -> tuple[str, str]:
    element = etree.fromstring(xml.encode()).find(f".//bpmn:sequenceFlow[@id='{flow}']", NSMAP)
    return element.get("sourceRef"), element.get("targetRef")


STEPS = {
    "approval": [("register", "done"), ("review", "rejected"), ("register", "done"),
                 ("review", "approved"), ("handle", "done"), ("close", "done")],
    "loop": [("handle", "done"), ("review", "fail"), ("handle", "done"), ("review", "pass")],
    "parallel": [("technical", "done"), ("billing", "done"), ("close", "done")],
}  # fmt: skip


def _run(spec_json: str, steps: list[tuple[str, str]]) -> list[object]:
    """Drive a flow through `steps` (node, state); what it did, step by step."""
    engine = Engine()
    instance = engine.start(spec_json, {"amount": 120})
    trace: list[object] = []
    for node, state in steps:
        task = next(t for t in instance.ready_tasks() if t.node_id == node)
        trace.append(sorted(t.node_id for t in instance.ready_tasks()))
        instance.complete(task.task_id, state=state)
        instance = engine.restore(spec_json, instance.dump())
    trace.append((instance.is_completed, instance.history()))
    return trace


@pytest.mark.parametrize("name", STEPS)
def test_laid_out_then_exported_and_imported_again_runs_identically(name):
    before = FLOWS[name]
    exported = with_diagram(before)
    reimported = with_diagram(exported)
    assert reimported == exported
    old, new = _run(parse(before).spec_json, STEPS[name]), _run(parse(reimported).spec_json, STEPS[name])
    assert new == old and old[-1][0] is True


@st.composite
def random_processes(draw: st.DrawFn) -> str:
    """A process of tasks and gateways on a main line, with extra flows forward and back and boundary
    events (some with two on one task) leading anywhere, subprocesses sometimes."""
    n = draw(st.integers(2, 7))
    kinds = [draw(st.sampled_from(["userTask", "exclusiveGateway", "parallelGateway", "subProcess"]))
             for _ in range(n)]  # fmt: skip
    nodes = ["start", *(f"n{i}" for i in range(n)), "end"]
    flows = list(pairwise(nodes))
    for _ in range(draw(st.integers(0, 4))):
        flows.append((draw(st.sampled_from(nodes[1:-1])), draw(st.sampled_from(nodes[1:]))))
    parts = ['<bpmn:startEvent id="start"/>', '<bpmn:endEvent id="end"/>']
    for i, kind in enumerate(kinds):
        body = ""
        if kind == "subProcess":
            body = (
                f'<bpmn:startEvent id="s{i}"/><bpmn:userTask id="t{i}"/><bpmn:endEvent id="e{i}"/>'
                f'<bpmn:sequenceFlow id="sa{i}" sourceRef="s{i}" targetRef="t{i}"/>'
                f'<bpmn:sequenceFlow id="sb{i}" sourceRef="t{i}" targetRef="e{i}"/>'
            )
        parts.append(f'<bpmn:{kind} id="n{i}">{body}</bpmn:{kind}>')
        if kind in ("userTask", "subProcess"):
            for j in range(draw(st.integers(0, 2))):
                parts.append(f'<bpmn:boundaryEvent id="b{i}_{j}" attachedToRef="n{i}"/>')
                flows.append((f"b{i}_{j}", draw(st.sampled_from(nodes[1:]))))
    parts += [
        f'<bpmn:sequenceFlow id="f{k}" sourceRef="{a}" targetRef="{b}"/>' for k, (a, b) in enumerate(flows)
    ]
    return (
        f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}" id="d" targetNamespace="t">'
        f'<bpmn:process id="p">{"".join(parts)}</bpmn:process></bpmn:definitions>'
    )


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_processes())
def test_any_process_obeys_the_layout_laws(xml):
    check(with_diagram(xml))
