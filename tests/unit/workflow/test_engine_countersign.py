"""Countersign (会签): all / any / quorum, parallel and sequential, votes recorded, new rounds on loops."""

from __future__ import annotations

import pytest

LEADERS = ["wang", "li", "zhao"]
QUORUM = 'mode="quorum" quorum="2"'


@pytest.fixture
def refund(ticket):
    """The refund flow at its countersign, with the countersign rule given as XML attributes."""

    def make(rule: str = QUORUM, *, sequential: bool = False, leaders=LEADERS):
        replace = {QUORUM: rule}
        if sequential:
            replace['isSequential="false"'] = 'isSequential="true"'
        t = ticket("countersign", {"amount": 300}, replace=replace)
        t.complete("prepare", data={"countersigners": list(leaders)})
        return t

    return make


def _votes(t) -> list[tuple[str, str, str | None]]:
    record = t.instance().data["kefu_countersign"]["sign"]
    return [(v["participant"], v["state"], v["opinion"]) for v in record["votes"]]


def test_each_participant_gets_a_task_with_their_position(refund):
    t = refund()
    tasks = t.ready()
    assert [(r.node_id, r.participant, r.instance_index, r.states) for r in tasks] == [
        ("sign", "wang", 0, ("approved", "rejected")),
        ("sign", "li", 1, ("approved", "rejected")),
        ("sign", "zhao", 2, ("approved", "rejected")),
    ]
    assert len({r.task_id for r in tasks}) == 3


def test_quorum_two_of_three_passes_at_the_second_agreement(refund):
    t = refund()
    t.complete("sign", "rejected", participant="li", opinion="too much")
    assert t.ready_nodes() == ["sign", "sign"]
    t.complete("sign", "approved", participant="zhao", opinion="ok")
    assert t.ready_nodes() == ["sign"]
    t.complete("sign", "approved", participant="wang")
    assert t.ready_nodes() == ["pay"]
    pay = t.task("pay")
    assert pay.data["kefu_state"] == "approved"
    assert "countersigner" not in pay.data and "kefu_countersign_decided" not in pay.data
    assert _votes(t) == [
        ("li", "rejected", "too much"),
        ("zhao", "approved", "ok"),
        ("wang", "approved", None),
    ]
    assert t.instance().data["kefu_countersign"]["sign"]["outcome"] == "approved"


def test_quorum_cancels_the_remaining_participants_once_decided(refund):
    t = refund()
    t.complete("sign", "approved", participant="wang")
    t.complete("sign", "approved", participant="zhao")
    assert t.ready_nodes() == ["pay"]
    assert _votes(t) == [("wang", "approved", None), ("zhao", "approved", None)]
    assert t.instance().history().count("sign") == 1


def test_quorum_fails_as_soon_as_it_cannot_be_reached(refund):
    t = refund()
    t.complete("sign", "rejected", participant="wang")
    t.complete("sign", "rejected", participant="li")
    assert t.ready_nodes() == ["prepare"]
    assert t.task("prepare").data["kefu_countersign"]["sign"]["outcome"] == "rejected"


@pytest.mark.parametrize(
    ("states", "outcome"),
    [(["approved", "approved", "approved"], "pay"), (["approved", "rejected", "approved"], "prepare")],
)
def test_all_needs_every_participant_to_agree(refund, states, outcome):
    t = refund('mode="all"')
    for leader, state in zip(LEADERS, states, strict=True):
        assert t.ready_nodes()[0] == "sign"
        t.complete("sign", state, participant=leader)
    assert t.ready_nodes() == [outcome]
    assert [v[1] for v in _votes(t)] == states


def test_any_is_decided_by_the_first_vote(refund):
    t = refund('mode="any"')
    t.complete("sign", "rejected", participant="zhao", opinion="no budget")
    assert t.ready_nodes() == ["prepare"]
    assert _votes(t) == [("zhao", "rejected", "no budget")]


def test_sequential_countersign_asks_one_participant_after_the_other(refund):
    t = refund(sequential=True)
    assert [r.participant for r in t.ready()] == ["wang"]
    t.complete("sign", "approved", participant="wang")
    assert [r.participant for r in t.ready()] == ["li"]
    t.complete("sign", "approved", participant="li")
    assert t.ready_nodes() == ["pay"]
    assert [v[0] for v in _votes(t)] == ["wang", "li"]


def test_a_rejected_countersign_loops_back_and_runs_a_fresh_round(refund):
    t = refund()
    t.complete("sign", "rejected", participant="wang")
    t.complete("sign", "rejected", participant="li")
    t.complete("prepare", data={"countersigners": ["sun", "qian"], "amount": 200})
    assert [r.participant for r in t.ready()] == ["sun", "qian"]
    t.complete("sign", "approved", participant="sun")
    t.complete("sign", "approved", participant="qian")
    assert t.ready_nodes() == ["pay"]
    assert _votes(t) == [("sun", "approved", None), ("qian", "approved", None)]
    t.complete("pay")
    assert t.instance().is_completed


def test_return_to_a_countersign_starts_a_new_round(refund):
    t = refund()
    t.complete("sign", "approved", participant="wang")
    t.complete("sign", "approved", participant="li")
    t.apply(lambda i: i.return_to("sign"))
    assert [r.participant for r in t.ready()] == LEADERS
    t.complete("sign", "rejected", participant="zhao")
    t.complete("sign", "rejected", participant="wang")
    assert t.ready_nodes() == ["prepare"]
    assert [v[1] for v in _votes(t)] == ["rejected", "rejected"]


def test_a_vote_must_be_one_of_the_node_states(refund):
    t = refund()
    with pytest.raises(ValueError, match="'abstain' is not a state of node 'sign'"):
        t.complete("sign", "abstain", participant="wang")
