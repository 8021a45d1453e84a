"""Running flows: states route, restore between every step, parallel paths, returns, cancel, re-import."""

from __future__ import annotations

import json

import pytest
from lxml import etree
from tests.unit.workflow.conftest import Ticket, flow_xml

from kefu.workflow.engine.runtime import Engine
from kefu.workflow.engine.spec import load_spec, parse


def test_approval_flow_routes_by_state_and_loops_back_on_reject(ticket):
    t = ticket("approval", {"amount": 120})
    assert [(r.node_id, r.name, r.lane, r.states) for r in t.ready()] == [
        ("register", "Register", "front", ("done",))
    ]
    t.complete("register", data={"summary": "no signal"})
    assert t.task("review").states == ("approved", "rejected")
    t.complete("review", "rejected", data={"reason": "missing address"})
    assert t.ready_nodes() == ["register"]
    assert t.task("register").data["reason"] == "missing address"
    t.complete("register", data={"address": "Main St 1"})
    t.complete("review", "approved")
    assert t.ready_nodes() == ["handle"]
    assert t.task("handle").lane == "back"
    t.complete("handle")
    t.complete("close")
    instance = t.instance()
    assert instance.is_completed and not instance.is_cancelled
    assert instance.ready_tasks() == []
    assert instance.history() == [
        "start", "register", "review", "decision", "register", "review", "decision", "handle", "close", "end",
    ]  # fmt: skip
    assert instance.data["address"] == "Main St 1" and instance.data["summary"] == "no signal"


def test_complete_refuses_unknown_states_reserved_names_and_tasks_that_are_not_ready(ticket):
    t = ticket("approval")
    register = t.task("register")
    with pytest.raises(ValueError, match="'approved' is not a state of node 'register'"):
        t.instance().complete(register.task_id, state="approved")
    with pytest.raises(ValueError, match="kefu_state"):
        t.instance().complete(register.task_id, state="done", data={"kefu_state": "approved"})
    t.complete("register")
    with pytest.raises(ValueError, match="is not ready"):
        t.instance().complete(register.task_id, state="done")
    with pytest.raises(ValueError, match="is not ready"):
        t.instance().complete("not-a-uuid", state="done")
    with pytest.raises(ValueError, match="'closed' is not a state of node 'review'"):
        t.complete("review", "closed")
    assert t.ready_nodes() == ["review"]


def test_parallel_branches_join_before_close(ticket):
    t = ticket("parallel")
    assert t.ready_nodes() == ["billing", "technical"]
    t.complete("technical", data={"line_ok": True})
    assert t.ready_nodes() == ["billing"]
    t.complete("billing", data={"balance": 0})
    assert t.ready_nodes() == ["close"]
    assert t.task("close").data | {"line_ok": True, "balance": 0} == t.task("close").data
    t.complete("close")
    assert t.instance().is_completed


def test_dump_holds_the_state_only_and_belongs_to_its_spec(engine):
    parsed = parse(flow_xml("approval"))
    instance = engine.start(parsed.spec_json, {"amount": 1})
    state = json.loads(instance.dump())
    assert "spec" not in state and "subprocess_specs" not in state
    assert len(instance.dump()) < len(parsed.spec_json)
    other = parse(flow_xml("parallel")).spec_json
    with pytest.raises(ValueError, match="another flow spec"):
        engine.restore(other, instance.dump())


def test_specs_are_loaded_once_per_content():
    spec_json = parse(flow_xml("approval")).spec_json
    copy = "".join(list(spec_json))
    assert copy is not spec_json
    assert load_spec(copy) is load_spec(spec_json)


def test_parsed_nodes_carry_the_kefu_settings():
    nodes = parse(flow_xml("approval")).nodes
    review = nodes["review"]
    assert (review.kind, review.dispatch, review.limit, review.warn_at, review.escalation) == (
        "user_task", "auto", "PT8H", 0.5, "notify",
    )  # fmt: skip
    assert [(a.kind, a.ref) for a in review.assign] == [("role", "backoffice"), ("department", "KF-BO")]
    assert [(s.code, s.label, s.next) for s in review.states] == [
        ("approved", "Approved", "handle"),
        ("rejected", "Rejected", "register"),
    ]
    assert nodes["handle"].dispatch == "grab" and nodes["close"].assign[0].kind == "node_handler"
    assert (nodes["start"].kind, nodes["decision"].kind, nodes["end"].kind) == (
        "start",
        "exclusive_gateway",
        "end",
    )
    assert nodes["register"].state_codes == ("done",)
    assert load_spec(parse(flow_xml("approval")).spec_json).nodes == nodes


def _run_approval(engine: Engine, spec_json: str) -> list[object]:
    t = Ticket(engine, spec_json, {"amount": 7})
    seen: list[object] = []
    for node, state in [
        ("register", "done"),
        ("review", "rejected"),
        ("register", "done"),
        ("review", "approved"),
    ]:
        seen.append([(r.node_id, r.states, r.data) for r in t.ready()])
        t.complete(node, state, data={f"{node}_note": state})
    seen += [t.instance().history(), t.instance().data]
    return seen


def test_export_import_runs_identically(engine):
    xml = flow_xml("approval")
    first = parse(xml)
    exported = etree.tostring(etree.fromstring(xml), encoding="UTF-8", xml_declaration=True)
    second = parse(exported)
    assert second.spec_json == first.spec_json and second.nodes == first.nodes
    assert _run_approval(engine, second.spec_json) == _run_approval(engine, first.spec_json)


def test_return_to_an_earlier_task_carries_the_current_data(ticket):
    t = ticket("approval")
    t.complete("register", data={"summary": "first"})
    t.complete("review", "approved", data={"reviewed": True})
    assert t.ready_nodes() == ["handle"]
    t.apply(lambda i: i.return_to("register", data={"returned_because": "wrong customer"}))
    register = t.task("register")
    assert register.data["reviewed"] is True and register.data["returned_because"] == "wrong customer"
    assert "kefu_state" not in register.data
    t.complete("register")
    t.complete("review", "approved")
    t.complete("handle")
    t.complete("close")
    instance = t.instance()
    assert instance.is_completed
    assert instance.history().count("register") == 2


def test_return_to_refuses_nodes_not_passed_yet_and_ended_flows(ticket):
    t = ticket("approval")
    t.complete("register")
    with pytest.raises(ValueError, match="has not been completed"):
        t.apply(lambda i: i.return_to("handle"))
    with pytest.raises(ValueError, match="not a user task"):
        t.apply(lambda i: i.return_to("decision"))
    for node, state in [("review", "approved"), ("handle", "done"), ("close", "done")]:
        t.complete(node, state)
    with pytest.raises(ValueError, match="has ended"):
        t.apply(lambda i: i.return_to("register"))


def test_cancel_ends_the_flow_without_completing_it(ticket):
    t = ticket("approval")
    t.complete("register")
    t.apply(lambda i: i.cancel())
    instance = t.instance()
    assert instance.is_cancelled and not instance.is_completed
    assert instance.ready_tasks() == [] and instance.waiting_timers() == []
