"""Reading a builder diagram back for assertions: shapes, edges and the geometry laws they must obey."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations, pairwise

from lxml import etree

from kefu.workflow.builder.model import NSMAP

FLOW_NODES = {"startEvent": "event", "endEvent": "event", "userTask": "task", "exclusiveGateway": "gateway"}
SIZES = {"event": (36, 36), "task": (100, 80), "gateway": (50, 50)}


@dataclass(frozen=True)
class Box:
    kind: str
    x: float
    y: float
    width: float
    height: float

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2

    def on_border(self, point: tuple[float, float]) -> bool:
        """Is `point` on the outline: rectangle for tasks, diamond for gateways, circle for events?"""
        px, py = point
        cx, cy = self.center
        if self.kind == "gateway":
            return math.isclose(abs(px - cx) / (self.width / 2) + abs(py - cy) / (self.height / 2), 1)
        if self.kind == "event":
            return math.isclose(math.hypot(px - cx, py - cy), self.width / 2)
        inside_x, inside_y = self.x <= px <= self.x + self.width, self.y <= py <= self.y + self.height
        return (inside_x and py in (self.y, self.y + self.height)) or (
            inside_y and px in (self.x, self.x + self.width)
        )

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.y < other.y + other.height
            and other.y < self.y + self.height
        )

    def crossed_by(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        """Does the axis-parallel segment a–b pass through the inside of the box?"""
        if a[1] == b[1]:
            lo, hi = sorted((a[0], b[0]))
            return self.y < a[1] < self.y + self.height and max(lo, self.x) < min(hi, self.x + self.width)
        lo, hi = sorted((a[1], b[1]))
        return self.x < a[0] < self.x + self.width and max(lo, self.y) < min(hi, self.y + self.height)


@dataclass
class Diagram:
    shapes: dict[str, Box]
    edges: dict[str, list[tuple[float, float]]]
    flows: dict[str, tuple[str, str]]  # sequence flow id → (source, target)
    shape_count: dict[str, int]
    edge_count: dict[str, int]


def read(xml: str) -> Diagram:
    root = etree.fromstring(xml.encode())
    kinds = {}
    flows = {}
    for element in root.iterfind("bpmn:process/*", NSMAP):
        tag = etree.QName(element).localname
        if tag in FLOW_NODES:
            kinds[element.get("id")] = FLOW_NODES[tag]
        elif tag == "sequenceFlow":
            flows[element.get("id")] = (element.get("sourceRef"), element.get("targetRef"))
    shapes, edges, shape_count, edge_count = {}, {}, dict.fromkeys(kinds, 0), dict.fromkeys(flows, 0)
    for shape in root.iterfind(".//bpmndi:BPMNShape", NSMAP):
        element = shape.get("bpmnElement")
        bounds = shape.find("dc:Bounds", NSMAP)
        shape_count[element] = shape_count.get(element, 0) + 1
        values = [float(bounds.get(name)) for name in ("x", "y", "width", "height")]
        shapes[element] = Box(kinds.get(element, "?"), *values)
    for edge in root.iterfind(".//bpmndi:BPMNEdge", NSMAP):
        element = edge.get("bpmnElement")
        edge_count[element] = edge_count.get(element, 0) + 1
        edges[element] = [(float(p.get("x")), float(p.get("y"))) for p in edge.iterfind("di:waypoint", NSMAP)]
    return Diagram(shapes, edges, flows, shape_count, edge_count)


def _segments(points: list[tuple[float, float]]) -> Iterator[tuple[tuple[float, float], tuple[float, float]]]:
    return pairwise(points)


def _collinear_overlap(s: tuple, t: tuple) -> bool:
    (a, b), (c, d) = s, t
    if a[1] == b[1] == c[1] == d[1]:
        return max(min(a[0], b[0]), min(c[0], d[0])) < min(max(a[0], b[0]), max(c[0], d[0]))
    if a[0] == b[0] == c[0] == d[0]:
        return max(min(a[1], b[1]), min(c[1], d[1])) < min(max(a[1], b[1]), max(c[1], d[1]))
    return False


def check(xml: str) -> Diagram:
    """Assert the layout laws; returns the diagram for further assertions."""
    diagram = read(xml)
    assert all(count == 1 for count in diagram.shape_count.values()), diagram.shape_count
    assert all(count == 1 for count in diagram.edge_count.values()), diagram.edge_count
    for element, box in diagram.shapes.items():
        assert box.kind in SIZES, f"shape of an unknown element {element}"
        assert (box.width, box.height) == SIZES[box.kind], element
    for (one, first), (two, second) in combinations(diagram.shapes.items(), 2):
        assert not first.overlaps(second), f"{one} overlaps {two}"
    for flow, (source, target) in diagram.flows.items():
        points = diagram.edges[flow]
        assert len(points) >= 2, flow
        assert diagram.shapes[source].on_border(points[0]), f"{flow} does not leave {source} on its border"
        assert diagram.shapes[target].on_border(points[-1]), f"{flow} does not reach {target} on its border"
        for a, b in _segments(points):
            assert a != b and (a[0] == b[0] or a[1] == b[1]), f"{flow}: {a}–{b} is not orthogonal"
            for element, box in diagram.shapes.items():
                assert not box.crossed_by(a, b), f"{flow} runs through {element}"
    for one, two in combinations(diagram.flows, 2):
        (s1, t1), (s2, t2) = diagram.flows[one], diagram.flows[two]
        if s1 == s2 or t1 == t2:
            continue  # flows from one gateway, or into one node, may share their first or last stretch
        for s in _segments(diagram.edges[one]):
            for t in _segments(diagram.edges[two]):
                assert not _collinear_overlap(s, t), f"{one} and {two} run on top of each other"
    return diagram
