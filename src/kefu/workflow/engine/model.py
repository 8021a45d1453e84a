"""Flow documents as kefu reads them: safe XML loading and the node settings of kefu's BPMN extensions.

The contract for the extensions is `docs/workflow-bpmn.md` (namespace `urn:kefu:bpmn:1`). This module
reads; `validate` judges. Reading is lenient (a malformed value falls back to its default) because
`spec.parse` only reads documents that passed validation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from lxml import etree

from kefu.core.i18n import lazy

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
KEFU_NS = "urn:kefu:bpmn:1"
MAX_DOCUMENT_BYTES = 2_000_000

DISPATCH_TYPES = ("auto", "manual", "grab")
ESCALATIONS = ("notify", "reassign", "path")
ASSIGN_KINDS_WITH_REF = ("role", "department", "user", "group", "node_handler", "node_department")
ASSIGN_KINDS_WITHOUT_REF = ("initiator", "submitter_supervisor", "previous_handler", "handling_department")
ASSIGN_KINDS = ASSIGN_KINDS_WITH_REF + ASSIGN_KINDS_WITHOUT_REF
COUNTERSIGN_MODES = ("all", "any", "quorum")
IMPLICIT_STATE = "done"
DEFAULT_WARN_AT = 0.75

# Flow node tags kefu runs, and the kind each becomes in NodeSettings.
NODE_KINDS = {
    "startEvent": "start",
    "endEvent": "end",
    "userTask": "user_task",
    "manualTask": "manual_task",
    "task": "task",
    "exclusiveGateway": "exclusive_gateway",
    "parallelGateway": "parallel_gateway",
    "inclusiveGateway": "inclusive_gateway",
    "eventBasedGateway": "event_gateway",
    "intermediateCatchEvent": "catch_event",
    "intermediateThrowEvent": "throw_event",
    "boundaryEvent": "boundary_event",
    "subProcess": "subprocess",
}
HUMAN_KINDS = frozenset({"user_task", "manual_task", "task"})
# Flow node tags kefu refuses; still nodes of the graph, so one refusal does not cascade.
FOREIGN_NODE_TAGS = frozenset(
    {
        "scriptTask",
        "serviceTask",
        "businessRuleTask",
        "sendTask",
        "receiveTask",
        "callActivity",
        "transaction",
        "adHocSubProcess",
        "complexGateway",
    }
)

ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def bpmn(tag: str) -> str:
    """The qualified name of a BPMN model element."""
    return f"{{{BPMN_NS}}}{tag}"


def kefu(tag: str) -> str:
    """The qualified name of a kefu extension element."""
    return f"{{{KEFU_NS}}}{tag}"


def local_name(element: Any) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def is_iso_duration(text: str | None) -> bool:
    """An ISO-8601 duration with at least one non-zero part (`PT8H`, `P2D`, `P1DT4H30M`)."""
    return bool(text) and bool(ISO_DURATION.match(text or "")) and any(c in "123456789" for c in text or "")


@dataclass(frozen=True)
class Problem:
    """One reason a flow cannot be published, shown to administrators.

    `element_id` is the id of the BPMN element at fault ("" for the whole document); `message` is an
    English msgid with `%(name)s` placeholders, filled from `params` after translation.
    """

    element_id: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The message in English with its parameters filled in."""
        return self.render()

    def render(self, gettext: Callable[[str], str] = lambda s: s) -> str:
        """The message in the reader's language (pass `kefu.core.i18n.gettext`)."""
        text = gettext(self.message)
        return text % self.params if self.params else text


class DocumentError(ValueError):
    """The bytes are not a readable, safe XML document; `message`/`params` as in kefu errors."""

    def __init__(self, message: str, params: dict[str, Any] | None = None) -> None:
        self.message = message
        self.params = params or {}
        super().__init__(message % self.params if self.params else message)


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
)


