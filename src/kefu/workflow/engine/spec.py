"""From BPMN XML to a stored, runnable spec: `parse(xml) -> ParsedFlow` and `load_spec(spec_json)`.

A template version is parsed once, at publish; its spec JSON is stored once with the version, and
each ticket stores only its instance state (`runtime.Instance.dump()`). `load_spec` keeps recently
used specs in memory, keyed by a content hash, so an engine step never re-parses XML or rebuilds
the spec.

Parser choice: SpiffWorkflow's plain `BpmnParser` with the default serializer configuration, not
the Spiff-extension parser. kefu carries its own settings in its own namespace and needs none of the
`spiffworkflow:` extensions; the plain parser cannot represent pre/post scripts or service-task
operators at all, so even a flow that slipped past validation has nothing of that kind to run.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION

from kefu.workflow.engine.model import (
    DocumentError,
    NodeSettings,
    Problem,
    flow_nodes,
    lanes_of,
    read_document,
    read_node,
)
from kefu.workflow.engine.scripting import KefuDateTimer, KefuDurationTimer, adopt_timers
from kefu.workflow.engine.validate import executable_processes, spiff_parse, validate_document

__all__ = ["COUNTERSIGN_DECIDED", "InvalidFlow", "LoadedSpec", "ParsedFlow", "load_spec", "parse"]

SPEC_FORMAT = "kefu-flow-spec/1"
COUNTERSIGN_DECIDED = "kefu_countersign_decided"
SPEC_CACHE_SIZE = 64


class InvalidFlow(ValueError):
    """The XML is not an acceptable flow; `problems` says why (see `validate.validate_bpmn`)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.element_id or '-'}: {p.text}" for p in problems))


@dataclass(frozen=True)
class ParsedFlow:
    """A validated flow: its process id and name, the spec JSON to store once per template version,
    and the kefu settings of every node (id → NodeSettings)."""

    process_id: str
    name: str
    spec_json: str
    nodes: dict[str, NodeSettings]


@dataclass(frozen=True)
class LoadedSpec:
    """A spec ready to run; shared between instances (treat as read-only)."""

    digest: str
    process_id: str
    spec: Any
    subprocess_specs: dict[str, Any]
    nodes: dict[str, NodeSettings]


class StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Serializes a workflow's state without its specs; restores it onto specs passed in."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(  # type: ignore[override]
        self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None, script_engine: Any = None
    ) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs, script_engine=script_engine, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


REGISTRY = BpmnWorkflowSerializer.configure(
    {
        **DEFAULT_CONFIG,
        BpmnWorkflow: StateOnlyWorkflowConverter,
        KefuDurationTimer: TimerConditionalEventDefinitionConverter,
        KefuDateTimer: TimerConditionalEventDefinitionConverter,
    }
)
SERIALIZER = BpmnWorkflowSerializer(REGISTRY)


def parse(xml: str | bytes) -> ParsedFlow:
    """Validate and parse a flow; InvalidFlow with the problems when it is not acceptable."""
    try:
        root = read_document(xml)
    except DocumentError as exc:
        raise InvalidFlow([Problem("", exc.message, exc.params)]) from None
    problems = validate_document(root)
    if problems:
        raise InvalidFlow(problems)
    process = executable_processes(root)[0]
    process_id = process.get("id", "")
    spec, subprocess_specs = spiff_parse(root, process_id)
    lanes = lanes_of(root)
    nodes = {el.get("id"): read_node(el, lanes) for el in flow_nodes(process) if el.get("id")}
    _adapt(spec, subprocess_specs, nodes)
    document = {
        "format": SPEC_FORMAT,
        "serializer_version": SERIALIZER_VERSION,
        "process_id": process_id,
        "spec": REGISTRY.convert(spec),
        "subprocess_specs": {name: REGISTRY.convert(sub) for name, sub in subprocess_specs.items()},
        "nodes": {node_id: settings.to_json() for node_id, settings in nodes.items()},
    }
    spec_json = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return ParsedFlow(process_id, process.get("name") or process_id, spec_json, nodes)


def _adapt(spec: Any, subprocess_specs: dict[str, Any], nodes: dict[str, NodeSettings]) -> None:
    """kefu's timers everywhere; countersign tasks complete when kefu's tally says so."""
    for process_spec in (spec, *subprocess_specs.values()):
        adopt_timers(process_spec.task_specs.values())
        for node_id, settings in nodes.items():
            if settings.countersign is not None and node_id in process_spec.task_specs:
                process_spec.task_specs[node_id].condition = COUNTERSIGN_DECIDED


_cache: OrderedDict[str, LoadedSpec] = OrderedDict()
_cache_lock = threading.Lock()


def spec_digest(spec_json: str) -> str:
    return hashlib.sha256(spec_json.encode("utf-8")).hexdigest()


def load_spec(spec_json: str) -> LoadedSpec:
    """The runnable spec of stored spec JSON; recently used ones come from an in-memory LRU cache."""
    digest = spec_digest(spec_json)
    with _cache_lock:
        loaded = _cache.get(digest)
        if loaded is not None:
            _cache.move_to_end(digest)
            return loaded
    loaded = _load(spec_json, digest)
    with _cache_lock:
        _cache[digest] = loaded
        while len(_cache) > SPEC_CACHE_SIZE:
            _cache.popitem(last=False)
    return loaded


def _load(spec_json: str, digest: str) -> LoadedSpec:
    document = json.loads(spec_json)
    if document.get("format") != SPEC_FORMAT:
        raise ValueError(f"not a kefu flow spec (format {document.get('format')!r})")
    if document.get("serializer_version") != SERIALIZER_VERSION:
        raise ValueError(
            f"flow spec from serializer {document.get('serializer_version')}, this is {SERIALIZER_VERSION}"
        )
    return LoadedSpec(
        digest=digest,
        process_id=document["process_id"],
        spec=REGISTRY.restore(document["spec"]),
        subprocess_specs={name: REGISTRY.restore(sub) for name, sub in document["subprocess_specs"].items()},
        nodes={node_id: NodeSettings.from_json(raw) for node_id, raw in document["nodes"].items()},
    )
