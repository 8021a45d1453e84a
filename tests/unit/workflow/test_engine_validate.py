"""Validation at import/publish: good flows pass; hostile and broken ones are refused naming the element."""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from tests.unit.workflow.conftest import FLOWS, flow_xml

from kefu.core import i18n
from kefu.workflow.engine.model import read_document
from kefu.workflow.engine.scripting import RestrictedScriptEngine
from kefu.workflow.engine.spec import InvalidFlow, parse
from kefu.workflow.engine.validate import spiff_parse, validate_bpmn

MARKER = "kefu-pwned-marker"
VALID = ["approval", "parallel", "countersign", "boundary_timer", "subprocess"]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Hostile files try to create MARKER in the working directory; run each test in an empty one."""
    monkeypatch.chdir(tmp_path)


def _pairs(problems) -> set[tuple[str, str]]:
    return {(p.element_id, p.message) for p in problems}


@pytest.mark.parametrize("name", VALID)
def test_fixture_flows_are_valid(name):
    assert validate_bpmn(flow_xml(name)) == []


@pytest.mark.parametrize(
    ("name", "element_id", "message"),
    [
        ("hostile_script_task", "evil_script", "Script tasks are not allowed: a flow may not run code."),
        ("hostile_import_condition", "evil_condition", "Only these functions may be called: %(functions)s"),
        (
            "hostile_subclasses_condition",
            "evil_condition",
            "Only these functions may be called: %(functions)s",
        ),
        ("hostile_power_condition", "evil_condition", "The expression computes a value that is too large."),
        ("hostile_timer_open", "evil_wait", "Only these functions may be called: %(functions)s"),
        ("hostile_extensions", "with_scripts", "Scripts are not allowed: a flow may not run code."),
        (
            "hostile_extensions",
            "rules",
            "Business rule (DMN) tasks are not allowed: their rules would run as code.",
        ),
        ("hostile_extensions", "call_out", "Service tasks are not allowed: a flow may not call services."),
        ("hostile_entities", "", "DOCTYPE and ENTITY declarations are not allowed in a flow file."),
    ],
)
def test_hostile_flows_are_refused_naming_the_element_and_nothing_runs(tmp_path, name, element_id, message):
    xml = flow_xml(name)
    assert (element_id, message) in _pairs(validate_bpmn(xml))
    with pytest.raises(InvalidFlow) as refused:
        parse(xml)
    assert (element_id, message) in _pairs(refused.value.problems)
    assert not (tmp_path / MARKER).exists()


@pytest.mark.parametrize(
    ("name", "element_id"),
    [
        ("hostile_script_task", "evil_script"),
        ("hostile_import_condition", "evil_condition"),
        ("hostile_subclasses_condition", "evil_condition"),
        ("hostile_power_condition", "evil_condition"),
        ("hostile_timer_open", "evil_wait"),
    ],
)
def test_even_an_unvalidated_hostile_spec_cannot_run_code(tmp_path, name, element_id):
    """Defence in depth: bypass validation, run the raw SpiffWorkflow spec with kefu's script engine."""
    spec, subprocesses = spiff_parse(read_document(flow_xml(name)), "hostile")
    workflow = BpmnWorkflow(spec, subprocesses, script_engine=RestrictedScriptEngine())
    with pytest.raises(WorkflowTaskException) as failed:
        workflow.do_engine_steps()
    assert failed.value.task_spec.bpmn_id in (element_id, "check")
    assert not (tmp_path / MARKER).exists()


