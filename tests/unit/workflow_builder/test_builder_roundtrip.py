"""Form → BPMN → form: the XML has the contract's shape, and reads back to the same form when simple."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from lxml import etree

from kefu.workflow.builder import (
    AssignRule,
    InvalidFlow,
    SimpleFlow,
    StateRule,
    from_bpmn,
    to_bpmn,
    validate_simple,
)
from kefu.workflow.builder.model import NSMAP

from .flows import ALL, complaint, proposal, random_flows

DATA = Path(__file__).parent / "data"
LAWS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def xpath(xml: str, path: str) -> list:
    return etree.fromstring(xml.encode()).xpath(path, namespaces=NSMAP)


@pytest.mark.parametrize("make", ALL, ids=lambda make: make.__name__)
def test_typical_flows_read_back_equal(make):
    assert from_bpmn(to_bpmn(make())) == make()


@LAWS
@given(random_flows())
def test_any_flow_reads_back_equal(flow):
    assert from_bpmn(to_bpmn(flow)) == flow


@pytest.mark.parametrize("make", [complaint, proposal], ids=lambda make: make.__name__)
def test_the_builders_xml_saved_again_by_the_designer_reads_back_equal(make):
    """data/*.bpmn-js.bpmn: the builder's XML imported into the vendored bpmn-js modeler and saved again
    (it re-serialises, drops defaults such as isSequential="false" and keeps only references it resolves)."""
    saved = (DATA / f"{make.__name__}.bpmn-js.bpmn").read_text(encoding="utf-8")
    assert saved.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert from_bpmn(saved) == make()


def test_complaint_has_the_contract_shape():
    xml = to_bpmn(complaint())
    (process,) = xpath(xml, "/bpmn:definitions/bpmn:process")
    assert (process.get("id"), process.get("isExecutable")) == ("complaint", "true")
    assert xpath(xml, "//bpmn:startEvent/bpmn:outgoing/text()") == ["Flow_start"]
    assert xpath(xml, "//bpmn:sequenceFlow[@id='Flow_start']/@targetRef") == ["register"]
    (settings_,) = xpath(xml, "//bpmn:userTask[@id='handle']/bpmn:extensionElements/kefu:node")
    assert dict(settings_.attrib) == {
        "dispatch": "grab", "limit": "PT8H", "warn-at": "0.8", "escalation": "reassign",
    }  # fmt: skip
    assert [(a.get("kind"), a.get("ref")) for a in settings_.iterfind("kefu:assign", NSMAP)] == [
        ("group", "complaints"),
        ("department", "KF-CS"),
    ]
    assert [dict(s.attrib) for s in settings_.iterfind("kefu:state", NSMAP)] == [
        {"code": "done", "label": "已处理", "next": "review"},
        {"code": "returned", "label": "退回", "next": "dispatch"},
    ]
    callback = xpath(xml, "//bpmn:userTask[@id='callback']//kefu:node")[0]
    assert callback.get("escalation-state") == "satisfied"
    # `next` names the element the state's flow goes to: the end event's id for the end.
    assert [s.get("next") for s in callback.iterfind("kefu:state", NSMAP)] == ["EndEvent", "handle"]
    # Without a time limit nothing escalates: no escalation attribute (the engine would refuse one).
    register = xpath(xml, "//bpmn:userTask[@id='register']//kefu:node")[0]
    assert dict(register.attrib) == {"dispatch": "auto", "warn-at": "0.75"}
    # One state or none: straight on; several: through the node's gateway, one condition per state.
    assert xpath(xml, "//bpmn:sequenceFlow[@id='Flow_register_done']/@targetRef") == ["dispatch"]
    assert xpath(xml, "//bpmn:sequenceFlow[@id='Flow_handle_Gateway']/@targetRef") == ["Gateway_handle"]
    flows = xpath(xml, "//bpmn:sequenceFlow[@sourceRef='Gateway_review']")
    condition = "bpmn:conditionExpression"
    assert [(f.get("id"), f.get("name"), f.get("targetRef"), f.findtext(condition, None, NSMAP))
            for f in flows] == [
        ("Flow_review_approved", "通过", "callback", 'kefu_state == "approved"'),
        ("Flow_review_rejected", "不通过", "handle", 'kefu_state == "rejected"'),
    ]  # fmt: skip
    assert xpath(xml, "//bpmn:sequenceFlow[@id='Flow_callback_satisfied']/@targetRef") == ["EndEvent"]
    assert len(xpath(xml, "//bpmn:endEvent")) == 1
    assert not xpath(
        xml, "//bpmn:sequenceFlow[not(starts-with(@sourceRef, 'Gateway_'))]/bpmn:conditionExpression"
    )


def test_countersign_is_a_multi_instance_task_over_a_declared_participant_list():
    xml = to_bpmn(proposal())
    sign = xpath(xml, "//bpmn:userTask[@id='sign']")[0]
    assert dict(sign.find("bpmn:extensionElements/kefu:countersign", NSMAP).attrib) == {
        "mode": "quorum", "quorum": "2",
    }  # fmt: skip
    loop = sign.find("bpmn:multiInstanceLoopCharacteristics", NSMAP)
    assert loop.get("isSequential") == "false"
    assert loop.findtext("bpmn:loopDataInputRef", None, NSMAP) == "countersigners"
    assert loop.find("bpmn:inputDataItem", NSMAP).get("id") == "countersigner_sign"
    # The list is declared as a process property: a modeler drops a loopDataInputRef that resolves to nothing.
    assert xpath(xml, "//bpmn:process/bpmn:property/@id") == ["countersigners", "archivists"]
    archive = xpath(xml, "//bpmn:userTask[@id='archive']/bpmn:multiInstanceLoopCharacteristics")[0]
    assert archive.get("isSequential") == "true"
    assert xpath(xml, "//bpmn:userTask[@id='archive']//kefu:countersign/@quorum") == []


def test_to_bpmn_refuses_an_invalid_flow_with_its_problems():
    with pytest.raises(InvalidFlow) as caught:
        to_bpmn(SimpleFlow("bad flow", "", []))
    assert caught.value.status_code == 422
    assert {p.field for p in caught.value.problems} == {"code", "name", "nodes"}


DESIGNER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:kefu="urn:kefu:bpmn:1"
    id="Definitions_0x1" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="Process_1a" name="退费" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_0a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_0a" sourceRef="StartEvent_1" targetRef="Activity_apply" />
    <bpmn:userTask id="Activity_check" name="核实">
      <bpmn:extensionElements><kefu:node dispatch="grab"><kefu:assign kind="role" ref="finance"/></kefu:node>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="Activity_apply" name="申请" />
    <bpmn:sequenceFlow id="Flow_0b" sourceRef="Activity_apply" targetRef="Activity_check" />
    <bpmn:exclusiveGateway id="Gateway_0q" />
    <bpmn:sequenceFlow id="Flow_0c" sourceRef="Activity_check" targetRef="Gateway_0q" />
    <bpmn:sequenceFlow id="Flow_1p" name="同意" sourceRef="Gateway_0q" targetRef="Event_done">
      <bpmn:conditionExpression>kefu_state == 'refund'</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_1r" name="驳回" sourceRef="Gateway_0q" targetRef="Activity_apply">
      <bpmn:conditionExpression>kefu_state=="deny"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="Event_done" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_simple_flow_drawn_in_the_designer_reads_into_the_form():
    flow = from_bpmn(DESIGNER_XML)
    assert flow is not None
    assert (flow.code, flow.name) == ("Process_1a", "退费")
    apply_, check = flow.nodes  # the start's task first, whatever the document order
    assert (apply_.id, apply_.name, apply_.states, apply_.assign) == ("Activity_apply", "申请", [], [])
    assert (check.dispatch, check.assign[0].ref) == ("grab", "finance")
    # No kefu:state declared: the states come from the gateway's conditions, labels from the flow names.
    assert check.states == [StateRule("refund", "同意", "end"), StateRule("deny", "驳回", "Activity_apply")]
    # Read, not yet publishable: the builder's form shows what is missing.
    assert [(p.field, p.message) for p in validate_simple(flow)] == [
        ("nodes[0].assign", "Add at least one rule for who handles this node")
    ]
    apply_.assign = [AssignRule("initiator")]
    assert from_bpmn(to_bpmn(flow)) == flow


def test_a_task_without_states_not_leading_to_the_following_task_gets_an_explicit_done():
    xml = DESIGNER_XML.replace('targetRef="Activity_check" />', 'targetRef="Event_done" />')
    flow = from_bpmn(xml)
    assert flow is not None
    assert flow.nodes[0].states == [StateRule("done", "", "end")]


def _mutate(xml: str, path: str, change) -> str:
    root = etree.fromstring(xml.encode())
    for element in root.xpath(path, namespaces=NSMAP):
        change(element)
    return etree.tostring(root, encoding="unicode")


def _retag(tag: str):
    return lambda element: setattr(element, "tag", f"{{{NSMAP['bpmn']}}}{tag}")


def _add(tag: str, **attrs: str):
    return lambda element: etree.SubElement(element, f"{{{NSMAP['bpmn']}}}{tag}", attrs)


def _element(tag: str) -> etree._Element:
    return etree.Element(f"{{{NSMAP['bpmn']}}}{tag}")


def _set(name: str, value: str):
    return lambda element: element.set(name, value)


def _flow(flow_id: str) -> str:
    return f"//bpmn:sequenceFlow[@id='{flow_id}']"


REVIEW_GATEWAY = "//bpmn:exclusiveGateway[@id='Gateway_review']"
NOT_SIMPLE = {
    "service task": ("//bpmn:userTask[@id='review']", _retag("serviceTask")),
    "parallel gateway": (REVIEW_GATEWAY, _retag("parallelGateway")),
    "script task": ("//bpmn:process", _add("scriptTask", id="s1")),
    "boundary timer": ("//bpmn:process", _add("boundaryEvent", id="b1", attachedToRef="handle")),
    "default flow": (REVIEW_GATEWAY, _set("default", "Flow_review_approved")),
    "condition not on kefu_state": (
        _flow("Flow_review_approved") + "/bpmn:conditionExpression",
        lambda e: setattr(e, "text", "score > 3"),
    ),
    "condition on a plain task flow": (_flow("Flow_register_done"), _add("conditionExpression")),
    "two flows out of a task": (_flow("Flow_register_done"), _set("sourceRef", "dispatch")),
    "gateway shared by two tasks": (_flow("Flow_dispatch_done"), _set("targetRef", "Gateway_handle")),
    "gateway into a gateway": (_flow("Flow_review_approved"), _set("targetRef", "Gateway_callback")),
    "states differ from the conditions": (
        "//bpmn:userTask[@id='review']//kefu:state[@code='rejected']",
        _set("code", "refused"),
    ),
    "standard loop": ("//bpmn:userTask[@id='review']", _add("standardLoopCharacteristics")),
    "flow to nowhere": (_flow("Flow_start"), _set("targetRef", "ghost")),
    "terminate end": ("//bpmn:endEvent", _add("terminateEventDefinition")),
    "pool": ("/bpmn:definitions", _add("collaboration", id="c1")),
    "second process": ("/bpmn:definitions", _add("process", id="p2")),
    "documentation": ("//bpmn:userTask[@id='review']", lambda e: e.insert(0, _element("documentation"))),
    "lanes": ("//bpmn:process", lambda e: e.insert(0, _element("laneSet"))),
    "text annotation": ("//bpmn:process", _add("textAnnotation", id="t1")),
    "data object": ("//bpmn:process", _add("dataObject", id="d1")),
    "another tool's extension": (
        "//bpmn:userTask[@id='review']/bpmn:extensionElements",
        lambda e: etree.SubElement(e, "{http://camunda.org/schema/1.0/bpmn}taskListener"),
    ),
    "unknown kefu setting": (
        "//bpmn:userTask[@id='review']//kefu:node",
        lambda e: etree.SubElement(e, "{urn:kefu:bpmn:1}x"),
    ),
    "extension on a gateway": (REVIEW_GATEWAY, lambda e: e.insert(0, _element("extensionElements"))),
    "two elements with one id": ("//bpmn:userTask[@id='dispatch']", _set("id", "register")),
    "warn-at not a number": ("//bpmn:userTask[@id='review']//kefu:node", _set("warn-at", "soon")),
}


@pytest.mark.parametrize("case", NOT_SIMPLE, ids=str)
def test_anything_beyond_the_simple_shape_reads_as_none(case):
    path, change = NOT_SIMPLE[case]
    xml = to_bpmn(complaint())
    changed = _mutate(xml, path, change)
    assert changed != xml
    assert from_bpmn(changed) is None


SIGN_LOOP = "//bpmn:userTask[@id='sign']/bpmn:multiInstanceLoopCharacteristics"
COUNTERSIGN_NOT_SIMPLE = {
    "countersign without multi-instance": (SIGN_LOOP, lambda e: e.getparent().remove(e)),
    "cardinality instead of a list": (SIGN_LOOP, _add("loopCardinality")),
    "completion condition": (SIGN_LOOP, _add("completionCondition")),
    "quorum not a number": ("//kefu:countersign[@mode='quorum']", _set("quorum", "two")),
}


@pytest.mark.parametrize("case", COUNTERSIGN_NOT_SIMPLE, ids=str)
def test_countersign_beyond_the_simple_shape_reads_as_none(case):
    path, change = COUNTERSIGN_NOT_SIMPLE[case]
    assert from_bpmn(_mutate(to_bpmn(proposal()), path, change)) is None


def test_text_that_is_not_xml_is_an_error():
    with pytest.raises(ValueError, match="not well-formed"):
        from_bpmn("<bpmn:definitions")
