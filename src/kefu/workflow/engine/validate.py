"""Validation of a flow before it is imported or published: `validate_bpmn(xml) -> list[Problem]`.

A flow drawn or uploaded by an administrator must not be able to run code. Refused outright:
script tasks, `bpmn:script` bodies, pre/post scripts and listeners of other modelers, business rule
(DMN) tasks, service/send/receive tasks, call activities, message and conditional events, cycle
timers, and any expression the restricted evaluator rejects. Then the structure (one executable
process, one start event, every node reachable, gateway branches) and the kefu contract
(`contract.py`) are checked, and finally SpiffWorkflow's own parser must accept the process.

Nothing of the flow is executed during validation: expressions are parsed, never evaluated (except
name-free arithmetic by the bounded evaluator, to refuse `9**9**9`).
"""

from __future__ import annotations

import ast
from functools import cache
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from kefu.core.i18n import lazy
from kefu.workflow.engine import safe_eval
from kefu.workflow.engine.contract import check_contract
from kefu.workflow.engine.graph import Graph
from kefu.workflow.engine.model import (
    BPMN_NS,
    FOREIGN_NODE_TAGS,
    ISO_DURATION,
    KEFU_NS,
    NODE_KINDS,
    DocumentError,
    Problem,
    bpmn,
    local_name,
    read_document,
)
from kefu.workflow.engine.scripting import parse_due_date

__all__ = ["Problem", "executable_processes", "spiff_parse", "validate_bpmn", "validate_document"]

MAX_SCHEMA_PROBLEMS = 10
_SCRIPT_REFUSED = lazy("Scripts are not allowed: a flow may not run code.")
REFUSED_ELEMENTS = {
    "scriptTask": lazy("Script tasks are not allowed: a flow may not run code."),
    "script": _SCRIPT_REFUSED,
    "serviceTask": lazy("Service tasks are not allowed: a flow may not call services."),
    "businessRuleTask": lazy("Business rule (DMN) tasks are not allowed: their rules would run as code."),
    "sendTask": lazy("Message tasks are not supported."),
    "receiveTask": lazy("Message tasks are not supported."),
    "callActivity": lazy("Call activities are not supported: a flow is a single process."),
    "messageEventDefinition": lazy("Message events are not supported."),
    "conditionalEventDefinition": lazy("Conditional events are not supported."),
    "timeCycle": lazy("Cycle timers are not supported; use timeDuration or timeDate."),
}
UNSUPPORTED_ELEMENTS = frozenset(
    {
        "transaction",
        "adHocSubProcess",
        "complexGateway",
        "compensateEventDefinition",
        "cancelEventDefinition",
        "linkEventDefinition",
        "dataStoreReference",
        "callChoreography",
        "choreographyTask",
        "subChoreography",
    }
)
# Extension elements of other modelers that carry code (pre/post scripts, listeners, decisions).
_CODE_EXTENSION_WORDS = ("script", "listener", "decision")
_OWNER_TAGS = NODE_KINDS.keys() | FOREIGN_NODE_TAGS | {"sequenceFlow", "process", "lane", "participant"}
EXPRESSION_ELEMENTS = (
    "conditionExpression",
    "timeDuration",
    "timeDate",
    "completionCondition",
    "loopCardinality",
    "loopCondition",
)


def validate_bpmn(xml: str | bytes) -> list[Problem]:
    """Every problem that keeps `xml` from being imported or published; an empty list means valid."""
    try:
        root = read_document(xml)
    except DocumentError as exc:
        return [Problem("", exc.message, exc.params)]
    return validate_document(root)


def validate_document(root: Any) -> list[Problem]:
    """`validate_bpmn` for a document already read with `model.read_document`."""
    problems = _schema_problems(root) + _refused_problems(root) + _expression_problems(root)
    processes = executable_processes(root)
    if len(processes) != 1:
        problems.append(
            Problem(
                "",
                lazy("A flow needs exactly one executable process, not %(count)s."),
                {"count": len(processes)},
            )
        )
        return _unique(problems)
    graph = Graph.of(processes[0])
    problems += _structure_problems(graph) + check_contract(graph)
    if not problems:
        try:
            spiff_parse(root, processes[0].get("id", ""))
        except ValidationException as exc:
            element_id = exc.id or _id_at_line(root, exc.line_number)
            problems.append(
                Problem(element_id, lazy("The flow is not valid BPMN: %(detail)s"), {"detail": str(exc)})
            )
        except Exception as exc:  # the parser's own failure on odd input is still a refusal, not a crash
            detail = f"{type(exc).__name__}: {exc}"
            problems.append(Problem("", lazy("The flow is not valid BPMN: %(detail)s"), {"detail": detail}))
    return _unique(problems)


def executable_processes(root: Any) -> list[Any]:
    """The processes SpiffWorkflow would run (isExecutable absent or "true")."""
    return [p for p in root.iter(bpmn("process")) if p.get("isExecutable", "true") == "true"]


def spiff_parse(root: Any, process_id: str) -> tuple[Any, dict[str, Any]]:
    """SpiffWorkflow's (process spec, subprocess specs) of a validated document; ValidationException if not.

    The plain BPMN parser is used on purpose: it knows no vendor extensions, so pre/post scripts or
    service operators of other modelers cannot even be represented in the spec.
    """
    parser = BpmnParser()
    parser.add_bpmn_xml(root)
    return parser.get_spec(process_id), parser.get_subprocess_specs(process_id)


@cache
def _schema() -> etree.XMLSchema:
    return BpmnValidator().validator


