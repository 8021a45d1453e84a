"""The node-and-flow graph of one BPMN process, as plain data for the validation rules."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from kefu.workflow.engine.model import bpmn, flow_nodes, local_name


@dataclass(frozen=True)
class Flow:
    """A sequence flow; `condition` is its conditionExpression text (None when it has none)."""

    flow_id: str
    source: str
    target: str
    condition: str | None


@dataclass
class Graph:
    """Flow nodes (id → element), sequence flows, and their adjacency, including nested subprocesses."""

    process: Any
    nodes: dict[str, Any] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    outgoing: dict[str, list[Flow]] = field(default_factory=dict)
    incoming: dict[str, list[Flow]] = field(default_factory=dict)

    @classmethod
    def of(cls, process: Any) -> Graph:
        graph = cls(process)
        for element in flow_nodes(process, foreign=True):
            node_id = element.get("id")
            if node_id:
                graph.nodes[node_id] = element
        for element in process.iter(bpmn("sequenceFlow")):
            condition = element.find(bpmn("conditionExpression"))
            flow = Flow(
                flow_id=element.get("id", ""),
                source=element.get("sourceRef", ""),
                target=element.get("targetRef", ""),
                condition=(condition.text or "") if condition is not None else None,
            )
            graph.flows[flow.flow_id] = flow
            graph.outgoing.setdefault(flow.source, []).append(flow)
            graph.incoming.setdefault(flow.target, []).append(flow)
        return graph

    def kind(self, node_id: str) -> str:
        element = self.nodes.get(node_id)
        return local_name(element) if element is not None else ""

    def out(self, node_id: str) -> list[Flow]:
        return self.outgoing.get(node_id, [])

    def start_events(self, container: Any) -> list[Any]:
        """The start events directly inside `container` (a process or subprocess)."""
        return [el for el in container if local_name(el) == "startEvent"]

    def reachable(self) -> set[str]:
        """Node ids reachable from the process's start events.

        A subprocess reaches its own start events and event subprocesses; a task reaches the
        boundary events attached to it.
        """
        attached: dict[str, list[str]] = {}
        for node_id, element in self.nodes.items():
            ref = element.get("attachedToRef")
            if ref:
                attached.setdefault(ref, []).append(node_id)
        seen: set[str] = set()
        queue: deque[str] = deque(el.get("id", "") for el in self._entry_points(self.process))
        while queue:
            node_id = queue.popleft()
            if node_id in seen or node_id not in self.nodes:
                continue
            seen.add(node_id)
            queue.extend(flow.target for flow in self.out(node_id))
            queue.extend(attached.get(node_id, ()))
            element = self.nodes[node_id]
            if local_name(element) == "subProcess":
                queue.extend(el.get("id", "") for el in self._entry_points(element))
        return seen

    def _entry_points(self, container: Any) -> list[Any]:
        entries = [el for el in self.start_events(container) if el.get("id")]
        entries += [
            el for el in container if local_name(el) == "subProcess" and el.get("triggeredByEvent") == "true"
        ]
        return entries

    def following_choice(self, node_id: str) -> tuple[str, list[Flow], str | None] | None:
        """Where a task's route is decided: (deciding node id, its outgoing flows, default flow id).

        A task with one outgoing flow into an exclusive gateway is decided by that gateway; a task
        with one plain outgoing flow by itself (one branch). None when the task has no outgoing flow
        or several (an implicit parallel split).
        """
        flows = self.out(node_id)
        if len(flows) != 1:
            return None
        target = flows[0].target
        if self.kind(target) == "exclusiveGateway":
            gateway = self.nodes[target]
            return target, self.out(target), gateway.get("default")
        return node_id, flows, None
