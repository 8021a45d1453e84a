"""Automatic call distribution (ACD, 排队路由): which agent takes which call, and when calls give up.

Pure and deterministic: no database, no clock, no I/O. Every operation takes the current time as
`now` (seconds, a float on any fixed epoch) and returns what it decided; the caller — the CTI service
when the PBX delegates routing to kefu, or the PBX simulator — persists, audits and sends the
commands. A `Router` is not thread-safe: one owner (e.g. one asyncio task) drives it.

Model
-----
* A queue (`QueueSpec`) is served by the agents that are members of it (`Agent.queues`) and by the
  agents that have every skill it requires at the required minimum level (`QueueSpec.skills`). A
  queue without required skills is served by its members only.
* Only `ready` agents receive calls. An assignment makes the agent `busy` and counts the call in
  `calls_taken`; `finish` makes the agent ready again at once. Wrap-up (话后处理) belongs to the
  caller: set the agent `not_ready` when the call ends and `ready` when wrap-up is over. The richer
  agent states of the call center map onto these four with `AgentState.of` (ringing / talking ->
  busy, wrap-up -> not_ready). Idle time counts from becoming ready unless the caller passes
  `idle_since` (e.g. the end of the last call).
* An offered call goes at once to the ready agent that the queue's `Strategy` picks; when the queue
  has no ready agent the call waits. Waiting calls are served by priority (the queue's
  `tier_priority` of the customer's tier, higher first; no tier or an unknown tier is 0), then by
  the time they entered the queue, then by arrival order.
* An agent that becomes ready takes the best waiting call over all the queues it serves: highest
  priority first, then the one longest in its queue (ties: the one that arrived first).
* `tick(now)` applies the deadlines: after `overflow_after` seconds in a queue a call moves to
  `overflow_to` (and is routed there at once if an agent is ready); after `max_wait` seconds since
  it arrived (kept across overflows) a call leaves with a `TimedOut` outcome — a call overflowing
  into a queue whose `max_wait` has already passed times out there at once unless an agent is
  ready. Overflow targets may chain but never cycle (checked whenever queues are registered or
  changed: `OverflowCycle`, a `ValueError`). Deadlines are stamped with the instant they fell due,
  not with the time of the tick, so the results do not depend on how often `tick` runs; only an
  assignment is stamped `now`. Call `tick(now)` before handling other events of the same instant.

Invariant: no queue has waiting calls while an agent that serves it is ready. It is what lets
`offer` route without looking at the waiting calls and `agent_ready` look only at them.

Speed: each queue keeps the set of agents that serve it (recomputed when an agent's skills or
memberships or the queue's requirements change, never when an agent's state changes), a heap of its
ready agents ordered by the strategy (stale entries are skipped and compacted away; round robin keeps
a sorted list of ready agent ids instead) and a heap of its waiting calls; deadlines are one heap.
A routing decision costs O(q log n) comparisons for an agent serving q queues, independent of the number of
agents and calls.

Names such as `Agent`, `AgentState` and `Outcome` are the router's own (in-memory views, not the
tables of `kefu.callcenter.models`): import the module, `from kefu.callcenter import acd`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from heapq import heapify, heappop, heappush
from itertools import count

from kefu.core.errors import Conflict, KefuError, NotFound

__all__ = [
    "Agent",
    "AgentState",
    "AgentStateError",
    "Assignment",
    "DuplicateCall",
    "InvalidQueueConfig",
    "Outcome",
    "OverflowCycle",
    "Overflowed",
    "QueueSpec",
    "QueueStats",
    "Router",
    "Strategy",
    "TimedOut",
    "UnknownAgent",
    "UnknownQueue",
    "WaitingCall",
]

MIN_LEVEL = 1
MAX_LEVEL = 10


class Strategy(StrEnum):
    """How a queue picks among its ready agents when a call arrives."""

    LONGEST_IDLE = "longest_idle"  # ready the longest (smallest idle_since)
    ROUND_ROBIN = "round_robin"  # the next ready agent id after the last one served, wrapping
    FEWEST_CALLS = "fewest_calls"  # fewest calls_taken; ties: longest idle
    SKILL_WEIGHTED = "skill_weighted"  # highest sum of levels in the queue's skills; ties: longest idle


class AgentState(StrEnum):
    """What routing needs to know of an agent; `of` maps the call center's richer states."""

    READY = "ready"
    NOT_READY = "not_ready"
    BUSY = "busy"
    OFFLINE = "offline"

    @classmethod
    def of(cls, state: str) -> AgentState:
        """The routing state of a call-center agent state: ringing / talking / held -> busy,
        wrap_up -> not_ready, logged_out -> offline; ready, not_ready, busy, offline as they are."""
        return cls(_CTI_STATES.get(state, state))


