"""The diagram the builder draws: everything placed, nothing overlapping, edges orthogonal, on borders."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from kefu.workflow.builder import to_bpmn

from .diagram import check
from .flows import ALL, complaint, consultation, followup, random_flows, repair

LAWS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("make", ALL, ids=lambda make: make.__name__)
def test_typical_flows_obey_the_layout_laws(make):
    check(to_bpmn(make()))


@LAWS
@given(random_flows())
def test_any_flow_obeys_the_layout_laws(flow):
    check(to_bpmn(flow))


def test_the_same_flow_always_gives_the_same_xml():
    assert to_bpmn(complaint()) == to_bpmn(complaint())


def test_complaint_reads_left_to_right_on_one_row_with_loops_below():
    diagram = check(to_bpmn(complaint()))
    main = ["StartEvent", "register", "dispatch", "handle", "Gateway_handle", "review", "Gateway_review",
            "callback", "Gateway_callback", "EndEvent"]  # fmt: skip
    centers = [diagram.shapes[element].center for element in main]
    assert len({y for _, y in centers}) == 1
    assert [x for x, _ in centers] == sorted(x for x, _ in centers)
    row_bottom = diagram.shapes["handle"].y + diagram.shapes["handle"].height
    for loop in ("Flow_handle_returned", "Flow_review_rejected", "Flow_callback_unsatisfied"):
        points = diagram.edges[loop]
        assert all(y > row_bottom for _, y in points[1:-1]), loop
        assert points[-1][1] == row_bottom  # enters its target from below
    tracks = {diagram.edges[loop][1][1] for loop in ("Flow_review_rejected", "Flow_callback_unsatisfied")}
    assert len(tracks) == 2  # overlapping loops run on separate tracks


def test_a_fan_out_puts_the_branches_in_one_column_on_separate_rows():
    diagram = check(to_bpmn(repair()))
    teams = [diagram.shapes[team] for team in ("plumber", "electrician", "gasman")]
    assert len({team.x for team in teams}) == 1
    assert len({team.y for team in teams}) == 3
    survey = diagram.shapes["survey"]
    back = diagram.edges["Flow_electrician_wrong"]  # from the second row back to the first
    assert back[-1] == (back[-1][0], survey.y + survey.height)


def test_a_flow_skipping_nodes_runs_above_the_row():
    diagram = check(to_bpmn(consultation()))
    gateway = diagram.shapes["Gateway_triage"]
    for skip in ("Flow_triage_simple", "Flow_triage_invalid"):
        points = diagram.edges[skip]
        assert points[0] == (gateway.center[0], gateway.y)  # leaves from the top corner
        assert all(y < gateway.y for _, y in points[1:-1])


def test_two_states_to_the_same_node_get_two_visible_edges():
    diagram = check(to_bpmn(followup()))
    assert diagram.edges["Flow_call_reached"] != diagram.edges["Flow_call_wrong"]
    loop = diagram.edges["Flow_call_no_answer"]  # gateway back to its own task
    call = diagram.shapes["call"]
    assert loop[-1][1] == call.y + call.height
