"""A countersign (会签, WF-5) starts with the people its rules name when the flow enters it.

Before, the participant list was filled when the flow started and kept: a leader deactivated (or a
new one appointed) in between still got (or never got) a countersign task, and a loop back into the
countersign asked the same people again. A list a caller supplied is kept as given, and a running
countersign keeps its participants.
"""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from kefu.org.models import DataScope

QUORUM = 'mode="quorum" quorum="2"'
MULTI = """<bpmn:multiInstanceLoopCharacteristics isSequential="false">
        <bpmn:loopDataInputRef>countersigners</bpmn:loopDataInputRef>
        <bpmn:inputDataItem id="countersigner"/>
      </bpmn:multiInstanceLoopCharacteristics>"""
# The same refund flow with "sign" an ordinary task of one leader (auto dispatch).
PLAIN = {f"<kefu:countersign {QUORUM}/>": "", MULTI: ""}


def _refund(world, rule: str = QUORUM):
    leader = world.role("leader")
    leaders = [world.person(roles=[leader]) for _ in range(3)]
    initiator = world.person()
    world.publish("countersign", {QUORUM: rule}, code="refund")
    started = world.start(initiator, "refund")
    return leader, initiator, leaders, started


def _open(world, started, who, node_id: str) -> list[dict]:
    return [t for t in world.open_tasks(started["id"], who) if t["node_id"] == node_id]


def _signers(world, started, who) -> list[int | None]:
    return sorted((t["assignee_id"] or 0) for t in _open(world, started, who, "sign"))


def _ids(*people) -> list[int]:
    return sorted(p.user.id for p in people)


def test_the_countersign_goes_to_the_rules_members_when_it_is_entered(world, session):
    leader, initiator, (kept, gone, other), started = _refund(world)
    gone.user.is_active = False  # deactivated between the start and the countersign
    newcomer = world.person(roles=[leader])  # appointed meanwhile
    session.flush()

    world.complete(initiator, _open(world, started, initiator, "prepare")[0]["id"])

    signs = _open(world, started, initiator, "sign")
    assert _signers(world, started, initiator) == _ids(kept, other, newcomer)
    assert all(t["participant"] == t["assignee_id"] for t in signs)


def test_a_loop_back_enters_the_countersign_with_a_fresh_list(world, session):
    leader, initiator, leaders, started = _refund(world, 'mode="any"')
    world.complete(initiator, _open(world, started, initiator, "prepare")[0]["id"])
    assert _signers(world, started, initiator) == _ids(*leaders)
    first = _open(world, started, initiator, "sign")[0]
    voter = next(p for p in leaders if p.user.id == first["assignee_id"])
    world.complete(voter, first["id"], "rejected")  # any: the first vote decides → back to prepare

    leaders[1].user.is_active = False
    newcomer = world.person(roles=[leader])
    session.flush()
    world.complete(initiator, _open(world, started, initiator, "prepare")[0]["id"])

    assert _signers(world, started, initiator) == _ids(leaders[0], leaders[2], newcomer)


def test_returning_to_the_countersign_asks_its_rules_again(world, session):
    _, initiator, leaders, started = _refund(world, 'mode="any"')
    manager = world.person(["workflow.tasks.manage", "workflow.tasks.view"], scope=DataScope.ALL)
    world.complete(initiator, _open(world, started, initiator, "prepare")[0]["id"])
    first = _open(world, started, initiator, "sign")[0]
    voter = next(p for p in leaders if p.user.id == first["assignee_id"])
    world.complete(voter, first["id"], "approved")
    assert _open(world, started, initiator, "pay")

    leaders[0].user.is_active = False
    session.flush()
    world.call("POST", f"/instances/{started['id']}/return", manager, {"node_id": "sign", "comment": "again"})

    assert _signers(world, started, initiator) == _ids(leaders[1], leaders[2])


def test_a_supplied_list_is_kept_as_given(world, session):
    leader, initiator, leaders, started = _refund(world, 'mode="any"')
    chosen = [leaders[0].user.id, leaders[2].user.id]
    prepare = _open(world, started, initiator, "prepare")[0]
    world.complete(initiator, prepare["id"], data={"countersigners": chosen})
    assert _signers(world, started, initiator) == sorted(chosen)
    world.complete(leaders[0], _open(world, started, leaders[0], "sign")[0]["id"], "rejected")

    world.person(roles=[leader])  # a new leader is not added to a list the caller chose
    session.flush()
    world.complete(initiator, _open(world, started, initiator, "prepare")[0]["id"])

    assert _signers(world, started, initiator) == sorted(chosen)


def test_a_running_countersign_keeps_its_participants(world, session):
    leader, initiator, leaders, started = _refund(world)  # quorum 2 of 3
    world.complete(initiator, _open(world, started, initiator, "prepare")[0]["id"])
    before = {t["id"]: t["assignee_id"] for t in _open(world, started, initiator, "sign")}
    assert sorted(before.values()) == _ids(*leaders)

    leaders[2].user.is_active = False
    world.person(roles=[leader])
    session.flush()
    mine = next(t for t in before if before[t] == leaders[0].user.id)
    world.complete(leaders[0], mine, "approved")  # one vote: not decided yet

    after = {t["id"]: t["assignee_id"] for t in _open(world, started, initiator, "sign")}
    assert after == {t: u for t, u in before.items() if t != mine}
    detail = world.call("GET", f"/instances/{started['id']}", initiator)
    assert len([t for t in detail["tasks"] if t["node_id"] == "sign"]) == 3


@contextmanager
def _statements(engine):
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_steps_that_enter_no_countersign_cost_no_query_for_it(world, session, engine):
    """Starting the refund flow (into "prepare") and completing "pay" issue as many statements
    whether or not the flow has a countersign: participants are looked up only on entering one."""
    leader = world.role("leader")
    leaders = [world.person(roles=[leader]) for _ in range(2)]
    initiator = world.person()
    world.publish("countersign", code="refund")
    world.publish("countersign", PLAIN, code="plain")
    costs: dict[str, dict[str, int]] = {}
    rounds = ("refund", "plain", "refund", "plain")  # the first round warms caches
    for subject_id, code in enumerate(rounds, start=1):
        with _statements(engine) as start:
            started = world.start(initiator, code, subject_id=subject_id)
        world.complete(initiator, _open(world, started, initiator, "prepare")[0]["id"])
        for task in _open(world, started, initiator, "sign"):
            signer = next(p for p in leaders if p.user.id == task["assignee_id"])
            world.complete(signer, task["id"], "approved")
        pay = _open(world, started, initiator, "pay")[0]
        with _statements(engine) as done:
            world.complete(initiator, pay["id"])
        costs[code] = {"start": len(start), "pay": len(done)}
    assert costs["refund"] == costs["plain"], costs