_CTI_STATES = {
    "ringing": "busy",
    "talking": "busy",
    "held": "busy",
    "wrap_up": "not_ready",
    "logged_out": "offline",
}


class InvalidQueueConfig(KefuError, ValueError):
    """A queue definition that cannot work (bad level, half-set overflow, unknown target, …)."""

    status_code = 422
    code = "invalid"


class OverflowCycle(InvalidQueueConfig):
    """Overflow targets that lead back to a queue already on the path (a call could loop forever)."""


class UnknownQueue(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__("Unknown queue %(name)s", name=name)
        self.name = name


class UnknownAgent(NotFound):
    def __init__(self, agent_id: int) -> None:
        super().__init__("Unknown agent %(agent_id)s", agent_id=agent_id)
        self.agent_id = agent_id


class DuplicateCall(Conflict):
    def __init__(self, call_id: str) -> None:
        super().__init__("Call %(call_id)s is already waiting", call_id=call_id)
        self.call_id = call_id


class AgentStateError(Conflict):
    """An operation that needs the agent in another state (e.g. `finish` of an agent not busy)."""


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """A queue's routing rules. `skills` maps skill -> minimum level (1..10); `tier_priority` maps
    a customer tier ("vip", "gold", …) to a priority (higher is served first, default 0)."""

    name: str
    strategy: Strategy = Strategy.LONGEST_IDLE
    skills: Mapping[str, int] = field(default_factory=dict)
    overflow_after: float | None = None
    overflow_to: str | None = None
    max_wait: float | None = None
    tier_priority: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidQueueConfig("A queue needs a name")
        try:
            object.__setattr__(self, "strategy", Strategy(self.strategy))
        except ValueError:
            raise InvalidQueueConfig(
                "Queue %(name)s: unknown strategy %(strategy)s", name=self.name, strategy=self.strategy
            ) from None
        object.__setattr__(self, "skills", dict(self.skills))
        object.__setattr__(self, "tier_priority", dict(self.tier_priority))
        for skill, level in self.skills.items():
            if not MIN_LEVEL <= level <= MAX_LEVEL:
                raise InvalidQueueConfig(
                    "Queue %(name)s: level of skill %(skill)s must be 1..10", name=self.name, skill=skill
                )
        if (self.overflow_after is None) != (self.overflow_to is None):
            raise InvalidQueueConfig(
                "Queue %(name)s: overflow_after and overflow_to go together", name=self.name
            )
        if self.overflow_after is not None and self.overflow_after < 0:
            raise InvalidQueueConfig("Queue %(name)s: overflow_after must be >= 0", name=self.name)
        if self.max_wait is not None and self.max_wait < 0:
            raise InvalidQueueConfig("Queue %(name)s: max_wait must be >= 0", name=self.name)
        if self.overflow_to == self.name:
            raise OverflowCycle("Queue %(name)s overflows to itself", name=self.name)

    def priority(self, tier: str | None) -> int:
        return self.tier_priority.get(tier, 0) if tier is not None else 0

    def requires(self, skills: Mapping[str, int]) -> bool:
        """Whether skills meet every required minimum (False for a queue without requirements)."""
        if not self.skills:
            return False
        return all(skills.get(skill, 0) >= level for skill, level in self.skills.items())


@dataclass(slots=True, eq=False)
class Agent:
    """An agent as the router sees it. Owned by the `Router` once added: change it only through
    the router's methods (`update_agent`, `set_state`, …), which keep the indexes right."""

    id: int
    skills: dict[str, int] = field(default_factory=dict)
    queues: frozenset[str] = frozenset()
    state: AgentState = AgentState.OFFLINE
    idle_since: float = 0.0
    calls_taken: int = 0


@dataclass(frozen=True, slots=True)
class WaitingCall:
    """A call waiting in `queue`. `arrived_at` is when it first reached the ACD (kept across
    overflows, for wait statistics and `max_wait`); `seq` orders calls entering a queue at the same
    instant and is renewed when the call enters another queue."""

    call_id: str
    queue: str
    tier: str | None
    priority: int
    arrived_at: float
    entered_queue_at: float
    seq: int = field(default=0, repr=False)

    def wait(self, now: float) -> float:
        return now - self.arrived_at


@dataclass(frozen=True, slots=True)
class Assignment:
    """`call_id` from `queue` goes to `agent_id` (now busy) at `at`."""

    call_id: str
    queue: str
    agent_id: int
    tier: str | None
    arrived_at: float
    at: float

    @property
    def wait(self) -> float:
        return self.at - self.arrived_at


@dataclass(frozen=True, slots=True)
class Overflowed:
    """`call` (as it waited in its old queue) moved to `to_queue` at `at`."""

    call: WaitingCall
    to_queue: str
    at: float


@dataclass(frozen=True, slots=True)
class TimedOut:
    """`call` reached its queue's `max_wait` at `at` and leaves the ACD (the caller plays a message,
    offers a callback, or hangs up)."""

    call: WaitingCall
    at: float


Outcome = Assignment | Overflowed | TimedOut


@dataclass(frozen=True, slots=True)
class QueueStats:
    name: str
    waiting: int
    longest_wait: float
    ready_agents: int
    eligible_agents: int


# Deadline kinds; at the same instant a time-out is applied before an overflow.
_TIMEOUT = 0
_OVERFLOW = 1

_READY = AgentState.READY
_BUSY = AgentState.BUSY
_RR = Strategy.ROUND_ROBIN

# Ready-heap entry: (strategy key, idle_since, agent id, epoch). The strategy key is 0 for longest
# idle, calls_taken for fewest calls, minus the skill weight for skill weighted. An entry is live
# while the agent's current ready epoch equals `epoch`.
_ReadyEntry = tuple[float, float, int, int]
# Waiting-call entry: (-priority, entered_queue_at, seq, call id).
_CallEntry = tuple[int, float, int, str]
# Deadline entry: (due, kind, seq, call id).
_Deadline = tuple[float, int, int, str]


class _Queue:
    __slots__ = ("calls", "cursor", "eligible", "ready", "ready_count", "rr", "spec", "waiting", "weights")

    def __init__(self, spec: QueueSpec) -> None:
        self.spec = spec
        self.eligible: set[int] = set()
        self.weights: dict[int, int] = {}
        self.ready: list[_ReadyEntry] = []
        self.rr: list[int] = []  # round robin: sorted ids of ready eligible agents
        self.ready_count = 0
        self.cursor = -(2**63)  # round robin: id of the agent served last
        self.calls: list[_CallEntry] = []
        self.waiting: dict[str, WaitingCall] = {}


def _check_overflow_graph(specs: Mapping[str, QueueSpec]) -> None:
    for spec in specs.values():
        if spec.overflow_to is not None and spec.overflow_to not in specs:
            raise InvalidQueueConfig(
                "Queue %(name)s overflows to unknown queue %(target)s",
                name=spec.name,
                target=spec.overflow_to,
            )
    for spec in specs.values():
        path = [spec.name]
        target = spec.overflow_to
        while target is not None:
            if target in path:
                raise OverflowCycle(
                    "Overflow cycle: %(path)s", path=" -> ".join([*path[path.index(target) :], target])
                )
            path.append(target)
            target = specs[target].overflow_to


class Router:
    """The ACD state of one call center: queues, agents and waiting calls.

    Methods that may hand a call to an agent return the `Assignment` (or a list of them); the
    caller connects the call. Errors: `UnknownQueue`, `UnknownAgent`, `DuplicateCall`,
    `AgentStateError`, `InvalidQueueConfig` / `OverflowCycle` (both `ValueError`s).
    """

    def __init__(self, queues: Iterable[QueueSpec] = ()) -> None:
        self._queues: dict[str, _Queue] = {}
        self._agents: dict[int, Agent] = {}
        self._serves: dict[int, list[_Queue]] = {}  # agent id -> queues it serves, by name
        self._ready_epoch: dict[int, int] = {}  # agent id -> epoch while ready, 0 otherwise
        self._epochs = count(1)
        self._seq = count(1)
        self._calls: dict[str, WaitingCall] = {}
        self._deadlines: list[_Deadline] = []
        specs = list(queues)
        by_name = {spec.name: spec for spec in specs}
        if len(by_name) != len(specs):
            raise InvalidQueueConfig("Queue names must be unique")
        _check_overflow_graph(by_name)
        for spec in sorted(specs, key=lambda s: s.name):
            self._queues[spec.name] = _Queue(spec)

    # -- queues -------------------------------------------------------------------------------

    def queue(self, name: str) -> QueueSpec:
        return self._queue(name).spec

    def queues(self) -> list[QueueSpec]:
        return [q.spec for q in self._queues.values()]

    def add_queue(self, spec: QueueSpec) -> None:
        """Add a queue; its overflow target must exist already (or use the constructor for a set)."""
        if spec.name in self._queues:
            raise InvalidQueueConfig("Queue %(name)s exists already", name=spec.name)
        _check_overflow_graph({**self._specs(), spec.name: spec})
        q = _Queue(spec)
        self._queues[spec.name] = q
        self._queues = dict(sorted(self._queues.items()))
        for agent in self._agents.values():
            if self._eligible(spec, agent):
                self._join(q, agent, push=True)

    def update_queue(self, spec: QueueSpec, now: float) -> list[Assignment]:
        """Replace a queue's rules. Waiting calls stay (in their order of entry), re-prioritised under
        the new tiers and with deadlines from the new rules; ready agents that now serve the queue
        take its waiting calls, chosen by the (new) strategy."""
        old = self._queue(spec.name)
        _check_overflow_graph({**self._specs(), spec.name: spec})
        ready = [
            agent
            for agent in self._agents.values()
            if agent.state is _READY and (agent.id in old.eligible or self._eligible(spec, agent))
        ]
        for agent in ready:
            self._leave_ready(agent)
        for agent_id in old.eligible:
            self._serves[agent_id].remove(old)
        q = _Queue(spec)
        q.cursor = old.cursor
        self._queues[spec.name] = q
        for agent in self._agents.values():
            if self._eligible(spec, agent):
                self._join(q, agent, push=False)
        for waiting in sorted(old.waiting.values(), key=lambda c: (c.entered_queue_at, c.seq)):
            del self._calls[waiting.call_id]
            self._enqueue(q, waiting.call_id, waiting.tier, waiting.arrived_at, waiting.entered_queue_at)
        for agent in ready:
            self._enter_ready(agent)
        out = []
        while q.waiting and q.ready_count:
            call = self._pop_call(q)
            assert call is not None
            agent = self._pick(q)
            self._leave_ready(agent)
            out.append(self._assign(q, agent, call.call_id, call.tier, call.arrived_at, now))
        return out

    def remove_queue(self, name: str) -> QueueSpec:
        """Remove a queue that has no waiting calls and is no overflow target."""
        q = self._queue(name)
        if q.waiting:
            raise Conflict("Queue %(name)s has waiting calls", name=name)
        for other in self._queues.values():
            if other.spec.overflow_to == name:
                raise InvalidQueueConfig(
                    "Queue %(name)s is the overflow target of %(other)s", name=name, other=other.spec.name
                )
        for agent_id in q.eligible:
            self._serves[agent_id].remove(q)
        del self._queues[name]
        return q.spec

    # -- agents -------------------------------------------------------------------------------

    def agent(self, agent_id: int) -> Agent:
        try:
            return self._agents[agent_id]
        except KeyError:
            raise UnknownAgent(agent_id) from None

    def agents(self) -> Iterator[Agent]:
        return iter(self._agents.values())

    def serves(self, agent_id: int) -> list[str]:
        """Names of the queues the agent serves (member of, or skilled enough for)."""
        self.agent(agent_id)
        return [q.spec.name for q in self._serves[agent_id]]

    def add_agent(self, agent: Agent, now: float) -> Assignment | None:
        """Add an agent as given (state, idle_since and calls_taken included); a ready agent takes
        a waiting call at once if there is one."""
        if agent.id in self._agents:
            raise Conflict("Agent %(agent_id)s exists already", agent_id=agent.id)
        agent.state = AgentState(agent.state)
        agent.skills = dict(agent.skills)
        agent.queues = frozenset(agent.queues)
        self._agents[agent.id] = agent
        self._serves[agent.id] = []
        self._ready_epoch[agent.id] = 0
        for q in self._queues.values():
            if self._eligible(q.spec, agent):
                q.eligible.add(agent.id)
                if q.spec.strategy is Strategy.SKILL_WEIGHTED:
                    q.weights[agent.id] = self._weight(q.spec, agent)
                self._serves[agent.id].append(q)
        if agent.state is _READY:
            return self._become_ready(agent, now)
        return None

    def update_agent(
        self,
        agent_id: int,
        now: float,
        *,
        skills: Mapping[str, int] | None = None,
        queues: Iterable[str] | None = None,
    ) -> Assignment | None:
        """Change an agent's skills and/or queue memberships. A ready agent stays ready (its idle
        time is kept) and takes a waiting call of a queue it now serves, if any."""
        agent = self.agent(agent_id)
        was_ready = agent.state is _READY
        if was_ready:
            self._leave_ready(agent)
        for q in self._serves[agent_id]:
            q.eligible.discard(agent_id)
            q.weights.pop(agent_id, None)
        if skills is not None:
            agent.skills = dict(skills)
        if queues is not None:
            agent.queues = frozenset(queues)
        self._serves[agent_id] = []
        for q in self._queues.values():
            if self._eligible(q.spec, agent):
                q.eligible.add(agent_id)
                if q.spec.strategy is Strategy.SKILL_WEIGHTED:
                    q.weights[agent_id] = self._weight(q.spec, agent)
                self._serves[agent_id].append(q)
        if was_ready:
            return self._become_ready(agent, now)
        return None

    def remove_agent(self, agent_id: int) -> Agent:
        """Forget an agent (a call it is handling is not the router's business any more)."""
        agent = self.agent(agent_id)
        if agent.state is _READY:
            self._leave_ready(agent)
        for q in self._serves.pop(agent_id):
            q.eligible.discard(agent_id)
            q.weights.pop(agent_id, None)
        del self._agents[agent_id]
        del self._ready_epoch[agent_id]
        return agent

    def set_state(
        self, agent_id: int, state: AgentState | str, now: float, *, idle_since: float | None = None
    ) -> Assignment | None:
        """Move an agent to `state`. Becoming ready sets idle_since (default `now`; pass e.g. the end
        of the agent's last call to count idle time from there) and takes the best waiting call of the
        queues it serves, if any (the agent is then busy). Ready -> ready changes nothing."""
        agent = self.agent(agent_id)
        state = AgentState(state)
        if state is agent.state:
            return None
        if agent.state is _READY:
            self._leave_ready(agent)
        if state is _READY:
            agent.idle_since = now if idle_since is None else idle_since
            return self._become_ready(agent, now)
        agent.state = state
        return None

    def agent_ready(self, agent_id: int, now: float, *, idle_since: float | None = None) -> Assignment | None:
        """The agent becomes ready: `set_state(agent_id, "ready", now, idle_since=idle_since)`."""
        return self.set_state(agent_id, _READY, now, idle_since=idle_since)

    def finish(self, agent_id: int, now: float) -> Assignment | None:
        """A busy agent's call ended and the agent is ready again (no wrap-up); for wrap-up use
        `set_state(agent_id, "not_ready", now)` and later `agent_ready`."""
        agent = self.agent(agent_id)
        if agent.state is not _BUSY:
            raise AgentStateError(
                "Agent %(agent_id)s is %(state)s, not busy", agent_id=agent_id, state=agent.state.value
            )
        agent.idle_since = now
        return self._become_ready(agent, now)

    # -- calls --------------------------------------------------------------------------------

    def offer(self, call_id: str, queue: str, now: float, *, tier: str | None = None) -> Assignment | None:
        """A call arrives for `queue`: the assignment if an agent serving it is ready, else None
        and the call waits. Raises `DuplicateCall` if `call_id` is already waiting."""
        if call_id in self._calls:
            raise DuplicateCall(call_id)
        q = self._queues.get(queue)
        if q is None:
            raise UnknownQueue(queue)
        if q.ready_count:
            agent = self._pick(q)
            self._leave_ready(agent)
            return self._assign(q, agent, call_id, tier, now, now)
        self._enqueue(q, call_id, tier, now, now)
        return None

    def abandon(self, call_id: str, now: float) -> WaitingCall | None:
        """The caller hung up while waiting: the call as it waited, or None if it is not waiting."""
        call = self._calls.pop(call_id, None)
        if call is not None:
            del self._queues[call.queue].waiting[call_id]
        return call

    def call(self, call_id: str) -> WaitingCall | None:
        return self._calls.get(call_id)

    def waiting(self, queue: str) -> list[WaitingCall]:
        """The queue's waiting calls in the order they will be served."""
        q = self._queue(queue)
        return sorted(q.waiting.values(), key=lambda c: (-c.priority, c.entered_queue_at, c.seq))

    def next_deadline(self) -> float | None:
        """When the next overflow or time-out falls due (the latest useful `tick`), or None."""
        deadlines = self._deadlines
        while deadlines:
            _due, _kind, seq, call_id = deadlines[0]
            call = self._calls.get(call_id)
            if call is not None and call.seq == seq:
                return deadlines[0][0]
            heappop(deadlines)
        return None

    def tick(self, now: float) -> list[Outcome]:
        """Apply every overflow and time-out due at or before `now`, in the order they fell due."""
        out: list[Outcome] = []
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            due, kind, seq, call_id = heappop(deadlines)
            call = self._calls.get(call_id)
            if call is None or call.seq != seq:
                continue
            del self._calls[call_id]
            q = self._queues[call.queue]
            del q.waiting[call_id]
            if kind == _TIMEOUT:
                out.append(TimedOut(call, due))
                continue
            target_name = q.spec.overflow_to
            assert target_name is not None
            target = self._queues[target_name]
            out.append(Overflowed(call, target_name, due))
            if target.ready_count:
                agent = self._pick(target)
                self._leave_ready(agent)
                out.append(self._assign(target, agent, call_id, call.tier, call.arrived_at, now))
            else:
                self._enqueue(target, call_id, call.tier, call.arrived_at, due)
        return out

    # -- monitoring ---------------------------------------------------------------------------

    def snapshot(self, now: float) -> dict[str, QueueStats]:
        """Per queue: waiting calls, the longest current wait (since arrival), ready and serving agents."""
        stats = {}
        for name, q in self._queues.items():
            oldest = min((c.arrived_at for c in q.waiting.values()), default=now)
            stats[name] = QueueStats(name, len(q.waiting), now - oldest, q.ready_count, len(q.eligible))
        return stats

    # -- internals ----------------------------------------------------------------------------

    def _queue(self, name: str) -> _Queue:
        try:
            return self._queues[name]
        except KeyError:
            raise UnknownQueue(name) from None

    def _specs(self) -> dict[str, QueueSpec]:
        return {name: q.spec for name, q in self._queues.items()}

    @staticmethod
    def _eligible(spec: QueueSpec, agent: Agent) -> bool:
        return spec.name in agent.queues or spec.requires(agent.skills)

    @staticmethod
    def _weight(spec: QueueSpec, agent: Agent) -> int:
        return sum(agent.skills.get(skill, 0) for skill in spec.skills)

    def _join(self, q: _Queue, agent: Agent, *, push: bool) -> None:
        """Make `agent` serve the new queue `q` (keeping the agent's queues in name order); with
        `push`, a ready agent also enters the queue's ready index."""
        q.eligible.add(agent.id)
        if q.spec.strategy is Strategy.SKILL_WEIGHTED:
            q.weights[agent.id] = self._weight(q.spec, agent)
        serves = self._serves[agent.id]
        serves.append(q)
        serves.sort(key=lambda x: x.spec.name)
        epoch = self._ready_epoch[agent.id]
        if push and epoch:
            self._push_ready(q, agent, epoch)

    def _push_ready(self, q: _Queue, agent: Agent, epoch: int) -> None:
        strategy = q.spec.strategy
        if strategy is _RR:
            insort(q.rr, agent.id)
            q.ready_count += 1
            return
        if strategy is Strategy.LONGEST_IDLE:
            key: float = 0
        elif strategy is Strategy.FEWEST_CALLS:
            key = agent.calls_taken
        else:
            key = -q.weights[agent.id]
        heap = q.ready
        heappush(heap, (key, agent.idle_since, agent.id, epoch))
        q.ready_count += 1
        if len(heap) > 4 * q.ready_count + 32:
            live = self._ready_epoch
            heap[:] = [e for e in heap if live.get(e[2]) == e[3]]
            heapify(heap)

    def _become_ready(self, agent: Agent, now: float) -> Assignment | None:
        """`agent` (not in the ready indexes) becomes ready: take the best waiting call of the queues
        it serves, or join their ready indexes."""
        best: _CallEntry | None = None
        best_q: _Queue | None = None
        for q in self._serves[agent.id]:
            if not q.waiting:
                continue
            calls = q.calls
            waiting = q.waiting
            while True:  # drop stale entries (abandoned, timed out, overflowed)
                top = calls[0]
                live = waiting.get(top[3])
                if live is not None and live.seq == top[2]:
                    break
                heappop(calls)
            if best is None or top < best:
                best, best_q = top, q
        if best_q is not None:
            call = self._pop_call(best_q)
            assert call is not None
            return self._assign(best_q, agent, call.call_id, call.tier, call.arrived_at, now)
        self._enter_ready(agent)
        return None

    def _enter_ready(self, agent: Agent) -> None:
        """Put `agent` into the ready indexes of every queue it serves, under a fresh epoch."""
        agent.state = _READY
        epoch = next(self._epochs)
        self._ready_epoch[agent.id] = epoch
        for q in self._serves[agent.id]:
            self._push_ready(q, agent, epoch)

    def _leave_ready(self, agent: Agent) -> None:
        """Take a ready agent out of the ready indexes (heap entries go stale by epoch)."""
        agent_id = agent.id
        self._ready_epoch[agent_id] = 0
        for q in self._serves[agent_id]:
            q.ready_count -= 1
            if q.spec.strategy is _RR:
                rr = q.rr
                del rr[bisect_left(rr, agent_id)]

    def _pick(self, q: _Queue) -> Agent:
        """The ready agent the queue's strategy chooses (the queue has at least one)."""
        if q.spec.strategy is _RR:
            rr = q.rr
            i = bisect_right(rr, q.cursor)
            return self._agents[rr[i] if i < len(rr) else rr[0]]
        heap = q.ready
        live = self._ready_epoch
        while True:
            entry = heappop(heap)
            if live.get(entry[2]) == entry[3]:
                return self._agents[entry[2]]

    def _assign(
        self, q: _Queue, agent: Agent, call_id: str, tier: str | None, arrived_at: float, now: float
    ) -> Assignment:
        agent.state = _BUSY
        agent.calls_taken += 1
        if q.spec.strategy is _RR:
            q.cursor = agent.id
        return Assignment(call_id, q.spec.name, agent.id, tier, arrived_at, now)

    def _enqueue(self, q: _Queue, call_id: str, tier: str | None, arrived_at: float, entered: float) -> None:
        spec = q.spec
        seq = next(self._seq)
        priority = spec.priority(tier)
        call = WaitingCall(call_id, spec.name, tier, priority, arrived_at, entered, seq)
        self._calls[call_id] = call
        q.waiting[call_id] = call
        calls = q.calls
        heappush(calls, (-priority, entered, seq, call_id))
        if len(calls) > 2 * len(q.waiting) + 32:
            waiting = q.waiting
            calls[:] = [e for e in calls if (c := waiting.get(e[3])) is not None and c.seq == e[2]]
            heapify(calls)
        deadlines = self._deadlines
        if spec.max_wait is not None:
            heappush(deadlines, (max(arrived_at + spec.max_wait, entered), _TIMEOUT, seq, call_id))
        if spec.overflow_after is not None:
            heappush(deadlines, (entered + spec.overflow_after, _OVERFLOW, seq, call_id))
        if len(deadlines) > 4 * len(self._calls) + 64:
            live = self._calls
            deadlines[:] = [d for d in deadlines if (c := live.get(d[3])) is not None and c.seq == d[2]]
            heapify(deadlines)

    def _pop_call(self, q: _Queue) -> WaitingCall | None:
        """Remove and return the queue's next call to serve (None if it has none)."""
        calls = q.calls
        waiting = q.waiting
        while calls:
            _p, _e, seq, call_id = heappop(calls)
            call = waiting.get(call_id)
            if call is not None and call.seq == seq:
                del waiting[call_id]
                del self._calls[call_id]
                return call
        return None
