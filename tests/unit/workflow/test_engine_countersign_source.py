"""A participant source fills a countersign's collection when the flow enters it (WF-5).

The engine asks the source only for a countersign it is about to enter, every time it enters it;
a collection the caller passed in as data is kept as given; without a source the data is used as is.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.workflow.conftest import flow_xml

from kefu.workflow.engine import Engine, NodeSettings, parse

TO_PREPARE = 'sourceRef="start" targetRef="prepare"'
TO_SIGN = 'sourceRef="start" targetRef="sign"'


class Source:
    """Who the countersign's rules name today; records each question."""

    def __init__(self, people: list[str]) -> None:
        self.people = people
        self.asked: list[str] = []

    def __call__(self, node: NodeSettings) -> list[Any]:
        self.asked.append(node.node_id)
        return list(self.people)


class Flow:
    """Restore → step → dump, with the source attached to every step (like the runtime does)."""

    def __init__(self, source: Source, replace: dict[str, str] | None = None, data: dict | None = None):
        self.engine = Engine()
        self.source = source
        self.spec_json = parse(flow_xml("countersign", replace)).spec_json
        self.state = self.engine.start(self.spec_json, data or {}, participants=source).dump()

    def signers(self) -> list[Any]:
        instance = self.engine.restore(self.spec_json, self.state)
        return sorted(r.participant for r in instance.ready_tasks() if r.node_id == "sign")

    def complete(self, node_id: str, state: str = "done", *, participant: Any = None, data=None) -> None:
        instance = self.engine.restore(self.spec_json, self.state, participants=self.source)
        task = next(
            r
            for r in instance.ready_tasks()
            if r.node_id == node_id and (participant is None or r.participant == participant)
        )
        instance.complete(task.task_id, state=state, data=data)
        self.state = instance.dump()

    def return_to(self, node_id: str) -> None:
        instance = self.engine.restore(self.spec_json, self.state, participants=self.source)
        instance.return_to(node_id)
        self.state = instance.dump()


@pytest.mark.parametrize("sequential", [False, True])
def test_the_source_is_asked_on_each_entry_only(sequential):
    source = Source(["wang", "li"])
    replace = {'mode="quorum" quorum="2"': 'mode="any"'}
    if sequential:
        replace['isSequential="false"'] = 'isSequential="true"'
    flow = Flow(source, replace)
    assert source.asked == []  # the start enters "prepare" only
    source.people = ["wang", "zhao"]
    flow.complete("prepare")
    assert source.asked == ["sign"]
    assert flow.signers() == (["wang"] if sequential else ["wang", "zhao"])
    flow.complete("sign", "rejected", participant="wang")  # any: decided → back to prepare
    assert source.asked == ["sign"]  # votes ask nobody
    source.people = ["li"]
    flow.complete("prepare")
    assert source.asked == ["sign", "sign"]
    assert flow.signers() == ["li"]


def test_returning_to_the_countersign_asks_again():
    source = Source(["wang", "li", "zhao"])
    flow = Flow(source, {'mode="quorum" quorum="2"': 'mode="any"'})
    flow.complete("prepare")
    flow.complete("sign", "approved", participant="li")
    source.people = ["zhao"]
    flow.return_to("sign")
    assert flow.signers() == ["zhao"]


def test_a_list_the_caller_gives_is_kept():
    source = Source(["wang", "li", "zhao"])
    flow = Flow(source, {'mode="quorum" quorum="2"': 'mode="any"'})
    flow.complete("prepare", data={"countersigners": ["li"]})
    assert flow.signers() == ["li"] and source.asked == []
    flow.complete("sign", "rejected", participant="li")
    flow.complete("prepare")
    assert flow.signers() == ["li"] and source.asked == []
    flow.complete("sign", "rejected", participant="li")
    flow.complete("prepare", data={"countersigners": ["wang", "zhao"]})
    assert flow.signers() == ["wang", "zhao"]

    started = Flow(source, {TO_PREPARE: TO_SIGN}, data={"countersigners": ["zhao"]})
    assert started.signers() == ["zhao"] and source.asked == []


def test_starting_straight_into_the_countersign_asks_the_source():
    source = Source(["wang"])
    flow = Flow(source, {TO_PREPARE: TO_SIGN})
    assert source.asked == ["sign"] and flow.signers() == ["wang"]
