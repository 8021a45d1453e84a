"""Running flows: `Engine.start` / `Engine.restore` give an `Instance`; one step is restore → complete → dump.

An instance is SpiffWorkflow's workflow of one ticket. Its state (`dump()`) holds no spec: the spec
JSON is stored once per template version and passed in again on restore (`spec.load_spec` caches
it). Instances are not thread-safe, and two concurrent steps on one ticket lose one of them: the
caller serializes steps per ticket (row lock or version column).

Routing data: completing a task stores the chosen state as `kefu_state` in the task data (WF-3).
Names starting with `kefu_` are kefu's own and cannot be passed in as data.

Countersign participants (WF-5): given a `participants` source (node settings → participant list),
the engine fills a countersign's collection at the moment the flow enters it — just before the task
leading into it completes — so a countersign always starts with the people its rules name then. A
collection the caller passed in as data is kept as given; the names the engine filled itself are
remembered in the workflow data (`kefu_auto_participants`), so a later entry (a loop back, a return)
asks the source again. Without a source, the collection is read from the data as it is.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from kefu.core import clock
from kefu.workflow.engine import countersign
from kefu.workflow.engine.model import HUMAN_KINDS, NodeSettings
from kefu.workflow.engine.scripting import RestrictedScriptEngine
from kefu.workflow.engine.spec import COUNTERSIGN_DECIDED, SERIALIZER, LoadedSpec, load_spec

__all__ = ["Engine", "Instance", "ParticipantSource", "ReadyTask"]

# The participants of a countersign about to be entered, asked when it is entered (e.g. a query).
ParticipantSource = Callable[[NodeSettings], list[Any]]

STATE_KEY = "kefu_state"
RESERVED_PREFIX = "kefu_"
_TRAIL = "kefu_trail"
_SPEC_DIGEST = "kefu_spec"
_AUTO = "kefu_auto_participants"  # collections the engine filled from the participant source
_WORKFLOW_ONLY = (_TRAIL, _AUTO, "data_objects")


@dataclass(frozen=True)
class ReadyTask:
    """A task waiting for a person: `task_id` is stable across dump/restore until the task completes.

    For a multi-instance (countersign) task, `instance_index` is the participant's position in the
    collection and `participant` the collection item; both are None for ordinary tasks.
    """

    task_id: str
    node_id: str
    name: str
    lane: str | None
    states: tuple[str, ...]
    data: dict[str, Any] = field(repr=False)
    instance_index: Any = None
    participant: Any = None


class Engine:
    """Starts and restores instances; `now` is the clock timers are armed with (kefu's clock by default)."""

    def __init__(self, *, now: Callable[[], datetime] = clock.now) -> None:
        self.now = now

    def start(
        self,
        spec_json: str,
        data: Mapping[str, Any] | None = None,
        *,
        participants: ParticipantSource | None = None,
    ) -> Instance:
        """A new instance of the flow, run up to its first waiting tasks; `data` is the initial task data.

        `participants` fills the collection of each countersign the flow enters that `data` does not
        give (see the module). `countersign.NoParticipants` if the flow would enter a countersign
        with nobody to sign.
        """
        loaded = load_spec(spec_json)
        initial = dict(data or {})
        _check_data(initial)
        workflow = BpmnWorkflow(
            loaded.spec, loaded.subprocess_specs, script_engine=RestrictedScriptEngine(self.now)
        )
        workflow.task_tree.data.update(copy.deepcopy(initial))
        workflow.data[_TRAIL] = []
        instance = Instance(loaded, workflow, participants=participants)
        instance._run_engine()
        return instance

    def restore(
        self, spec_json: str, state_json: str, *, participants: ParticipantSource | None = None
    ) -> Instance:
        """The instance saved by `Instance.dump()`; ValueError if it was saved with another spec.

        `participants`: as for `start`, for the steps taken on the restored instance."""
        loaded = load_spec(spec_json)
        state = json.loads(state_json)
        if state.pop(_SPEC_DIGEST, None) != loaded.digest:
            raise ValueError("the instance state belongs to another flow spec")
        if state.pop(SERIALIZER.VERSION_KEY, None) != SERIALIZER.VERSION:
            raise ValueError("the instance state was saved by another serializer version")
        workflow = SERIALIZER.from_dict(
            state,
            spec=loaded.spec,
            subprocess_specs=loaded.subprocess_specs,
            script_engine=RestrictedScriptEngine(self.now),
        )
        return Instance(loaded, workflow, participants=participants)


class Instance:
    """One running flow. Mutating methods run the engine to the next waiting point before returning.

    Each of them raises `countersign.NoParticipants` when the flow would enter a countersign with
    nobody in its collection; the instance is then mid-step and must be discarded.
    """

    def __init__(
        self, loaded: LoadedSpec, workflow: BpmnWorkflow, *, participants: ParticipantSource | None = None
    ) -> None:
        self.spec = loaded
        self.workflow = workflow
        self.participants = participants

    # -- reading ---------------------------------------------------------------------------------

    @property
    def is_completed(self) -> bool:
        """The flow reached its end (an end event, or a terminate end event)."""
        return bool(self.workflow.completed and self.workflow.success)

    @property
    def is_cancelled(self) -> bool:
        return bool(self.workflow.completed and not self.workflow.success)

    @property
    def data(self) -> dict[str, Any]:
        """The data of the flow: at the end, the final data; before, that of the latest ready task."""
        if self.workflow.completed:
            return {k: v for k, v in self.workflow.data.items() if k not in _WORKFLOW_ONLY}
        ready = self._ready()
        return dict(ready[-1].data) if ready else {}

    def ready_tasks(self) -> list[ReadyTask]:
        """Tasks waiting for a person, in the flow's order."""
        return [self._describe(task) for task in self._ready()]

    def history(self) -> list[str]:
        """Node ids completed so far, in order (returns and loops included), for the tracking view."""
        return list(self.workflow.data.get(_TRAIL, []))

    def waiting_timers(self) -> list[tuple[str, datetime]]:
        """Armed timers as (node id, due instant); the caller stores the earliest due instant."""
        timers = []
        for task in self._timer_tasks():
            due = task.internal_data.get("event_value")
            if isinstance(due, str):
                timers.append((task.task_spec.bpmn_id, datetime.fromisoformat(due)))
        return sorted(timers, key=lambda t: t[1])

    def node(self, node_id: str) -> NodeSettings:
        return self.spec.nodes[node_id]

    # -- changing --------------------------------------------------------------------------------

    def complete(
        self,
        task_id: str,
        *,
        state: str,
        data: Mapping[str, Any] | None = None,
        opinion: str | None = None,
    ) -> None:
        """Complete a ready task with one of its node's states and run the flow on.

        `data` is merged into the task data; `state` becomes `kefu_state`. For a countersign
        instance, `opinion` is recorded with the vote (other nodes keep opinions in the ticket).
        ValueError if the task is not ready, the state is not one of the node's, or data uses a
        reserved name; `countersign.NoParticipants` if the flow would go on into a countersign with
        nobody in its collection (then discard this instance: the stored state is still the valid one).
        """
        task = self._ready_task(task_id)
        node = self.spec.nodes[task.task_spec.bpmn_id]
        if state not in node.state_codes:
            raise ValueError(
                f"{state!r} is not a state of node {node.node_id!r} (states: {', '.join(node.state_codes)})"
            )
        updates = dict(data or {})
        _check_data(updates)
        self._given(updates)
        task.data.update(copy.deepcopy(updates))
        task.data[STATE_KEY] = state
        wrapper = task.parent if isinstance(task.parent.task_spec, MultiInstanceTask) else None
        outcome, votes = None, []
        if wrapper is not None:
            item = wrapper.task_spec.input_item
            participant = task.data.pop(item.bpmn_id, None) if item is not None else None
            if node.countersign is not None:
                votes = countersign.cast(task, participant=participant, state=state, opinion=opinion)
                total = countersign.participants_total(wrapper)
                outcome = countersign.decide(node.countersign, node.state_codes, votes, total)
                task.data[COUNTERSIGN_DECIDED] = outcome is not None
        self._fill_participants(task)
        task.run()
        if wrapper is None:
            self._trail(task)
        elif outcome is not None and wrapper.state == TaskState.READY:
            countersign.record(wrapper, node.node_id, outcome, votes)
            wrapper.data.pop(COUNTERSIGN_DECIDED, None)
        self._run_engine()

    def fire_due_timers(self, now: datetime) -> list[str]:
        """Fire every armed timer due at or before `now` (aware); the node ids of the fired timers."""
        fired = []
        for task in self._timer_tasks():
            due = task.internal_data.get("event_value")
            if isinstance(due, str) and datetime.fromisoformat(due) <= now:
                task._set_internal_data(event_fired=True)
                fired.append(task.task_spec.bpmn_id)
        if fired:
            self.workflow.refresh_timers()
            self._run_engine()
        return fired

    def return_to(self, node_id: str, *, data: Mapping[str, Any] | None = None) -> None:
        """Move the flow back to the latest completed task of user-task node `node_id` (退回).

        The tasks after it are dropped (pending timers included) and it becomes ready again with the
        current data (the data of the ready tasks, then `data`). A countersign node starts a new
        round with the participants in its collection (asked from the participant source again unless
        the caller gave the collection). ValueError if the flow has ended or the node is not a user
        task that was completed before.
        """
        if self.workflow.completed:
            raise ValueError("the flow has ended")
        node = self.spec.nodes.get(node_id)
        if node is None or node.kind not in HUMAN_KINDS:
            raise ValueError(f"{node_id!r} is not a user task of this flow")
        done = [t for t in self.workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.name == node_id]
        if not done:
            raise ValueError(f"{node_id!r} has not been completed, the flow cannot return to it")
        updates = dict(data or {})
        _check_data(updates)
        self._given(updates)
        target = max(done, key=lambda t: t.last_state_change)
        merged = copy.deepcopy(target.parent.data)
        for task in self._ready():
            merged.update(copy.deepcopy(task.data))
        merged.update(copy.deepcopy(updates))
        for key in (STATE_KEY, COUNTERSIGN_DECIDED):
            merged.pop(key, None)
        collection = node.countersign.collection if node.countersign is not None else None
        if collection:
            self._refresh_participants(merged, node)
            if collection in merged:
                # The countersign merges the data of the task before it over this (lists as a union).
                target.parent.data[collection] = copy.deepcopy(merged[collection])
        self.workflow.reset_from_task_id(target.id, data=merged)
        self._run_engine()

    def cancel(self) -> None:
        """End the flow without completing it (the ticket was withdrawn); pending timers go with it."""
        self.workflow.cancel()
        self._forget_removed_waiters()

    def dump(self) -> str:
        """The instance state as JSON, without the spec (store it with the ticket)."""
        state = SERIALIZER.to_dict(self.workflow)
        state[SERIALIZER.VERSION_KEY] = SERIALIZER.VERSION
        state[_SPEC_DIGEST] = self.spec.digest
        return json.dumps(state, ensure_ascii=False, separators=(",", ":"), default=_json_default)

    # -- internals -------------------------------------------------------------------------------

    def _ready(self) -> list[Any]:
        return self.workflow.get_tasks(state=TaskState.READY, manual=True)

    def _ready_task(self, task_id: str) -> Any:
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except (ValueError, TypeError, TaskNotFoundException):
            task = None
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise ValueError(f"task {task_id!r} is not ready")
        return task

    def _describe(self, task: Any) -> ReadyTask:
        node = self.spec.nodes[task.task_spec.bpmn_id]
        index = participant = None
        if isinstance(task.parent.task_spec, MultiInstanceTask):
            index = task.internal_data.get("key_or_index", task.internal_data.get("item"))
            item = task.parent.task_spec.input_item
            participant = task.data.get(item.bpmn_id) if item is not None else None
        return ReadyTask(
            task_id=str(task.id),
            node_id=node.node_id,
            name=node.name,
            lane=task.task_spec.lane,
            states=node.state_codes,
            data=copy.deepcopy(task.data),
            instance_index=index,
            participant=participant,
        )

    def _timer_tasks(self) -> list[Any]:
        return [
            t
            for t in self.workflow.event_manager.tasks.values()
            if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)
        ]

    def _run_engine(self) -> None:
        self._forget_removed_waiters()
        self.workflow.do_engine_steps(will_complete_task=self._will_complete, did_complete_task=self._trail)
        self._forget_removed_waiters()

    def _will_complete(self, task: Any) -> None:
        self._refuse_empty_countersign(task)
        self._fill_participants(task)

    def _given(self, data: Mapping[str, Any]) -> None:
        # A collection the caller passes in is theirs from now on: no longer refilled on entry.
        auto = self.workflow.data.get(_AUTO)
        if auto:
            self.workflow.data[_AUTO] = [name for name in auto if name not in data]

    def _fill_participants(self, task: Any) -> None:
        """`task` is about to complete: the countersigns it leads into get their participants now."""
        if self.participants is None:
            return
        for spec in task.task_spec.outputs:
            if isinstance(spec, MultiInstanceTask):
                node = self.spec.nodes.get(spec.bpmn_id)
                if node is not None and node.countersign is not None:
                    self._refresh_participants(task.data, node)

    def _refresh_participants(self, data: dict[str, Any], node: NodeSettings) -> None:
        rule = node.countersign
        if self.participants is None or rule is None or not rule.collection:
            return
        name = rule.collection
        auto = self.workflow.data.setdefault(_AUTO, [])
        if name in data and name not in auto:
            return  # the caller's list (or one filled before sources existed): kept as given
        data[name] = list(self.participants(node))
        if name not in auto:
            auto.append(name)

    def _refuse_empty_countersign(self, task: Any) -> None:
        # A multi-instance task over an empty collection is ready to complete as soon as it is
        # reached; for a countersign that would decide on an empty tally. Stop before it runs.
        spec = task.task_spec
        if not isinstance(spec, MultiInstanceTask):
            return
        node = self.spec.nodes.get(spec.bpmn_id)
        if node is not None and node.countersign is not None and countersign.participants_total(task) == 0:
            raise countersign.NoParticipants(node.node_id, node.name)

    def _trail(self, task: Any) -> None:
        spec = task.task_spec
        if spec.bpmn_id is not None and spec.name == spec.bpmn_id:
            self.workflow.data.setdefault(_TRAIL, []).append(spec.bpmn_id)

    def _forget_removed_waiters(self) -> None:
        # SpiffWorkflow keeps waiting events of tasks a reset or a cancel removed from the tree; a
        # later timer refresh would then touch a task without parent. Drop them.
        manager = self.workflow.event_manager
        live = {id(self.workflow), *(id(sub) for sub in self.workflow.subprocesses.values())}
        for task_id, task in list(manager.tasks.items()):
            removed = id(task.workflow) not in live or task_id not in task.workflow.tasks
            if removed or task.has_state(TaskState.FINISHED_MASK):
                manager.remove_task(task)


def _check_data(data: Mapping[str, Any]) -> None:
    for key in data:
        if not isinstance(key, str) or not key or key.startswith(RESERVED_PREFIX):
            raise ValueError(
                f"data name {key!r} is not allowed (names starting with {RESERVED_PREFIX!r} are kefu's)"
            )


def _json_default(value: Any) -> Any:
    if isinstance(value, set | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