def _schema_problems(root: Any) -> list[Problem]:
    schema = _schema()
    if schema.validate(etree.ElementTree(root)):
        return []
    return [
        Problem(
            _id_at_line(root, error.line),
            lazy("The flow is not valid BPMN: %(detail)s"),
            {"detail": error.message},
        )
        for error in list(schema.error_log)[:MAX_SCHEMA_PROBLEMS]
    ]


def _refused_problems(root: Any) -> list[Problem]:
    problems: list[Problem] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name = local_name(element)
        namespace = etree.QName(element.tag).namespace
        if namespace == BPMN_NS:
            if name == "script" and local_name(element.getparent()) == "scriptTask":
                continue  # reported once, as the script task
            if name in REFUSED_ELEMENTS:
                problems.append(Problem(_owner_id(element), REFUSED_ELEMENTS[name]))
            elif name in UNSUPPORTED_ELEMENTS:
                problems.append(
                    Problem(
                        _owner_id(element), lazy("%(type)s is not supported in kefu flows."), {"type": name}
                    )
                )
            elif name.endswith("Event"):
                problems += _event_problems(element)
        elif namespace != KEFU_NS and any(word in name.lower() for word in _CODE_EXTENSION_WORDS):
            problems.append(Problem(_owner_id(element), _SCRIPT_REFUSED))
    return problems


def _event_problems(event: Any) -> list[Problem]:
    definitions = [el for el in event if local_name(el).endswith("EventDefinition")]
    problems: list[Problem] = []
    if len(definitions) > 1:
        problems.append(Problem(_owner_id(event), lazy("An event may have only one event definition.")))
    for definition in definitions:
        if local_name(definition) != "timerEventDefinition":
            continue
        if local_name(event) == "startEvent":
            problems.append(
                Problem(
                    _owner_id(event),
                    lazy("Timer start events are not supported: a flow starts with its ticket."),
                )
            )
        if not any(
            definition.find(bpmn(tag)) is not None for tag in ("timeDuration", "timeDate", "timeCycle")
        ):
            problems.append(Problem(_owner_id(event), lazy("A timer needs a timeDuration or a timeDate.")))
    return problems


def _expression_problems(root: Any) -> list[Problem]:
    problems: list[Problem] = []
    for name in EXPRESSION_ELEMENTS:
        for element in root.iter(bpmn(name)):
            text = element.text or ""
            owner = _owner_id(element)
            problem = safe_eval.expression_problem(text)
            if problem is not None:
                message, params = problem
                problems.append(Problem(owner, message, {**params, "expression": text.strip()}))
            elif name in ("timeDuration", "timeDate"):
                problems += _timer_literal_problems(owner, name, text.strip())
    return problems


def _timer_literal_problems(owner: str, name: str, text: str) -> list[Problem]:
    """A quoted timer value must parse; an unquoted ISO duration is a name and would fail at run time."""
    body = ast.parse(text, mode="eval").body
    if isinstance(body, ast.Name) and ISO_DURATION.match(body.id):
        return [Problem(owner, lazy('Write the timer duration in quotes: "%(value)s".'), {"value": body.id})]
    if not (isinstance(body, ast.Constant) and isinstance(body.value, str)):
        return []
    try:
        if name == "timeDuration":
            TimerEventDefinition.parse_iso_duration(body.value)
        else:
            parse_due_date(body.value)
    except Exception:
        if name == "timeDuration":
            return [
                Problem(
                    owner,
                    lazy('Timer %(value)s is not an ISO-8601 duration such as "PT2H".'),
                    {"value": body.value},
                )
            ]
        return [
            Problem(owner, lazy("Timer %(value)s is not an ISO-8601 date and time."), {"value": body.value})
        ]
    return []


def _structure_problems(graph: Graph) -> list[Problem]:
    problems: list[Problem] = []
    containers = [graph.process] + [el for el in graph.nodes.values() if local_name(el) == "subProcess"]
    for container in containers:
        if container.get("triggeredByEvent") == "true":
            continue
        starts = graph.start_events(container)
        if len(starts) != 1:
            problems.append(
                Problem(
                    container.get("id", ""),
                    lazy("%(element)s needs exactly one start event, not %(count)s."),
                    {"element": container.get("id", ""), "count": len(starts)},
                )
            )
    for flow in graph.flows.values():
        for end in (flow.source, flow.target):
            if end not in graph.nodes:
                problems.append(
                    Problem(
                        flow.flow_id,
                        lazy("The flow refers to node %(node)s, which does not exist."),
                        {"node": end},
                    )
                )
    reachable = graph.reachable()
    for node_id, element in graph.nodes.items():
        if node_id not in reachable:
            problems.append(
                Problem(
                    node_id,
                    lazy("Node %(name)s cannot be reached from the start event."),
                    {"name": element.get("name") or node_id},
                )
            )
    return problems


def _owner_id(element: Any) -> str:
    """The id of the flow node, sequence flow or process that `element` belongs to (what a designer shows)."""
    fallback = ""
    while element is not None:
        name = local_name(element)
        if element.get("id"):
            if name in _OWNER_TAGS:
                return str(element.get("id"))
            fallback = fallback or str(element.get("id"))
        element = element.getparent()
    return fallback


def _id_at_line(root: Any, line: Any) -> str:
    if not isinstance(line, int):
        return ""
    for element in root.iter():
        if getattr(element, "sourceline", None) == line:
            return _owner_id(element)
    return ""


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for problem in problems:
        key = (problem.element_id, problem.message, repr(sorted(problem.params.items())))
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique
