"""Countersign (会签, WF-5): one task row per participant; the undecided ones are cancelled."""

from __future__ import annotations

import pytest

QUORUM = 'mode="quorum" quorum="2"'


def _refund(world, rule: str = QUORUM):
    leader = world.role("leader")
    leaders = [world.person(roles=[leader]) for _ in range(3)]
    initiator = world.person()
    world.publish("countersign", {QUORUM: rule}, code="refund")
    started = world.start(initiator, "refund")
    return initiator, leaders, started


def _sign_tasks(world, started, who):
    return [t for t in world.open_tasks(started["id"], who) if t["node_id"] == "sign"]


def test_quorum_two_of_three_cancels_the_third(world):
    initiator, leaders, started = _refund(world)
    prepare = world.open_tasks(started["id"], initiator)[0]
    world.complete(initiator, prepare["id"])
    signs = _sign_tasks(world, started, initiator)
    by_user = {t["assignee_id"]: t for t in signs}
    assert sorted(by_user) == sorted(p.user.id for p in leaders)
    assert all(
        t["participant"] == t["assignee_id"] and t["candidate_ids"] == [t["assignee_id"]] for t in signs
    )
    first, second, third = leaders
    world.complete(first, by_user[first.user.id]["id"], "approved", comment="ok")
    world.complete(second, by_user[second.user.id]["id"], "approved")
    detail = world.call("GET", f"/instances/{started['id']}", initiator)
    status = {t["id"]: t["status"] for t in detail["tasks"]}
    assert status[by_user[third.user.id]["id"]] == "cancelled"
    assert [t["node_id"] for t in detail["tasks"] if t["status"] == "open"] == ["pay"]
    world.complete(third, by_user[third.user.id]["id"], "approved", expect=409)
    votes = [
        (e["actor_id"], e["state"], e["comment"]) for e in detail["events"] if e["action"] == "completed"
    ]
    assert votes[1:] == [(first.user.id, "approved", "ok"), (second.user.id, "approved", "")]


@pytest.mark.parametrize(
    ("rule", "votes", "next_node", "cancelled"),
    [
        ('mode="all"', ["approved", "rejected", "approved"], "prepare", 0),
        ('mode="all"', ["approved", "approved", "approved"], "pay", 0),
        ('mode="any"', ["rejected"], "prepare", 2),
    ],
)
def test_all_and_any(world, rule, votes, next_node, cancelled):
    initiator, leaders, started = _refund(world, rule)
    world.complete(initiator, world.open_tasks(started["id"], initiator)[0]["id"])
    by_user = {t["assignee_id"]: t for t in _sign_tasks(world, started, initiator)}
    for person, state in zip(leaders, votes, strict=False):
        world.complete(person, by_user[person.user.id]["id"], state)
    detail = world.call("GET", f"/instances/{started['id']}", initiator)
    signs = [t for t in detail["tasks"] if t["node_id"] == "sign"]
    assert sum(t["status"] == "completed" for t in signs) == len(votes)
    assert sum(t["status"] == "cancelled" for t in signs) == cancelled
    assert [t["node_id"] for t in detail["tasks"] if t["status"] == "open"] == [next_node]


def test_countersigners_from_data(world):
    initiator, leaders, started = _refund(world, 'mode="all"')
    prepare = world.open_tasks(started["id"], initiator)[0]
    bad = world.complete(initiator, prepare["id"], data={"countersigners": [999999]}, expect=422)
    assert bad["detail"][0]["loc"] == ["body", "data"]
    chosen = [leaders[0].user.id, leaders[2].user.id]
    world.complete(initiator, prepare["id"], data={"countersigners": chosen})
    assert sorted(t["assignee_id"] for t in _sign_tasks(world, started, initiator)) == sorted(chosen)
