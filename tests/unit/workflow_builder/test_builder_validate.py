"""validate_simple: every rule of the form, each problem naming its field, in English msgids with zh_CN."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from kefu.core import i18n
from kefu.workflow.builder import (
    AssignRule,
    Countersign,
    SimpleFlow,
    SimpleNode,
    StateRule,
    validate_simple,
)

from .flows import ALL, complaint, followup, proposal


def problems(flow: SimpleFlow) -> set[tuple[str, str]]:
    return {(p.field, p.message) for p in validate_simple(flow)}


@pytest.mark.parametrize("make", ALL, ids=lambda make: make.__name__)
def test_typical_flows_are_valid(make):
    assert validate_simple(make()) == []


def test_an_empty_form_names_each_missing_part():
    assert problems(SimpleFlow("", " ", [])) == {
        ("code", "This field is required"),
        ("name", "This field is required"),
        ("nodes", "Add at least one node"),
    }


NCNAME = "Start with a letter or '_', then use letters, digits, '_', '-' or '.'"
STATE_CODE = "Start with a lowercase letter, then use lowercase letters, digits or '_'"
DATA_NAME = "Start with a letter or '_', then use letters, digits or '_'"
RESERVED = "%(id)s is reserved for the end of the flow"
DUPLICATE = "Another node has the id %(id)s"


def review_states(first: str, second: str = "rejected") -> list[StateRule]:
    return [StateRule(first, "通过", "callback"), StateRule(second, "不通过", "handle")]


def node(flow: SimpleFlow, node_id: str) -> SimpleNode:
    return next(n for n in flow.nodes if n.id == node_id)


def rename(node_id: str, new_id: str) -> Callable[[SimpleFlow], None]:
    """Change a node's id and every reference to it."""

    def change(flow: SimpleFlow) -> None:
        for other in flow.nodes:
            for state in other.states:
                state.next = new_id if state.next == node_id else state.next
            for rule in other.assign:
                rule.ref = new_id if rule.ref == node_id else rule.ref
        node(flow, node_id).id = new_id

    return change


def setter(node_id: str, **changes: object) -> Callable[[SimpleFlow], None]:
    def change(flow: SimpleFlow) -> None:
        for name, value in changes.items():
            setattr(node(flow, node_id), name, value)

    return change


CASES: dict[str, tuple[Callable[[SimpleFlow], None], set[tuple[str, str]]]] = {
    "code is not an XML name": (lambda f: setattr(f, "code", "1-complaint"), {("code", NCNAME)}),
    "code with a space": (lambda f: setattr(f, "code", "my flow"), {("code", NCNAME)}),
    "node id is not an XML name": (rename("callback", "回访 1"), {("nodes[4].id", NCNAME)}),
    "node id empty": (rename("callback", ""), {("nodes[4].id", NCNAME)}),
    "node id end": (rename("callback", "end"), {("nodes[4].id", RESERVED)}),
    "duplicate node ids": (
        rename("callback", "review"),
        {("nodes[3].id", DUPLICATE), ("nodes[4].id", DUPLICATE)},
    ),
    "node name empty": (setter("review", name=""), {("nodes[3].name", "This field is required")}),
    "dispatch": (setter("review", dispatch="random"), {("nodes[3].dispatch", "Choose auto, manual or grab")}),
    "no assign rule": (
        setter("review", assign=[]),
        {("nodes[3].assign", "Add at least one rule for who handles this node")},
    ),
    "unknown assign kind": (
        setter("review", assign=[AssignRule("boss")]),
        {("nodes[3].assign[0].kind", "Unknown rule kind %(kind)s")},
    ),
    "role without ref": (
        setter("review", assign=[AssignRule("role", " ")]),
        {("nodes[3].assign[0].ref", "This field is required")},
    ),
    "initiator with ref": (
        setter("review", assign=[AssignRule("initiator", "zhang")]),
        {("nodes[3].assign[0].ref", "This kind of rule takes no reference")},
    ),
    "node rule to an unknown node": (
        setter("review", assign=[AssignRule("node_handler", "nowhere")]),
        {("nodes[3].assign[0].ref", "Choose another node of this flow")},
    ),
    "node rule to itself": (
        setter("review", assign=[AssignRule("node_department", "review")]),
        {("nodes[3].assign[0].ref", "Choose another node of this flow")},
    ),
    "state code with capitals": (
        setter("review", states=review_states("Approved")),
        {("nodes[3].states[0].code", STATE_CODE)},
    ),
    "state code with a dash": (
        setter("review", states=review_states("ok-ish")),
        {("nodes[3].states[0].code", STATE_CODE)},
    ),
    "duplicate state codes": (
        setter("review", states=review_states("ok", "ok")),
        {(f"nodes[3].states[{i}].code", "Another state of this node has the code %(code)s") for i in (0, 1)},
    ),
    "next to an unknown node": (
        setter("review", states=[StateRule("ok", "通过", "callbak"), StateRule("no", "不通过", "end")]),
        {
            ("nodes[3].states[0].next", "No node has the id %(id)s"),
            ("nodes[4].id", "Node %(id)s cannot be reached from the start"),
        },
    ),
    "escalation": (
        setter("review", escalation="shout"),
        {("nodes[3].escalation", "Choose notify, reassign or path")},
    ),
    "escalation without a limit": (
        setter("register", escalation="reassign"),
        {("nodes[0].escalation", "Set a time limit for the escalation to apply")},
    ),
    "path escalation without a state": (
        setter("review", escalation="path"),
        {("nodes[3].escalation_state", "Choose the state to take after the time limit")},
    ),
    "path escalation to another node's state": (
        setter("review", escalation="path", escalation_state="satisfied"),
        {("nodes[3].escalation_state", "Choose the state to take after the time limit")},
    ),
    "escalation state without path": (
        setter("review", escalation_state="approved"),
        {("nodes[3].escalation_state", "Only the path escalation takes a state")},
    ),
    "countersign mode": (
        setter("review", countersign=Countersign("most")),
        {("nodes[3].countersign.mode", "Choose all, any or quorum")},
    ),
    "quorum missing": (
        setter("review", countersign=Countersign("quorum")),
        {("nodes[3].countersign.quorum", "Enter a quorum of at least 1")},
    ),
    "quorum zero": (
        setter("review", countersign=Countersign("quorum", 0)),
        {("nodes[3].countersign.quorum", "Enter a quorum of at least 1")},
    ),
    "quorum not a number": (
        setter("review", countersign=Countersign("quorum", True)),  # type: ignore[arg-type]
        {("nodes[3].countersign.quorum", "Enter a quorum of at least 1")},
    ),
    "quorum with mode any": (
        setter("review", countersign=Countersign("any", 2)),
        {("nodes[3].countersign.quorum", "Only the quorum mode takes a quorum")},
    ),
    "participant list name": (
        setter("review", countersign=Countersign(participants_var="sign-ers")),
        {("nodes[3].countersign.participants_var", DATA_NAME)},
    ),
    "unreachable node": (
        lambda f: f.nodes.append(SimpleNode("extra", "额外", assign=[AssignRule("initiator")])),
        {("nodes[5].id", "Node %(id)s cannot be reached from the start")},
    ),
    "no way to the end": (
        setter(
            "callback",
            states=[StateRule("unsatisfied", "不满意", "handle")],
            escalation="notify",
            escalation_state="",
        ),
        {(f"nodes[{i}].states", "No path leads from node %(id)s to the end") for i in range(5)},
    ),
}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_rule_names_the_field(case):
    change, expected = CASES[case]
    flow = complaint()
    change(flow)
    assert problems(flow) == expected