def read_document(xml: str | bytes) -> Any:
    """The root element of a BPMN document; DocumentError for oversize, DTDs, malformed XML or a wrong root.

    DTDs are refused outright: entity declarations are how XML bombs and external-file reads work.
    """
    data = xml.encode("utf-8") if isinstance(xml, str) else bytes(xml)
    if isinstance(xml, str):
        # The text was decoded already; drop a declaration that may name another encoding.
        data = re.sub(rb"^\s*<\?xml[^>]*\?>", b"", data, count=1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(
            lazy("The file is too large (at most %(max)s bytes)."), {"max": MAX_DOCUMENT_BYTES}
        )
    if re.search(rb"<!(DOCTYPE|ENTITY)", data, re.IGNORECASE):
        raise DocumentError(lazy("DOCTYPE and ENTITY declarations are not allowed in a flow file."))
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise DocumentError(
            lazy("The file is not well-formed XML: %(detail)s"), {"detail": str(exc)}
        ) from None
    if root.tag != bpmn("definitions"):
        raise DocumentError(lazy("The file is not a BPMN 2.0 document (bpmn:definitions expected)."))
    return root


@dataclass(frozen=True)
class AssignRule:
    """One candidate rule (WF-4): `kind` from ASSIGN_KINDS, `ref` a code, username or node id."""

    kind: str
    ref: str | None = None


@dataclass(frozen=True)
class StateOption:
    """An approval state (审批状态) a handler may choose; `next` is the node the flow goes to (WF-3)."""

    code: str
    label: str
    next: str | None = None


@dataclass(frozen=True)
class CountersignRule:
    """Countersign (会签) completion: `all`, `any`, or `quorum` votes for the node's first state (WF-5)."""

    mode: str
    quorum: int | None = None
    sequential: bool = False
    collection: str | None = None
    item: str | None = None


@dataclass(frozen=True)
class NodeSettings:
    """What kefu knows about one flow node: its kind and, for human tasks, the kefu:node settings."""

    node_id: str
    name: str
    kind: str
    lane: str | None = None
    dispatch: str | None = None
    assign: tuple[AssignRule, ...] = ()
    states: tuple[StateOption, ...] = ()
    limit: str | None = None
    warn_at: float = DEFAULT_WARN_AT
    escalation: str | None = None
    escalation_state: str | None = None
    countersign: CountersignRule | None = None

    @property
    def state_codes(self) -> tuple[str, ...]:
        """The states a handler may choose; a node without declared states has the single state `done`."""
        return tuple(s.code for s in self.states) or (IMPLICIT_STATE,)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> NodeSettings:
        cs = raw.get("countersign")
        return cls(
            **{
                **raw,
                "assign": tuple(AssignRule(**a) for a in raw.get("assign", ())),
                "states": tuple(StateOption(**s) for s in raw.get("states", ())),
                "countersign": CountersignRule(**cs) if cs else None,
            }
        )


def flow_nodes(container: Any, *, foreign: bool = False) -> list[Any]:
    """Every flow node kefu runs in a process or subprocess, nested subprocesses included.

    With `foreign`, the refused kinds (script tasks, service tasks, …) are included too.
    """
    kinds = NODE_KINDS.keys() | FOREIGN_NODE_TAGS if foreign else NODE_KINDS.keys()
    return [el for el in container.iter() if el is not container and local_name(el) in kinds and _in_bpmn(el)]


def _in_bpmn(element: Any) -> bool:
    return isinstance(element.tag, str) and element.tag.startswith(f"{{{BPMN_NS}}}")


def lanes_of(root: Any) -> dict[str, str]:
    """node id → lane name, from every laneSet of the document."""
    lanes: dict[str, str] = {}
    for ref in root.iter(bpmn("flowNodeRef")):
        if ref.text:
            lanes[ref.text.strip()] = ref.getparent().get("name") or ref.getparent().get("id") or ""
    return lanes


def read_node(element: Any, lanes: dict[str, str]) -> NodeSettings:
    """The NodeSettings of one flow node element (lenient: invalid values fall back to defaults)."""
    node_id = element.get("id", "")
    kind = NODE_KINDS[local_name(element)]
    base: dict[str, Any] = {
        "node_id": node_id,
        "name": element.get("name") or node_id,
        "kind": kind,
        "lane": lanes.get(node_id),
    }
    node = element.find(f"{bpmn('extensionElements')}/{kefu('node')}")
    if kind in HUMAN_KINDS:
        base["dispatch"] = "auto"
    if node is not None:
        base["dispatch"] = node.get("dispatch") or base.get("dispatch")
        base["limit"] = node.get("limit") or None
        base["warn_at"] = _float(node.get("warn-at"), DEFAULT_WARN_AT)
        base["escalation"] = node.get("escalation") or None
        base["escalation_state"] = node.get("escalation-state") or None
        base["assign"] = tuple(
            AssignRule(a.get("kind", ""), a.get("ref") or None) for a in node.iter(kefu("assign"))
        )
        base["states"] = tuple(
            StateOption(s.get("code", ""), s.get("label") or s.get("code", ""), s.get("next") or None)
            for s in node.iter(kefu("state"))
        )
    base["countersign"] = read_countersign(element)
    return NodeSettings(**base)


def read_countersign(element: Any) -> CountersignRule | None:
    rule = element.find(f"{bpmn('extensionElements')}/{kefu('countersign')}")
    loop = element.find(bpmn("multiInstanceLoopCharacteristics"))
    if rule is None or loop is None:
        return None
    collection = loop.findtext(bpmn("loopDataInputRef"))
    item = loop.find(bpmn("inputDataItem"))
    quorum = rule.get("quorum")
    return CountersignRule(
        mode=rule.get("mode", "all"),
        quorum=int(quorum) if quorum and quorum.strip().isdigit() else None,
        sequential=loop.get("isSequential", "false") == "true",
        collection=collection.strip() if collection else None,
        item=item.get("id") if item is not None else None,
    )


def _float(text: str | None, default: float) -> float:
    try:
        return float(text) if text else default
    except ValueError:
        return default
