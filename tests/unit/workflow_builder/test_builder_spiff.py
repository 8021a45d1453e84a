"""The builder's BPMN runs on SpiffWorkflow (used directly, independent of kefu's engine) as the form says."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from kefu.workflow.builder import to_bpmn

from .flows import ALL, complaint, proposal, random_flows
from .spiff import expected, parse, run, start

LAWS = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def script(**choices: list[str]):
    """A chooser that takes the given states of each node in turn."""
    return lambda node, visit: choices[node][visit]


@pytest.mark.parametrize("make", ALL, ids=lambda make: make.__name__)
def test_spiff_parses_every_typical_flow_against_the_bpmn_schema(make):
    flow = make()
    spec = parse(to_bpmn(flow), flow.code)
    assert {node.id for node in flow.nodes} <= set(spec.task_specs)


def test_complaint_follows_the_chosen_states_through_its_loops():
    flow = complaint()
    choose = script(
        register=["done"],
        dispatch=["done", "done"],
        handle=["done", "done", "returned", "done"],
        review=["rejected", "approved", "approved"],
        callback=["unsatisfied", "satisfied"],
    )
    visited, ended = run(to_bpmn(flow), flow, choose)
    assert visited == [
        "register", "dispatch", "handle", "review", "handle", "review", "callback",
        "handle", "dispatch", "handle", "review", "callback",
    ]  # fmt: skip
    assert ended
    assert (visited, ended) == expected(flow, choose)


def test_a_state_the_node_does_not_declare_stops_at_the_gateway():
    flow = complaint()
    workflow = BpmnWorkflow(parse(to_bpmn(flow), flow.code))
    workflow.do_engine_steps()
    for _ in range(2):  # register, dispatch
        workflow.get_tasks(state=TaskState.READY, manual=True)[0].run()
        workflow.do_engine_steps()
    handle = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
    assert handle.task_spec.bpmn_id == "handle"
    handle.data["kefu_state"] = "approved"  # a state of review, not of handle
    handle.run()
    with pytest.raises(WorkflowException, match="No conditions satisfied for Gateway_handle"):
        workflow.do_engine_steps()


def test_countersign_gives_each_participant_a_task_with_their_name():
    flow = proposal()
    workflow = BpmnWorkflow(parse(to_bpmn(flow), flow.code))
    start(workflow, {"countersigners": ["li", "wang", "zhao"], "archivists": ["qian", "sun"]})
    workflow.get_tasks(state=TaskState.READY, manual=True)[0].run()  # draft
    workflow.do_engine_steps()
    signing = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert [t.task_spec.bpmn_id for t in signing] == ["sign"] * 3  # parallel: all at once
    assert sorted(t.data["countersigner_sign"] for t in signing) == ["li", "wang", "zhao"]
    for task in signing:
        task.data["kefu_state"] = "agreed"
        task.run()
    workflow.do_engine_steps()
    archivists = []
    while not workflow.is_completed():
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        assert [t.task_spec.bpmn_id for t in ready] == ["archive"]  # sequential: one at a time
        # Spiff merges each instance's data into the task's; left in, the item of this instance would stop
        # the next one from starting ("input item already exists"), so the engine must take it out.
        archivists.append(ready[0].data.pop("countersigner_archive"))
        ready[0].run()
        workflow.do_engine_steps()
    assert archivists == ["qian", "sun"]


def test_countersign_disagreement_goes_back_to_the_draft():
    flow = proposal()
    choose = script(draft=["done", "done"], sign=["disagreed", "agreed"], archive=["done"])
    visited, ended = run(to_bpmn(flow), flow, choose)
    assert visited == ["draft", "sign", "draft", "sign", "archive"]
    assert ended


@LAWS
@given(
    st.sampled_from(ALL).map(lambda make: make()) | random_flows(), st.lists(st.integers(0, 5), max_size=40)
)
def test_spiff_visits_what_the_form_predicts(flow, picks):
    """Law: for any valid form and any choices, SpiffWorkflow running the XML visits the same nodes."""
    states: dict[str, list[str]] = {}
    for node in flow.nodes:
        states[node.id] = [s.code for s in node.states] or ["done"]
    order = iter(picks)
    memo: dict[tuple[str, int], str] = {}

    def choose(node: str, visit: int) -> str:
        if (node, visit) not in memo:
            memo[(node, visit)] = states[node][next(order, 0) % len(states[node])]
        return memo[(node, visit)]

    visited, ended = run(to_bpmn(flow), flow, choose, max_visits=25)
    assert (visited, ended) == expected(flow, choose, max_visits=25)
