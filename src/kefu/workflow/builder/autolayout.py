"""A diagram for a flow that has none: `with_diagram(xml) -> xml` adds BPMNShape/BPMNEdge elements.

A flow written by a tool that emits only the process semantics, or by hand, has no `bpmndi` section;
the designer would open an empty canvas and the tracking view could draw nothing. Every template
version is saved through here (`flows.create_template` / `flows.save_draft`), so such a flow gets the
same layered left-to-right layout as the simple builder's flows (`layout.layout`).

- Nothing is missing (every flow node has a shape, every sequence flow an edge): the text is returned
  as it is, byte for byte. So is text that is not a readable BPMN document (validation reports it).
- No element of a process is drawn: the whole process is laid out, in the plane that already refers
  to it, else in a new BPMNDiagram. Subprocesses are drawn expanded, sized by their contents; boundary
  events sit on the bottom border of their host. In a collaboration each participant's process is
  drawn inside a pool, one pool below the other, in a plane for the collaboration.
- Some elements are drawn, some not: what was drawn stays where it is; the missing elements are laid
  out as a block below the drawing (boundary events on their host's border) and the missing flows are
  connected with plain orthogonal lines, for the designer to tidy up.

Lanes, message flows, data objects and annotations get no shapes. Only the DI is added: the process
elements are untouched, so the engine parses the flow as before — except that SpiffWorkflow orders a
node's outgoing flows by the vertical position of their targets' shapes (see docs/workflow-bpmn.md);
the layout keeps that order the same as the declaration order wherever it places targets of one split.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from kefu.workflow.builder.layout import Bounds, Layout, Point, label_bounds, layout
from kefu.workflow.builder.model import BPMN_NS, BPMNDI_NS, DC_NS, DI_NS

__all__ = ["KINDS", "missing_diagram", "with_diagram"]

# Flow node tags (BPMN namespace) → layout kind; "boundary" events are placed on their host.
KINDS = {
    "startEvent": "start",
    "endEvent": "end",
    "intermediateCatchEvent": "event",
    "intermediateThrowEvent": "event",
    "boundaryEvent": "boundary",
    "exclusiveGateway": "gateway",
    "parallelGateway": "gateway",
    "inclusiveGateway": "gateway",
    "eventBasedGateway": "gateway",
    "complexGateway": "gateway",
    "subProcess": "subprocess",
    "transaction": "subprocess",
    "adHocSubProcess": "subprocess",
    **dict.fromkeys(
        (
            "task",
            "userTask",
            "manualTask",
            "scriptTask",
            "serviceTask",
            "businessRuleTask",
            "sendTask",
            "receiveTask",
            "callActivity",
        ),
        "task",
    ),
}
PADDING = 20  # around the contents of an expanded subprocess or a pool
TITLE = 30  # above a subprocess's contents (its name), left of a pool's (the participant's name)
BLOCK_GAP = 80  # between a drawing and the block of elements added below it
EMPTY_POOL = (600, 120)
DI_PREFIXES = {"bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS}

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=False
)
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>\s*")


def _q(namespace: str, tag: str) -> str:
    return f"{{{namespace}}}{tag}"


def _local(element: Any) -> str:
    if not isinstance(element.tag, str) or not element.tag.startswith(f"{{{BPMN_NS}}}"):
        return ""
    return str(etree.QName(element.tag).localname)


@dataclass
class _Container:
    """A process or subprocess: its direct flow nodes, boundary events and sequence flows."""

    element: Any
    nodes: list[tuple[str, str]] = field(default_factory=list)
    boundaries: list[tuple[str, str]] = field(default_factory=list)
    flows: list[tuple[str, str, str, str]] = field(default_factory=list)  # id, source, target, name
    children: dict[str, _Container] = field(default_factory=dict)
    markers: dict[str, str] = field(default_factory=dict)  # node id → "exclusive" / "expanded"

    def walk(self) -> Iterator[_Container]:
        yield self
        for child in self.children.values():
            yield from child.walk()

    def node_ids(self) -> set[str]:
        return {n for c in self.walk() for n, _ in [*c.nodes, *c.boundaries]}

    def flow_ids(self) -> set[str]:
        return {f[0] for c in self.walk() for f in c.flows}


def _read(element: Any, seen: set[str]) -> _Container:
    container = _Container(element)
    attached: list[tuple[str, str]] = []
    for child in element:
        name, node_id = _local(child), child.get("id")
        if name not in KINDS or not node_id or node_id in seen:
            continue
        seen.add(node_id)
        if name == "boundaryEvent":
            attached.append((node_id, child.get("attachedToRef", "")))
            continue
        container.nodes.append((node_id, KINDS[name]))
        if name == "exclusiveGateway":
            container.markers[node_id] = "exclusive"
        elif KINDS[name] == "subprocess":
            container.markers[node_id] = "expanded"
            container.children[node_id] = _read(child, seen)
    hosts = {node_id for node_id, _ in container.nodes}
    for event, host in attached:
        if host in hosts:
            container.boundaries.append((event, host))
        else:  # a boundary event without a host here is drawn as a plain event
            container.nodes.append((event, "event"))
    ends = hosts | {event for event, _ in attached}
    for child in element:
        if _local(child) != "sequenceFlow" or not child.get("id") or child.get("id") in seen:
            continue
        source, target = child.get("sourceRef", ""), child.get("targetRef", "")
        if source in ends and target in ends:  # a flow between containers or to nowhere cannot be drawn
            seen.add(child.get("id"))
            container.flows.append((child.get("id"), source, target, child.get("name") or ""))
    return container


def _place(container: _Container) -> Layout:
    """The layout of a container in its own coordinates, subprocesses' contents included."""
    inner = {sub_id: _place(sub) for sub_id, sub in container.children.items()}
    sizes = {}
    for sub_id, placed in inner.items():
        box = _extent(placed)
        if box is not None:
            sizes[sub_id] = (box.width + 2 * PADDING, box.height + PADDING + TITLE)
    if not container.nodes:
        return Layout()
    root = next((n for n, kind in container.nodes if kind == "start"), container.nodes[0][0])
    placed = layout(
        container.nodes,
        [(fid, source, target) for fid, source, target, _ in container.flows],
        root,
        sizes=sizes,
        boundaries=container.boundaries,
    )
    for sub_id, sub_layout in inner.items():
        box, contents = placed.shapes[sub_id], _extent(sub_layout)
        if contents is not None:
            _merge(placed, sub_layout, box.x + PADDING - contents.x, box.y + TITLE - contents.y)
    return placed