@pytest.mark.parametrize("limit", ["PT8H", "P2D", "P1DT4H30M", "PT45M", "PT90S"])
def test_working_time_limits_in_days_hours_minutes(limit):
    flow = complaint()
    node(flow, "review").limit = limit
    assert validate_simple(flow) == []


@pytest.mark.parametrize("limit", ["8h", "P", "PT", "P1M", "P1Y", "P1W", "PT8.5H", "pt8h", "P1DT", " PT8H"])
def test_other_limits_are_refused(limit):
    flow = complaint()
    node(flow, "review").limit = limit
    assert problems(flow) == {("nodes[3].limit", "Enter a working-time duration such as PT8H or P2D")}


def test_a_zero_limit_is_refused():
    flow = complaint()
    node(flow, "review").limit = "PT0H"
    assert problems(flow) == {("nodes[3].limit", "The time limit must be longer than zero")}


@pytest.mark.parametrize("warn_at", [0, 1, 1.5, -0.1, math.nan])
def test_warning_point_is_a_fraction_of_the_limit(warn_at):
    flow = complaint()
    node(flow, "review").warn_at = warn_at
    assert problems(flow) == {("nodes[3].warn_at", "Enter a fraction between 0 and 1")}


def test_path_escalation_of_a_node_without_states_takes_done():
    flow = complaint()
    setter("dispatch", escalation="path", escalation_state="done")(flow)
    assert validate_simple(flow) == []


def test_generated_ids_that_coincide_are_reported():
    flow = followup()
    # Flow_call_no_answer would be written twice: for node "call" state "no_answer", and here.
    flow.nodes.insert(1, SimpleNode("call_no", "外呼二", assign=[AssignRule("role", "agent")],
                                    states=[StateRule("answer", "接通", "close")]))  # fmt: skip
    node(flow, "call").states[0].next = "call_no"
    found = validate_simple(flow)
    assert [(p.field, p.message, p.params) for p in found] == [
        (
            "nodes[1].id",
            "The id %(id)s clashes with another element of the flow",
            {"id": "Flow_call_no_answer"},
        ),
        (
            "nodes[1].id",
            "The id %(id)s clashes with another element of the flow",
            {"id": "Flow_call_no_answer_di"},
        ),
    ]


def test_a_node_named_like_a_participant_list_clashes():
    flow = proposal()
    rename("archive", "countersigners")(flow)
    assert ("nodes[2].id", "The id %(id)s clashes with another element of the flow") in problems(flow)


def test_problems_read_in_chinese_with_their_values():
    flow = complaint()
    node(flow, "review").states[0].next = "nowhere"
    problem = next(p for p in validate_simple(flow) if p.field == "nodes[3].states[0].next")
    assert problem.render() == "No node has the id nowhere"
    i18n.set_locale("zh_CN")
    assert problem.render(i18n.gettext) == "没有标识为 nowhere 的节点"
