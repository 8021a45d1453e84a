"""Helpers for the engine tests: fixture flows, and a ticket that keeps only what kefu stores."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from kefu.workflow.engine.runtime import Engine, Instance, ReadyTask
from kefu.workflow.engine.spec import parse

FLOWS = Path(__file__).parent / "flows"


def flow_xml(name: str, replace: Mapping[str, str] | None = None) -> bytes:
    """A fixture flow's bytes, with literal text replacements {old: new} (each old text must occur)."""
    text = (FLOWS / f"{name}.bpmn").read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return text.encode("utf-8")


class Ticket:
    """Like a ticket row: the spec JSON (stored once per template version) and the instance state.

    Every operation restores the instance from the stored state and stores `dump()` again, so each
    test step also proves that dump/restore between steps loses nothing.
    """

    def __init__(self, engine: Engine, spec_json: str, data: Mapping[str, Any] | None = None) -> None:
        self.engine = engine
        self.spec_json = spec_json
        self.state = engine.start(spec_json, data).dump()

    def instance(self) -> Instance:
        return self.engine.restore(self.spec_json, self.state)

    def ready(self) -> list[ReadyTask]:
        return self.instance().ready_tasks()

    def ready_nodes(self) -> list[str]:
        return sorted(t.node_id for t in self.ready())

    def task(self, node_id: str, participant: Any = None) -> ReadyTask:
        matches = [
            t
            for t in self.ready()
            if t.node_id == node_id and (participant is None or t.participant == participant)
        ]
        assert len(matches) == 1, (node_id, participant, self.ready())
        return matches[0]

    def complete(
        self,
        node_id: str,
        state: str = "done",
        *,
        data: Mapping[str, Any] | None = None,
        participant: Any = None,
        opinion: str | None = None,
    ) -> None:
        task = self.task(node_id, participant)
        self.apply(lambda i: i.complete(task.task_id, state=state, data=data, opinion=opinion))

    def apply(self, change: Callable[[Instance], Any]) -> Any:
        instance = self.instance()
        result = change(instance)
        self.state = instance.dump()
        return result


@pytest.fixture
def engine() -> Engine:
    return Engine()


@pytest.fixture
def ticket(engine: Engine) -> Callable[..., Ticket]:
    def make(
        name: str, data: Mapping[str, Any] | None = None, replace: Mapping[str, str] | None = None
    ) -> Ticket:
        return Ticket(engine, parse(flow_xml(name, replace)).spec_json, data)

    return make