def _extent(placed: Layout) -> Bounds | None:
    """The bounding box of every shape and waypoint of a layout (None when it is empty)."""
    xs, ys = [], []
    for box in placed.shapes.values():
        xs += [box.x, box.x + box.width]
        ys += [box.y, box.y + box.height]
    for points in placed.edges.values():
        xs += [x for x, _ in points]
        ys += [y for _, y in points]
    if not xs:
        return None
    return Bounds(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def _merge(into: Layout, placed: Layout, dx: int, dy: int) -> None:
    for element, box in placed.shapes.items():
        into.shapes[element] = Bounds(box.x + dx, box.y + dy, box.width, box.height)
    for flow, points in placed.edges.items():
        into.edges[flow] = [(x + dx, y + dy) for x, y in points]
    into.routes.update(placed.routes)


def missing_diagram(xml: str) -> tuple[set[str], set[str]] | None:
    """(flow node ids without a shape, sequence flow ids without an edge); None when not readable."""
    root = _parse(xml)
    if root is None:
        return None
    seen: set[str] = set()
    processes = [_read(p, seen) for p in root.iter(_q(BPMN_NS, "process"))]
    shaped, edged = _drawn(root)
    nodes = set().union(*(p.node_ids() for p in processes))
    flows = set().union(*(p.flow_ids() for p in processes))
    return nodes - shaped, flows - edged


def with_diagram(xml: str) -> str:
    """`xml` with a shape for every flow node and an edge for every sequence flow (see the module)."""
    root = _parse(xml)
    if root is None:
        return xml
    seen: set[str] = set()
    processes = [_read(p, seen) for p in root.iter(_q(BPMN_NS, "process"))]
    shaped, edged = _drawn(root)
    todo = [p for p in processes if p.node_ids() - shaped or p.flow_ids() - edged]
    if not todo:
        return xml
    writer = _Writer(root)
    blank = [p for p in todo if not (p.node_ids() & shaped or p.flow_ids() & edged)]
    for process in todo:
        if process not in blank:
            _complete(writer, process, shaped, edged)
    if blank:
        _draw_blank(writer, root, blank)
    writer.finish()
    declaration = '<?xml version="1.0" encoding="UTF-8"?>\n' if _DECLARATION.match(xml) else ""
    around = [*reversed(list(root.itersiblings(preceding=True))), root, *root.itersiblings()]
    text = "\n".join(etree.tostring(el, encoding="unicode", with_tail=False) for el in around)
    return f"{declaration}{text}\n"


def _parse(xml: str) -> Any:
    text = _DECLARATION.sub("", xml, count=1) if isinstance(xml, str) else ""
    if not text.strip() or re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        return None
    try:
        root = etree.fromstring(text.encode("utf-8"), _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    return root if root.tag == _q(BPMN_NS, "definitions") else None


def _drawn(root: Any) -> tuple[set[str], set[str]]:
    shaped = {s.get("bpmnElement") for s in root.iter(_q(BPMNDI_NS, "BPMNShape"))}
    edged = {e.get("bpmnElement") for e in root.iter(_q(BPMNDI_NS, "BPMNEdge"))}
    return shaped, edged


class _Writer:
    """Writes DI elements with ids unique in the document, and declares the DI namespaces on the root."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
        self.names = {el.get("id"): el.get("name") or "" for el in root.iter() if isinstance(el.tag, str)}
        self.tags = {
            el.get("id"): _local(el) for el in root.iter() if isinstance(el.tag, str) and el.get("id")
        }
        self.planes: list[Any] = []

    def unique(self, base: str) -> str:
        candidate, n = base, 1
        while candidate in self.ids:
            n += 1
            candidate = f"{base}_{n}"
        self.ids.add(candidate)
        return candidate

    def plane(self, element_id: str) -> Any:
        """The plane of `element_id`, else an empty one referring to nothing real, else a new one."""
        for plane in self.root.iter(_q(BPMNDI_NS, "BPMNPlane")):
            if plane.get("bpmnElement") == element_id:
                return plane
        for plane in self.root.iter(_q(BPMNDI_NS, "BPMNPlane")):
            if len(plane) == 0 and plane.get("bpmnElement") not in self.tags:
                plane.set("bpmnElement", element_id)
                return plane
        diagram = etree.SubElement(self.root, _q(BPMNDI_NS, "BPMNDiagram"), id=self.unique("BPMNDiagram_1"))
        plane = etree.SubElement(
            diagram, _q(BPMNDI_NS, "BPMNPlane"), id=self.unique(f"BPMNPlane_{element_id}")
        )
        plane.set("bpmnElement", element_id)
        return plane

    def shape(self, plane: Any, element_id: str, box: Bounds, marker: str = "") -> None:
        shape = etree.SubElement(plane, _q(BPMNDI_NS, "BPMNShape"), id=self.unique(f"{element_id}_di"))
        shape.set("bpmnElement", element_id)
        if marker == "exclusive":
            shape.set("isMarkerVisible", "true")
        elif marker == "expanded":
            shape.set("isExpanded", "true")
        elif marker == "pool":
            shape.set("isHorizontal", "true")
        _bounds(shape, box)
        self._touched(plane)

    def edge(self, plane: Any, flow_id: str, points: list[Point], route: str) -> None:
        edge = etree.SubElement(plane, _q(BPMNDI_NS, "BPMNEdge"), id=self.unique(f"{flow_id}_di"))
        edge.set("bpmnElement", flow_id)
        for x, y in points:
            etree.SubElement(edge, _q(DI_NS, "waypoint"), x=str(x), y=str(y))
        name = self.names.get(flow_id, "")
        if name:
            label = etree.SubElement(edge, _q(BPMNDI_NS, "BPMNLabel"))
            _bounds(label, label_bounds(points, route, name))
        self._touched(plane)

    def _touched(self, plane: Any) -> None:
        if not any(plane is p for p in self.planes):
            self.planes.append(plane)

    def finish(self) -> None:
        """Declare the DI namespaces once, on the root, and indent what was written."""
        declared = {uri for el in self.root.iter() if isinstance(el.tag, str) for uri in el.nsmap.values()}
        prefixes = {p for el in self.root.iter() if isinstance(el.tag, str) for p in el.nsmap if p}
        top: dict[str, str] = {}
        for prefix, uri in DI_PREFIXES.items():
            if uri in (self.root.nsmap or {}).values():
                continue
            chosen, n = prefix, 1
            while chosen in prefixes or chosen in top:
                n += 1
                chosen = f"{prefix}{n}"
            top[chosen] = uri
        if top or not declared >= set(DI_PREFIXES.values()):
            etree.cleanup_namespaces(self.root, top_nsmap=top, keep_ns_prefixes=sorted(prefixes))
        for plane in self.planes:
            diagram = plane.getparent()
            level = _depth(diagram)
            etree.indent(diagram, space="  ", level=level)
            if diagram.tail is None or not diagram.tail.strip():
                diagram.tail = "\n" + "  " * max(level - 1, 0)
            previous = diagram.getprevious()
            if previous is not None and (previous.tail is None or not previous.tail.strip()):
                previous.tail = "\n" + "  " * level


def _depth(element: Any) -> int:
    depth = 0
    while element.getparent() is not None:
        element = element.getparent()
        depth += 1
    return depth


def _bounds(parent: Any, box: Bounds) -> None:
    etree.SubElement(
        parent, _q(DC_NS, "Bounds"), x=str(box.x), y=str(box.y), width=str(box.width), height=str(box.height)
    )


def _write(writer: _Writer, plane: Any, process: _Container, placed: Layout, dx: int, dy: int) -> None:
    markers = {k: v for c in process.walk() for k, v in c.markers.items()}
    for container in process.walk():
        for element, _kind in container.nodes:
            writer.shape(plane, element, _moved(placed.shapes[element], dx, dy), markers.get(element, ""))
        for event, _host in container.boundaries:
            writer.shape(plane, event, _moved(placed.shapes[event], dx, dy))
    for container in process.walk():
        for flow_id, *_ in container.flows:
            points = [(x + dx, y + dy) for x, y in placed.edges[flow_id]]
            writer.edge(plane, flow_id, points, placed.routes[flow_id])


def _moved(box: Bounds, dx: int, dy: int) -> Bounds:
    return Bounds(box.x + dx, box.y + dy, box.width, box.height)


def _draw_blank(writer: _Writer, root: Any, processes: list[_Container]) -> None:
    """Lay out processes nothing of which is drawn: in pools of the collaboration, or a plane each."""
    collaboration = root.find(_q(BPMN_NS, "collaboration"))
    by_id = {p.element.get("id"): p for p in processes}
    if collaboration is None or not collaboration.get("id"):
        for process in processes:
            placed = _place(process)
            plane = writer.plane(process.element.get("id", ""))
            _write(writer, plane, process, placed, 0, 0)
        return
    plane = writer.plane(collaboration.get("id"))
    y = max((b.y + b.height for b in _plane_boxes(plane)), default=0) + BLOCK_GAP
    x = 100
    pooled: set[str] = set()
    for participant in collaboration.iter(_q(BPMN_NS, "participant")):
        pooled_process = by_id.get(participant.get("processRef", ""))
        if participant.get("id") in _drawn(root)[0]:
            continue
        if pooled_process is None and participant.get("processRef"):
            continue  # its process is drawn already
        placed = _place(pooled_process) if pooled_process is not None else Layout()
        contents = _extent(placed)
        if contents is None:
            width, height = EMPTY_POOL
        else:
            width, height = contents.width + TITLE + 2 * PADDING, contents.height + 2 * PADDING
        writer.shape(plane, participant.get("id"), Bounds(x, y, width, height), "pool")
        if pooled_process is not None and contents is not None:
            dx, dy = x + TITLE + PADDING - contents.x, y + PADDING - contents.y
            _write(writer, plane, pooled_process, placed, dx, dy)
            pooled.add(pooled_process.element.get("id"))
        y += height + BLOCK_GAP // 2
    for process in processes:  # not in any pool: below the pools, in the same plane
        if process.element.get("id") in pooled:
            continue
        placed = _place(process)
        contents = _extent(placed)
        if contents is not None:
            _write(writer, plane, process, placed, x - contents.x, y - contents.y)
            y += contents.height + BLOCK_GAP


def _plane_boxes(plane: Any) -> Iterator[Bounds]:
    for shape in plane.iter(_q(BPMNDI_NS, "BPMNShape")):
        box = _read_bounds(shape)
        if box is not None:
            yield box


def _read_bounds(shape: Any) -> Bounds | None:
    bounds = shape.find(_q(DC_NS, "Bounds"))
    if bounds is None:
        return None
    try:
        values = [round(float(bounds.get(name, ""))) for name in ("x", "y", "width", "height")]
    except ValueError:
        return None
    return Bounds(*values)


def _complete(writer: _Writer, process: _Container, shaped: set[str], edged: set[str]) -> None:
    """Keep what is drawn; add the missing elements as a block below it and connect the missing flows."""
    drawn: dict[str, Bounds] = {}
    planes: dict[str, Any] = {}
    nodes = process.node_ids()
    for shape in writer.root.iter(_q(BPMNDI_NS, "BPMNShape")):
        element = shape.get("bpmnElement")
        box = _read_bounds(shape)
        if element in nodes and box is not None and element not in drawn:
            drawn[element] = box
            planes[element] = shape.getparent()
    plane = next(iter(planes.values()), None)
    if plane is None:  # only edges are drawn: start from the plane they are in
        for edge in writer.root.iter(_q(BPMNDI_NS, "BPMNEdge")):
            if edge.get("bpmnElement") in process.flow_ids():
                plane = edge.getparent()
                break
    if plane is None:
        plane = writer.plane(process.element.get("id", ""))
    full = _place(process)
    markers = {k: v for c in process.walk() for k, v in c.markers.items()}
    hosts = {event: host for c in process.walk() for event, host in c.boundaries}
    block = [e for e in full.shapes if e not in drawn and not (e in hosts and hosts[e] in drawn)]
    placed: dict[str, Bounds] = dict(drawn)
    if block:
        left = min((b.x for b in drawn.values()), default=100)
        bottom = max((b.y + b.height for b in drawn.values()), default=0)
        dx = left - min(full.shapes[e].x for e in block)
        dy = bottom + BLOCK_GAP - min(full.shapes[e].y for e in block)
        for element in block:
            placed[element] = _moved(full.shapes[element], dx, dy)
    else:
        dx = dy = 0
    on_host: dict[str, int] = {}
    for event, host in hosts.items():
        if event not in drawn and host in drawn:  # on the host's bottom border, from the right
            box, i = drawn[host], on_host.get(host, 0)
            on_host[host] = i + 1
            cx = box.x + box.width - 20 - 45 * i
            placed[event] = Bounds(cx - 18, box.y + box.height - 18, 36, 36)
    for container in process.walk():
        for element, _kind in [*container.nodes, *container.boundaries]:
            if element not in drawn:
                writer.shape(plane, element, placed[element], markers.get(element, ""))
    moved = set(block)
    for container in process.walk():
        for flow_id, source, target, _name in container.flows:
            if flow_id in edged:
                continue
            if source in moved and target in moved:
                points = [(x + dx, y + dy) for x, y in full.edges[flow_id]]
                writer.edge(plane, flow_id, points, full.routes[flow_id])
            else:
                points = connect(placed[source], placed[target], source_is_boundary=source in hosts)
                writer.edge(plane, flow_id, points, "near")


def connect(a: Bounds, b: Bounds, *, source_is_boundary: bool = False) -> list[Point]:
    """A plain orthogonal line from a border point of `a` to one of `b` (midpoints of sides: on the outline
    of a rectangle, a diamond and a circle alike)."""
    acx, acy, bcx, bcy = a.x + a.width // 2, a.y + a.height // 2, b.x + b.width // 2, b.y + b.height // 2
    if not source_is_boundary and b.x >= a.x + a.width:
        mx = (a.x + a.width + b.x) // 2
        points = [(a.x + a.width, acy), (mx, acy), (mx, bcy), (b.x, bcy)]
    elif b.y >= a.y + a.height:
        my = (a.y + a.height + b.y) // 2
        points = [(acx, a.y + a.height), (acx, my), (bcx, my), (bcx, b.y)]
    elif not source_is_boundary and b.y + b.height <= a.y:
        my = (b.y + b.height + a.y) // 2
        points = [(acx, a.y), (acx, my), (bcx, my), (bcx, b.y + b.height)]
    else:  # beside or overlapping: round below both
        below = max(a.y + a.height, b.y + b.height) + 30
        points = [(acx, a.y + a.height), (acx, below), (bcx, below), (bcx, b.y + b.height)]
    return _simplified(points)


def _simplified(points: Iterable[Point]) -> list[Point]:
    """Without repeated points and without middle points of straight runs."""
    result: list[Point] = []
    for point in points:
        if result and result[-1] == point:
            continue
        if len(result) >= 2:
            (x1, y1), (x2, y2) = result[-2], result[-1]
            if (x1 == x2 == point[0]) or (y1 == y2 == point[1]):
                result[-1] = point
                continue
        result.append(point)
    return result
