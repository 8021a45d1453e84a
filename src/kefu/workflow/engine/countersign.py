"""Countersign (会签, WF-5): the tally of a multi-instance user task and when it is decided.

Each participant completes their own instance with one of the node's states (and an opinion). The
node's first declared state is the *pass* state (e.g. `approved`); a node without states has only
`done`. The countersign is decided, and its remaining instances are cancelled, as follows:

- `all`: when every participant has voted; the outcome is the pass state if all chose it, otherwise
  the most chosen other state.
- `any`: at the first vote; the outcome is that vote's state.
- `quorum` q: as soon as q participants chose the pass state (outcome: pass), or as soon as that can
  no longer happen (outcome: the most chosen other state). A quorum above the number of
  participants counts as "all of them".

Ties between other states go to the state declared first. The outcome becomes `kefu_state` of the
node, so the following gateway routes on it like on any task; every vote is recorded in the data
under `kefu_countersign[node_id]`.

A countersign is never entered without participants (WF-9): BPMN would complete a multi-instance
task over an empty collection at once, and the gateway after it would then decide on an empty tally
a case nobody looked at. The engine raises `NoParticipants` instead, and the step that led there
fails as a whole.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from kefu.workflow.engine.model import CountersignRule

VOTE_KEY = "kefu_vote"
RECORD_KEY = "kefu_countersign"


class NoParticipants(RuntimeError):
    """The flow reached countersign `node_id` (named `name`) with nobody in its participant collection.

    Raised while the engine runs a step, before the countersign or anything after it runs; the
    instance the step ran on is left mid-step and must be discarded (restore it from its stored state).
    """

    def __init__(self, node_id: str, name: str) -> None:
        super().__init__(f"countersign {node_id!r} ({name}) has no participants")
        self.node_id = node_id
        self.name = name


@dataclass(frozen=True)
class Vote:
    """One participant's completion of a countersign instance."""

    seq: int
    index: Any
    participant: Any
    state: str
    opinion: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def decide(rule: CountersignRule, states: tuple[str, ...], votes: list[Vote], total: int) -> str | None:
    """The outcome state once the countersign is decided by `votes` of `total` participants, else None."""
    if not votes:
        return None
    if rule.mode == "any":
        return votes[0].state
    passing = states[0]
    passes = sum(1 for v in votes if v.state == passing)
    if rule.mode == "all":
        if len(votes) < total:
            return None
        return passing if passes == len(votes) else _dissent(states, votes)
    quorum = min(rule.quorum or total, total)
    if passes >= quorum:
        return passing
    if passes + (total - len(votes)) < quorum:
        return _dissent(states, votes)
    return None


def _dissent(states: tuple[str, ...], votes: list[Vote]) -> str:
    counts = Counter(v.state for v in votes if v.state != states[0])
    return max(states[1:] or states, key=lambda s: (counts.get(s, 0), -states.index(s)))


def instances(wrapper: Any) -> list[Any]:
    """The participant instances (child tasks) of a multi-instance task."""
    child_spec = wrapper.task_spec.task_spec
    return [c for c in wrapper.children if c.task_spec.name == child_spec]


def participants_total(wrapper: Any) -> int:
    """How many participants the countersign has (sequential ones not yet started included)."""
    return len(instances(wrapper)) + len(wrapper.internal_data.get("remaining", []))


def votes_of(wrapper: Any) -> list[Vote]:
    """The votes cast so far, in the order they were cast."""
    votes = [Vote(**c.internal_data[VOTE_KEY]) for c in instances(wrapper) if VOTE_KEY in c.internal_data]
    return sorted(votes, key=lambda v: v.seq)


def cast(task: Any, *, participant: Any, state: str, opinion: str | None) -> list[Vote]:
    """Record `task`'s vote on the task itself; every vote of the countersign so far, this one last."""
    wrapper = task.parent
    votes = votes_of(wrapper)
    index = task.internal_data.get("key_or_index")
    vote = Vote(seq=len(votes), index=index, participant=participant, state=state, opinion=opinion)
    task.internal_data[VOTE_KEY] = vote.to_json()
    return [*votes, vote]


def record(wrapper: Any, node_id: str, outcome: str, votes: list[Vote]) -> None:
    """Put the outcome and every vote into the multi-instance task's data (replacing an earlier round)."""
    records = dict(wrapper.data.get(RECORD_KEY) or {})
    records[node_id] = {"outcome": outcome, "votes": [v.to_json() for v in votes]}
    wrapper.data[RECORD_KEY] = records
    wrapper.data["kefu_state"] = outcome
