"""Running a builder flow on SpiffWorkflow directly (engine-independent), choosing approval states."""

from __future__ import annotations

from collections.abc import Callable

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser, BpmnValidator
from SpiffWorkflow.util.task import TaskState

from kefu.workflow.builder import END, SimpleFlow
from kefu.workflow.builder.model import input_item_id, routes

Chooser = Callable[[str, int], str]  # (node id, how many visits so far) → state code


def parse(xml: str, code: str):
    """The process spec; the XML is checked against the BPMN 2.0 schema on the way."""
    parser = BpmnParser(validator=BpmnValidator())
    parser.add_bpmn_str(xml.encode())
    return parser.get_spec(code)


def start(workflow: BpmnWorkflow, data: dict[str, object]) -> None:
    """Start `workflow` with `data` (what kefu's runtime puts in at the start: e.g. participant lists)."""
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    workflow.do_engine_steps()


def run(
    xml: str,
    flow: SimpleFlow,
    choose: Chooser,
    participants: tuple[str, ...] = ("li", "wang", "zhao"),
    max_visits: int = 40,
) -> tuple[list[str], bool]:
    """Visited nodes (a countersign counts once per visit, whatever its instances) and whether it ended.

    Every instance of a countersign visit records the same state. Before completing an instance, the
    participant item is removed from its data: otherwise it merges into the flow's data and Spiff refuses
    to start the same countersign again ("input item already exists") when a state loops back to it.
    """
    workflow = BpmnWorkflow(parse(xml, flow.code))
    lists = {node.countersign.participants_var for node in flow.nodes if node.countersign is not None}
    start(workflow, {name: list(participants) for name in lists})
    visited: list[str] = []
    decided: dict[object, str] = {}
    while not workflow.is_completed() and len(visited) < max_visits:
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        node = task.task_spec.bpmn_id
        countersign = next(n.countersign for n in flow.nodes if n.id == node)
        visit = task.parent.id if countersign else task.id
        if visit not in decided:
            visited.append(node)
            decided[visit] = choose(node, visited.count(node) - 1)
        task.data["kefu_state"] = decided[visit]
        if countersign:
            assert task.data.pop(input_item_id(node)) in participants
        task.run()
        workflow.do_engine_steps()
    return visited, workflow.is_completed()


def expected(flow: SimpleFlow, choose: Chooser, max_visits: int = 40) -> tuple[list[str], bool]:
    """What the simple form says the same choices do."""
    table = {(r.node, r.state): r.next for r in routes(flow)}
    codes = {node.id: [r.state for r in routes(flow) if r.node == node.id] for node in flow.nodes}
    visited: list[str] = []
    current = flow.nodes[0].id
    while current != END and len(visited) < max_visits:
        visited.append(current)
        state = choose(current, visited.count(current) - 1)
        assert state in codes[current]
        current = table[(current, state)]
    return visited, current == END
