"""Diagram layout of a flow graph: shapes on a grid of columns and rows, orthogonal edges between them.

Columns are the longest-path rank of each element from the start, once the back edges (loops such as
"rejected → register", found by a depth-first search in declaration order) are set aside; so flows read
left to right. Within a column every element gets its own row, preferring the row of its predecessor,
so the main path stays on one line. Edges never cross a shape: they run along a row's centre line only
between neighbouring columns; every other stretch lies in the empty gaps between rows or columns:
- a forward edge to the next column on the same row goes straight; to another row it leaves from the
  top or bottom, runs in the row gap to the column gap, there to the target's row and into its left side
  (so along a row's centre line in a column gap run only flows into the one element at its end);
- a forward edge skipping columns leaves upwards and runs in the gap above its row;
- a back edge leaves downwards, runs in the gap below its row and enters the target from below.
Each stretch in a gap gets its own track (shorter stretches nearer the row), and gaps grow to fit.

Imported flows (`autolayout`) bring more: intermediate events ("event"), expanded subprocesses
("subprocess", sized by their own contents), and boundary events sitting on the bottom border of their
host, right of the host's own exits (the host grows wider for them). A flow leaving a boundary event
goes down into the gap below the host's row ("under"): there to the column gap before its target and
into the target's left side — or, closing a loop, on as a back edge. Row heights follow the tallest
element of the row; all elements of a row share its centre line.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

SIZES = {
    "start": (36, 36),
    "end": (36, 36),
    "event": (36, 36),
    "task": (100, 80),
    "subprocess": (100, 80),
    "gateway": (50, 50),
}
RECTANGLES = frozenset({"task", "subprocess"})
BOUNDARY_SIZE = 36
BOUNDARY_STEP = 50  # width a host grows by for each boundary event on its bottom border
ROW_HEIGHT = 80
ORIGIN_X = 100
ORIGIN_Y = 60
MIN_COLUMN_GAP = 60
MIN_ROW_GAP = 40
TRACK = 20
SELF_LOOP = 10  # how far right of a small shape a flow back to itself turns down
LABEL_HEIGHT = 14

Point = tuple[int, int]


@dataclass(frozen=True)
class Bounds:
    x: int
    y: int
    width: int
    height: int

    def overlaps(self, other: Bounds) -> bool:
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.y < other.y + other.height
            and other.y < self.y + self.height
        )


@dataclass
class Layout:
    """Bounds of every element and the waypoints of every flow (first and last on the shapes' borders)."""

    shapes: dict[str, Bounds] = field(default_factory=dict)
    edges: dict[str, list[Point]] = field(default_factory=dict)
    routes: dict[str, str] = field(default_factory=dict)  # flow id → "near", "over", "back" or "under"


@dataclass
class _Edge:
    id: str
    source: str  # for a flow leaving a boundary event: the event's host
    target: str
    kind: str = "near"  # near | over | back | under
    tracks: dict[str, int] = field(default_factory=dict)
    port: str | None = None  # the boundary event the flow leaves from


class _Tracks:
    """Assigns stretches in a gap to parallel tracks so that overlapping stretches never share one."""

    def __init__(self) -> None:
        self.requests: list[tuple[tuple[object, ...], int, int, _Edge, str]] = []
        self.count: dict[tuple[object, ...], int] = defaultdict(int)

    def ask(self, gap: tuple[object, ...], a: int, b: int, edge: _Edge, name: str) -> None:
        self.requests.append((gap, min(a, b), max(a, b), edge, name))

    def assign(self) -> None:
        taken: dict[tuple[object, ...], list[list[tuple[int, int]]]] = defaultdict(list)
        for gap, lo, hi, edge, name in sorted(self.requests, key=lambda r: (r[2] - r[1], r[1])):
            lanes = taken[gap]
            index = next(
                (i for i, lane in enumerate(lanes) if all(hi < a or b < lo for a, b in lane)), len(lanes)
            )
            if index == len(lanes):
                lanes.append([])
            lanes[index].append((lo, hi))
            edge.tracks[name] = index
            self.count[gap] = len(lanes)


def layout(
    elements: Sequence[tuple[str, str]],
    flows: Sequence[tuple[str, str, str]],
    root: str,
    *,
    sizes: Mapping[str, tuple[int, int]] | None = None,
    boundaries: Sequence[tuple[str, str]] = (),
) -> Layout:
    """Place `elements` ((id, kind) with kind in SIZES) and route `flows` ((id, source, target)).

    `sizes` overrides the size of single elements (an expanded subprocess is as large as its contents);
    `boundaries` are (event id, host id) pairs: boundary events, not in `elements`, placed on their
    host's bottom border; flows may leave from them.
    """
    kinds = dict(elements)
    order = {element: index for index, (element, _) in enumerate(elements)}
    host_of = dict(boundaries)
    attached: dict[str, list[str]] = {}
    for event, host in boundaries:
        attached.setdefault(host, []).append(event)
    core = {element: (sizes or {}).get(element, SIZES[kind]) for element, kind in elements}
    size = {
        element: (width + BOUNDARY_STEP * len(attached.get(element, ())), height)
        for element, (width, height) in core.items()
    }
    edges = [
        _Edge(
            fid,
            host_of.get(source, source),
            host_of.get(target, target),
            port=source if source in host_of else None,
        )
        for fid, source, target in flows
    ]
    out: dict[str, list[_Edge]] = {element: [] for element in kinds}
    for edge in edges:
        out[edge.source].append(edge)
    roots = [root] + [element for element in kinds if element != root]
    _mark_back_edges(roots, out)
    rank = _ranks(order, edges)
    row = _rows(order, edges, rank)
    tracks = _plan(edges, kinds, rank, row)

    ncols, nrows = max(rank.values()) + 1, max(row.values()) + 1
    widths = [0] * ncols
    heights = [ROW_HEIGHT] * nrows
    for element in kinds:
        widths[rank[element]] = max(widths[rank[element]], size[element][0])
        heights[row[element]] = max(heights[row[element]], size[element][1])
    dropped = {row[host] + 1 for host in attached}  # the gaps below boundary events
    col_x, col_gap_x = [], []
    x = ORIGIN_X
    for k in range(ncols):
        col_x.append(x)
        n = tracks.count[("col", k)]
        gap = max(MIN_COLUMN_GAP, TRACK * (n + 1))
        col_gap_x.append([x + widths[k] + gap * (i + 1) // (n + 1) for i in range(n)])
        x += widths[k] + gap
    row_y, upper, lower = [], [], []
    y = ORIGIN_Y
    for g in range(nrows + 1):
        n_up, n_low = tracks.count[("row", g, "upper")], tracks.count[("row", g, "lower")]
        drop = TRACK if g in dropped else 0
        gap = max(MIN_ROW_GAP, TRACK * (n_up + n_low + 1) + drop)
        upper.append([y + drop + TRACK * (i + 1) for i in range(n_up)])
        lower.append([y + gap - TRACK * (i + 1) for i in range(n_low)])
        y += gap
        row_y.append(y)
        y += heights[g] if g < nrows else 0

    result = Layout()
    exit_x: dict[str, int] = {}
    for element, kind in elements:
        width, height = size[element]
        cx = col_x[rank[element]] + widths[rank[element]] // 2
        cy = row_y[row[element]] + heights[row[element]] // 2
        box = Bounds(cx - width // 2, cy - height // 2, width, height)
        result.shapes[element] = box
        exit_x[element] = box.x + core[element][0] // 2 + (25 if kind in RECTANGLES else 0)
        for i, event in enumerate(attached.get(element, ())):
            ex = box.x + core[element][0] + BOUNDARY_STEP * i + BOUNDARY_STEP // 2
            half = BOUNDARY_SIZE // 2
            result.shapes[event] = Bounds(ex - half, box.y + height - half, BOUNDARY_SIZE, BOUNDARY_SIZE)
    entries = _entry_points(edges, kinds, result.shapes, core, rank)
    for edge in edges:
        a, b = result.shapes[edge.source], result.shapes[edge.target]
        ra, rb, kb = row[edge.source], row[edge.target], rank[edge.target]
        ay, by = a.y + a.height // 2, b.y + b.height // 2
        leave_x, bottom = exit_x[edge.source], a.y + a.height
        if edge.port is not None:
            port = result.shapes[edge.port]
            leave_x, bottom = port.x + port.width // 2, port.y + port.height
        if edge.kind == "near" and ra == rb:
            points = [(a.x + a.width, ay), (b.x, by)]
        elif edge.kind == "near":
            gx = col_gap_x[rank[edge.source]][edge.tracks["v"]]
            if rb > ra:
                ty, leave = upper[ra + 1][edge.tracks["h"]], a.y + a.height
            else:
                ty, leave = lower[ra][edge.tracks["h"]], a.y
            points = [(leave_x, leave), (leave_x, ty), (gx, ty), (gx, by), (b.x, by)]
        elif edge.kind == "under":
            ty, gx = upper[ra + 1][edge.tracks["h"]], col_gap_x[kb - 1][edge.tracks["v"]]
            points = [(leave_x, bottom), (leave_x, ty), (gx, ty), (gx, by), (b.x, by)]
        elif edge.kind == "over":
            ty = lower[ra][edge.tracks["h"]]
            points = [(leave_x, a.y), (leave_x, ty)]
            if ra == rb:
                ex = entries[edge.id]
                points += [(ex, ty), (ex, b.y)]
            else:
                gx = col_gap_x[kb - 1][edge.tracks["v"]]
                points += [(gx, ty), (gx, by), (b.x, by)]
        elif _round_loop(edge, kinds):  # leaves a small shape to the right: its bottom is the entry
            ty, side = upper[ra + 1][edge.tracks["h"]], a.x + a.width + SELF_LOOP
            ex = entries[edge.id]
            points = [(a.x + a.width, ay), (side, ay), (side, ty), (ex, ty), (ex, a.y + a.height)]
        else:
            ty = upper[ra + 1][edge.tracks["h"]]
            points = [(leave_x, bottom), (leave_x, ty)]
            ex = entries[edge.id]
            if ra != rb:
                gx = col_gap_x[kb][edge.tracks["v"]]
                ty2 = upper[rb + 1][edge.tracks["h2"]]
                points += [(gx, ty), (gx, ty2)]
                ty = ty2
            points += [(ex, ty), (ex, b.y + b.height)]
        result.edges[edge.id] = points
        result.routes[edge.id] = edge.kind
    return result


def label_bounds(points: Sequence[Point], kind: str, text: str) -> Bounds:
    """Where to print a flow's name (its state label): above the stretch that belongs to this flow alone —
    the straight line, the last stretch of a jog, or the track stretch next to the source of an over or
    back edge (the other end is where the legs of other edges into the same target come down)."""
    width = sum(12 if ord(ch) > 0x2E80 else 7 for ch in text) or 7
    if kind == "near" and len(points) == 2:
        (x1, y), (x2, _) = points
        x = (x1 + x2) // 2 - width // 2
    elif kind == "near":
        x, y = points[-1][0] - 4 - width, points[-1][1]
    elif kind in ("over", "under"):
        x, y = points[1][0] + 6, points[1][1]
    else:
        x, y = points[1][0] - 6 - width, points[1][1]
    return Bounds(x, y - 4 - LABEL_HEIGHT, width, LABEL_HEIGHT)


def _mark_back_edges(roots: Sequence[str], out: dict[str, list[_Edge]]) -> None:
    """Depth-first search in declaration order; an edge to an element still on the stack closes a loop."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = finished
    for root in roots:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(out[root]))]
        while stack:
            element, pending = stack[-1]
            for edge in pending:
                if state.get(edge.target) == 1:
                    edge.kind = "back"
                elif edge.target not in state:
                    state[edge.target] = 1
                    stack.append((edge.target, iter(out[edge.target])))
                    break
            else:
                state[element] = 2
                stack.pop()


def _ranks(order: dict[str, int], edges: list[_Edge]) -> dict[str, int]:
    """Longest-path rank over the forward edges (a DAG once the back edges are set aside)."""
    rank = dict.fromkeys(order, 0)
    waiting = dict.fromkeys(order, 0)
    forward: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        if edge.kind != "back":
            forward[edge.source].append(edge.target)
            waiting[edge.target] += 1
    ready = deque(element for element in order if waiting[element] == 0)
    while ready:
        element = ready.popleft()
        for target in forward[element]:
            rank[target] = max(rank[target], rank[element] + 1)
            waiting[target] -= 1
            if waiting[target] == 0:
                ready.append(target)
    return rank


def _rows(order: dict[str, int], edges: list[_Edge], rank: dict[str, int]) -> dict[str, int]:
    """Row of each element: its first predecessor's row when free in its column, else the next free one."""
    preds: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for index, edge in enumerate(edges):
        if edge.kind != "back":  # the host's own flows choose rows before those of its boundary events
            preds[edge.target].append((edge.source, index + (len(edges) if edge.port else 0)))
    columns: dict[int, list[str]] = defaultdict(list)
    for element in order:
        columns[rank[element]].append(element)
    row: dict[str, int] = {}
    for k in sorted(columns):

        def wish(element: str) -> tuple[int, int, int]:
            best = min(((row[s], i) for s, i in preds[element]), default=(0, -1))
            return (*best, order[element])

        used: set[int] = set()
        for element in sorted(columns[k], key=wish):
            candidate = wish(element)[0]
            while candidate in used:
                candidate += 1
            used.add(candidate)
            row[element] = candidate
    return row


def _round_loop(edge: _Edge, kinds: dict[str, str]) -> bool:
    """A flow from an event or a gateway back to itself: its bottom point cannot be both exit and entry."""
    return edge.source == edge.target and edge.port is None and kinds[edge.source] not in RECTANGLES


def _plan(edges: list[_Edge], kinds: dict[str, str], rank: dict[str, int], row: dict[str, int]) -> _Tracks:
    """Decide each edge's route and ask for the gap tracks it needs ("slots": 2k+1 = column k, 2k+2 = gap)."""
    tracks = _Tracks()
    seen: set[tuple[str, str]] = set()
    for edge in edges:
        pair = (edge.source, edge.target)
        ka, kb, ra, rb = rank[edge.source], rank[edge.target], row[edge.source], row[edge.target]
        if edge.port is not None:
            edge.kind = "back" if edge.kind == "back" else "under"  # leaves downwards, never over the row
        else:
            if edge.kind != "back" and (kb - ka > 1 or pair in seen):
                edge.kind = "over"  # a second flow between the same two elements must not hide the first
            seen.add(pair)
        if edge.kind == "under":
            tracks.ask(("row", ra + 1, "upper"), 2 * ka + 1, 2 * kb, edge, "h")
            tracks.ask(("col", kb - 1), 2 * ra + 2, 2 * rb + 1, edge, "v")
        elif edge.kind == "near" and ra != rb:
            down = rb > ra
            tracks.ask(
                ("row", ra + 1, "upper") if down else ("row", ra, "lower"), 2 * ka + 1, 2 * ka + 2, edge, "h"
            )
            tracks.ask(("col", ka), 2 * ra + 2 if down else 2 * ra, 2 * rb + 1, edge, "v")
        elif edge.kind == "over":
            tracks.ask(("row", ra, "lower"), 2 * ka + 1, 2 * kb + 1 if ra == rb else 2 * kb, edge, "h")
            if ra != rb:
                tracks.ask(("col", kb - 1), 2 * ra, 2 * rb + 1, edge, "v")
        elif edge.kind == "back":
            end = 2 * kb + 1 if ra == rb and not _round_loop(edge, kinds) else 2 * kb + 2
            tracks.ask(("row", ra + 1, "upper"), 2 * ka + 1, end, edge, "h")
            if ra != rb:
                tracks.ask(("col", kb), 2 * ra + 2, 2 * rb + 2, edge, "v")
                tracks.ask(("row", rb + 1, "upper"), 2 * kb + 1, 2 * kb + 2, edge, "h2")
    tracks.assign()
    return tracks


def _entry_points(
    edges: list[_Edge],
    kinds: dict[str, str],
    shapes: dict[str, Bounds],
    core: dict[str, tuple[int, int]],
    rank: dict[str, int],
) -> dict[str, int]:
    """x where over/back edges enter their target from above/below, spread over a task's left half so
    that no edge's vertical leg crosses the track of another edge into the same side."""
    arriving: dict[tuple[str, str], list[_Edge]] = defaultdict(list)
    for edge in edges:
        if edge.kind in ("over", "back"):
            arriving[(edge.target, edge.kind)].append(edge)
    entries: dict[str, int] = {}
    for (target, _kind), group in arriving.items():
        box = shapes[target]
        # Over edges arrive from the left, back edges from the right: the longer one enters farther away.
        group.sort(key=lambda e: rank[e.target] - rank[e.source])
        for i, edge in enumerate(group):
            if kinds[target] in RECTANGLES:  # left of the exit, left of any boundary event
                entries[edge.id] = box.x + (core[target][0] // 2) * (i + 1) // (len(group) + 1)
            else:
                entries[edge.id] = box.x + box.width // 2
    return entries