def test_broken_contract_problems_each_name_their_element():
    problems = validate_bpmn(flow_xml("broken_contract"))
    expected = {
        ("review", "Dispatch type %(value)s is not one of: %(allowed)s"),
        ("review", "Time limit %(value)s is not an ISO-8601 duration such as PT8H or P2D."),
        ("review", "warn-at must be a fraction between 0 and 1, not %(value)s."),
        ("review", "State %(code)s is declared twice."),
        ("review", "State code %(code)s is not valid (letters, digits, _ . - only)."),
        ("review", "State %(state)s goes to node %(next)s, which does not exist."),
        ("review", "Assignment kind %(kind)s is not one of: %(allowed)s"),
        ("review", "Assignment kind %(kind)s needs a ref."),
        ("review", "Assignment refers to node %(ref)s, which is not a user task of this flow."),
        ("review", "State %(state)s of %(node)s leads to %(target)s, but its next node is %(next)s."),
        ("decision", "Node settings (kefu:node) are only allowed on user tasks."),
        ("rejected_flow", "The condition names state %(state)s, which no node before it declares."),
        (
            "unguarded_flow",
            "Branch %(flow)s of gateway %(gateway)s needs a condition or must be the default flow.",
        ),
        (
            "guarded_task_flow",
            "Conditions are only allowed on flows leaving an exclusive or inclusive gateway.",
        ),
        ("wait", 'Write the timer duration in quotes: "%(value)s".'),
        ("tick", "Cycle timers are not supported; use timeDuration or timeDate."),
        ("handle", "A countersign (kefu:countersign) is only allowed on a multi-instance task."),
        ("sign", "Countersign quorum must be a positive whole number, not %(value)s."),
        (
            "sign",
            "A countersign needs its participants as a collection (loopDataInputRef and inputDataItem).",
        ),
        ("orphan", "Node %(name)s cannot be reached from the start event."),
    }
    assert expected <= _pairs(problems)
    assert all(p.element_id for p in problems)
    undeclared = next(p for p in problems if p.element_id == "rejected_flow")
    assert undeclared.text == "The condition names state maybe, which no node before it declares."


def test_every_problem_message_has_a_chinese_translation():
    i18n.translations.cache_clear()
    chinese = i18n.translations("zh_CN")
    for path in sorted(FLOWS.glob("*.bpmn")):
        for problem in validate_bpmn(path.read_bytes()):
            translated = problem.render(chinese.gettext)
            assert translated != problem.text or not problem.message.isascii(), (path.name, problem.message)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"not xml at all", "The file is not well-formed XML: %(detail)s"),
        (b"<html><body/></html>", "The file is not a BPMN 2.0 document (bpmn:definitions expected)."),
        (b"x" * 2_000_001, "The file is too large (at most %(max)s bytes)."),
    ],
)
def test_unreadable_documents_are_refused(xml, message):
    assert _pairs(validate_bpmn(xml)) == {("", message)}


def test_the_flow_needs_exactly_one_executable_process():
    two = flow_xml("parallel").replace(
        b"</bpmn:definitions>", b'<bpmn:process id="other"/></bpmn:definitions>'
    )
    assert ("", "A flow needs exactly one executable process, not %(count)s.") in _pairs(validate_bpmn(two))
    none = flow_xml("parallel", {'isExecutable="true"': 'isExecutable="false"'})
    assert ("", "A flow needs exactly one executable process, not %(count)s.") in _pairs(validate_bpmn(none))


def test_schema_errors_name_the_element_on_that_line():
    xml = flow_xml("boundary_timer", {'cancelActivity="false"': 'cancelActivity="sometimes"'})
    problems = validate_bpmn(xml)
    assert [p.element_id for p in problems] == ["reminder"]
    assert problems[0].message == "The flow is not valid BPMN: %(detail)s"


def test_text_input_with_an_encoding_declaration_is_read():
    text = flow_xml("approval").decode("utf-8").replace('encoding="UTF-8"', 'encoding="GBK"')
    assert validate_bpmn(text) == []


def test_a_process_needs_exactly_one_start_event():
    xml = flow_xml(
        "parallel",
        {'<bpmn:startEvent id="start"/>': '<bpmn:startEvent id="start"/><bpmn:startEvent id="s2"/>'},
    )
    assert ("parallel", "%(element)s needs exactly one start event, not %(count)s.") in _pairs(
        validate_bpmn(xml)
    )


def test_validation_problems_are_plain_data():
    problem = validate_bpmn(flow_xml("hostile_power_condition"))[0]
    assert problem.params["expression"] == "9**9**9 > 0"
    assert problem.text == "The expression computes a value that is too large."


def test_spiffworkflow_parser_problems_name_the_element():
    both = "<bpmn:loopCardinality>2</bpmn:loopCardinality><bpmn:loopDataInputRef>xs</bpmn:loopDataInputRef>"
    tech = (
        '<kefu:node><kefu:assign kind="department" ref="TECH"/></kefu:node>\n      </bpmn:extensionElements>'
    )
    mi = f"<bpmn:multiInstanceLoopCharacteristics>{both}</bpmn:multiInstanceLoopCharacteristics>"
    problems = validate_bpmn(flow_xml("parallel", {tech: tech + mi}))
    assert [(p.element_id, p.message) for p in problems] == [
        ("technical", "The flow is not valid BPMN: %(detail)s")
    ]
    assert "exactly one of cardinality or loop input" in problems[0].text
