"""A countersign (会签) with nobody to sign is refused, never decided by an empty tally (WF-5, WF-9).

BPMN completes a multi-instance task over an empty collection at once; for a countersign that would
let the following gateway decide a case nobody looked at. The engine refuses to enter it instead, and
publishing refuses a countersign whose rules can never name anyone.
"""

from __future__ import annotations

import pytest
from tests.unit.workflow.conftest import flow_xml

from kefu.core import i18n
from kefu.workflow.engine import NoParticipants, parse, validate_bpmn

QUORUM = 'mode="quorum" quorum="2"'
NO_RULE = "A countersign needs at least one assignment rule (kefu:assign) to name its participants."
TO_PREPARE = 'sourceRef="start" targetRef="prepare"'
TO_SIGN = 'sourceRef="start" targetRef="sign"'


@pytest.mark.parametrize("rule", [QUORUM, 'mode="all"', 'mode="any"'])
@pytest.mark.parametrize("sequential", [False, True])
def test_completing_into_an_empty_countersign_is_refused(ticket, rule, sequential):
    replace = {QUORUM: rule}
    if sequential:
        replace['isSequential="false"'] = 'isSequential="true"'
    t = ticket("countersign", {"amount": 300}, replace=replace)
    before = t.state
    with pytest.raises(NoParticipants) as refused:
        t.complete("prepare", data={"countersigners": []})
    assert (refused.value.node_id, refused.value.name) == ("sign", "Countersign")
    # The stored state is what it was: the preceding task is still waiting, nothing was decided.
    assert t.state == before
    assert t.ready_nodes() == ["prepare"]
    assert "sign" not in t.instance().history()
    assert "kefu_countersign" not in t.task("prepare").data


def test_starting_straight_into_an_empty_countersign_is_refused(engine):
    xml = flow_xml("countersign", {TO_PREPARE: TO_SIGN})
    spec_json = parse(xml).spec_json
    with pytest.raises(NoParticipants, match="'sign'"):
        engine.start(spec_json, {"countersigners": []})
    started = engine.start(spec_json, {"countersigners": ["wang"]})
    assert [(r.node_id, r.participant) for r in started.ready_tasks()] == [("sign", "wang")]


def test_a_countersign_without_any_assignment_rule_cannot_be_published():
    xml = flow_xml("countersign", {'<kefu:assign kind="role" ref="leader"/>': ""})
    problems = validate_bpmn(xml)
    assert [(p.element_id, p.message) for p in problems] == [("sign", NO_RULE)]
    chinese = i18n.translations("zh_CN")
    assert problems[0].render(chinese.gettext) != problems[0].text


def test_a_countersign_with_a_rule_still_publishes():
    assert validate_bpmn(flow_xml("countersign")) == []
