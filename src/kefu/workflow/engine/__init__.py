"""The BPMN engine of kefu: the only package that imports SpiffWorkflow. Pure Python: no database, no web.

- `validate_bpmn(xml) -> list[Problem]` — refuse anything that could run code, check structure and
  the kefu contract (`docs/workflow-bpmn.md`) at import/publish.
- `parse(xml) -> ParsedFlow` — spec JSON to store once per template version, plus node settings.
- `Engine().start(spec_json, data)` / `Engine().restore(spec_json, state_json)` -> `Instance` —
  ready tasks, complete with a state, timers, return, cancel, `dump()` of the state only;
  `NoParticipants` when a step would enter a countersign that has nobody to sign.
- `safe_eval` — the restricted expression language flows are written in.
"""

from kefu.workflow.engine.countersign import NoParticipants
from kefu.workflow.engine.model import (
    AssignRule,
    CountersignRule,
    NodeSettings,
    Problem,
    StateOption,
)
from kefu.workflow.engine.runtime import Engine, Instance, ParticipantSource, ReadyTask
from kefu.workflow.engine.safe_eval import ExpressionError, check_expression, evaluate
from kefu.workflow.engine.spec import InvalidFlow, LoadedSpec, ParsedFlow, load_spec, parse
from kefu.workflow.engine.validate import validate_bpmn

__all__ = [
    "AssignRule",
    "CountersignRule",
    "Engine",
    "ExpressionError",
    "Instance",
    "InvalidFlow",
    "LoadedSpec",
    "NoParticipants",
    "NodeSettings",
    "ParsedFlow",
    "ParticipantSource",
    "Problem",
    "ReadyTask",
    "StateOption",
    "check_expression",
    "evaluate",
    "load_spec",
    "parse",
    "validate_bpmn",
]
