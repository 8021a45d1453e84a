"""Between the engine and the database: restore an instance, run one engine call, persist the result.

After every engine call `persist` stores `dump()`, turns newly ready engine tasks into `FlowTask`
rows (with candidates and assignment), cancels the rows whose engine task vanished (countersign
losers, a return, a cancel), records the earliest BPMN timer, and flushes — a concurrent step on
the same instance then fails with 409 (`lock_version`) instead of overwriting it.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kefu.core import clock, events
from kefu.core.errors import Conflict, FieldError
from kefu.core.permissions import Actor
from kefu.workflow.engine import Engine, Instance, NodeSettings, NoParticipants, ParticipantSource, ReadyTask
from kefu.workflow.runtime import assignment, limits, messages, subjects
from kefu.workflow.runtime.models import (
    ACTIVE_TASK,
    EventAction,
    FlowEvent,
    FlowInstance,
    FlowTask,
    FlowTaskCandidate,
    InstanceStatus,
    TaskStatus,
)

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

ENGINE = Engine()
TASK_CREATED = "workflow.task.created"
INSTANCE_FINISHED = "workflow.instance.finished"


def restore(instance: FlowInstance, session: Session | None = None) -> Instance:
    """The engine instance of a stored flow instance (the spec comes from its version, cached).

    With `session`, a step taken on it fills the participants of each countersign it enters from
    the node's rules at that moment (see `participants`); without, the instance is for reading."""
    source = participants(session, instance) if session is not None else None
    try:
        return ENGINE.restore(_spec_json(instance), instance.state_json, participants=source)
    except ValueError:
        # The cached spec was not this instance's (a version id reused after a rollback): read it again.
        with _SPECS_LOCK:
            _SPECS.pop(instance.version_id, None)
        return ENGINE.restore(instance.version.spec_json, instance.state_json, participants=source)


def participants(session: Session, instance: FlowInstance) -> ParticipantSource:
    """The participant source of a step (WF-5): a countersign's candidates (all of them) when the
    flow enters it — one query per countersign entered, none for a step that enters none."""

    def source(node: NodeSettings) -> list[Any]:
        return list(assignment.candidates(session, node=node, instance=instance))

    return source


_SPECS: OrderedDict[int, str] = OrderedDict()
_SPECS_LOCK = threading.Lock()
SPEC_CACHE_SIZE = 64


def _spec_json(instance: FlowInstance) -> str:
    # A published version never changes (a new version is a new row), so its spec is read once per
    # process instead of with every step. The engine checks the spec's digest against the state.
    with _SPECS_LOCK:
        cached = _SPECS.get(instance.version_id)
        if cached is not None:
            _SPECS.move_to_end(instance.version_id)
            return cached
    spec_json = instance.version.spec_json
    with _SPECS_LOCK:
        _SPECS[instance.version_id] = spec_json
        while len(_SPECS) > SPEC_CACHE_SIZE:
            _SPECS.popitem(last=False)
    return spec_json


class Refused(Conflict):
    """The flow cannot go on from where it is (a 409): trying the same step again changes nothing
    until the flow's people or data change — unlike a step that met a concurrent one."""


def run(step: Callable[[], Any]) -> Any:
    """Run one engine call; a flow that cannot go on (a gateway without a matching condition,
    a countersign without participants) is a 409 naming the reason (`Refused`), not a server error.

    The services write nothing of a step before its engine call succeeds, and the unit of work is
    rolled back on the error: a refused step leaves nothing behind (the preceding task stays open,
    no history, no audit, the stored engine state unchanged)."""
    try:
        return step()
    except (FieldError, Conflict, SQLAlchemyError):
        raise  # a database error (the participant source queries mid-step) is not the flow's fault
    except NoParticipants as exc:
        # Exception path (WF-9): a countersign is never decided on an empty tally.
        log.info("engine step refused: %s", exc)
        raise Refused(
            "The countersign %(name)s has no participants: no active user matches its assignment "
            "rules, so the flow cannot go on to it. Nothing was saved.",
            name=exc.name,
            node=exc.node_id,
        ) from None
    except Exception as exc:
        log.warning("engine step failed: %s", exc, exc_info=True)
        raise Refused("The flow cannot go on: %(reason)s", reason=str(exc)) from exc


def check_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Task data from a caller: names starting with `kefu_` are the runtime's own."""
    for key in data:
        if not isinstance(key, str) or not key or key.startswith("kefu_"):
            raise FieldError("data", "Data names starting with kefu_ are reserved: %(name)s", name=str(key))
    return dict(data)


def countersign_data(
    session: Session, *, nodes: Mapping[str, NodeSettings], supplied: Mapping[str, Any]
) -> dict[str, Any]:
    """Participant lists a caller supplies for countersigns ahead (WF-5), checked: ids of active
    users. The flow keeps such a list as given; a countersign whose list nobody supplied gets its
    candidates when it is entered (`participants`). No query unless a list is supplied."""
    extra: dict[str, Any] = {}
    for node in nodes.values():
        rule = node.countersign
        if rule is None or not rule.collection or rule.collection not in supplied:
            continue
        name = rule.collection
        value = supplied[name]
        ids = assignment.active_user_ids(session, value) if isinstance(value, list) else []
        if not ids or len(ids) != len(set(map(str, value))):
            raise FieldError("data", "%(name)s must list the ids of active users", name=name)
        extra[name] = ids
    return extra


_EVENT_BLANK: dict[str, Any] = {
    "user_id": None,
    "previous_user_id": None,
    "department_id": None,
    "state": None,
    "comment": "",
}


def event(
    session: Session,
    instance: FlowInstance,
    action: EventAction,
    *,
    actor: Actor | None,
    task: FlowTask | None = None,
    node_id: str = "",
    add: bool = True,
    **values: Any,
) -> FlowEvent:
    """A history row; `add=False` leaves adding it to the caller (`persist(recorded=...)`)."""
    # Every column set, so the rows of one flush have the same shape and go in one insert.
    values = {**_EVENT_BLANK, **values}
    row = FlowEvent(
        instance_id=instance.id,
        task_id=task.id if task is not None else None,
        task=task,  # sets task_id at the flush also for a task inserted by the same flush
        node_id=task.node_id if task is not None else node_id,
        action=action,
        actor_id=actor.user.id if actor is not None else None,
        at=clock.now(),
        **values,
    )
    if add:
        session.add(row)
    return row


def active_tasks(session: Session, instance: FlowInstance) -> list[FlowTask]:
    stmt = select(FlowTask).where(FlowTask.instance_id == instance.id, FlowTask.status.in_(ACTIVE_TASK))
    return list(session.scalars(stmt.order_by(FlowTask.id)))


def persist(
    session: Session,
    instance: FlowInstance,
    flow: Instance,
    *,
    actor: Actor | None,
    prefer: Mapping[str, int | None] | None = None,
    fresh: bool = False,
    active: list[FlowTask] | None = None,
    recorded: Sequence[FlowEvent] = (),
) -> list[FlowTask]:
    """Store the engine's state and bring the task rows in line with its ready tasks; the new rows.

    `prefer` maps node ids to a user who takes that node's new task directly (a return goes back
    to the person who handled the node before). `fresh`: the instance was just inserted with its
    state (`store_state`), so it has no tasks and no history yet. `active`: the instance's open task
    rows as the caller knows them (completing the only open task leaves none), read otherwise.
    `recorded`: history rows of the step not yet added; they go before those of the new tasks.

    The new tasks, their history and the instance's state are written by one flush at the end (one
    insert per table); the messages about the new tasks follow it and are written with the commit.
    """
    now = clock.now()
    ready = {r.task_id: r for r in flow.ready_tasks()}
    kept: list[FlowTask] = []
    if not fresh:
        store_state(instance, flow)
        if active is None:
            session.add_all(recorded)
            recorded = ()
            flush(session)  # first write of the step: a concurrent step on this instance stops here (409)
            active = active_tasks(session, instance)
        # else the next query's autoflush or the final flush writes the state: a stale one is a 409 there.
        for task in active:
            if task.task_id in ready:
                ready.pop(task.task_id)
                kept.append(task)
            else:
                task.status = TaskStatus.CANCELLED
                task.completed_at = now
                event(session, instance, EventAction.CANCELLED, actor=actor, task=task)
    # Countersign completions are votes, not trail entries: ask the history for those nodes too.
    revisited = () if fresh else [*flow.history(), *(n for n, s in flow.spec.nodes.items() if s.countersign)]
    handled = _Handlers(session, instance, revisited, pending=recorded)
    opened = [
        _open_task(
            session, instance, r, flow.node(r.node_id), actor=actor, prefer=prefer or {}, handled=handled
        )
        for r in ready.values()
    ]
    session.add_all(recorded)
    for new in opened:
        new.record()
    if flow.is_completed or flow.is_cancelled:
        instance.status = InstanceStatus.COMPLETED if flow.is_completed else InstanceStatus.CANCELLED
        instance.completed_at = now
        instance.next_timer_at = None
        if flow.is_completed:
            event(session, instance, EventAction.FINISHED, actor=actor)
        events.on_commit(
            session,
            events.Event(
                type=INSTANCE_FINISHED,
                data={
                    "id": instance.id,
                    "subject_type": instance.subject_type,
                    "subject_id": instance.subject_id,
                    "status": instance.status.value,
                },
                audience=(),
            ),
        )
    created = [new.task for new in opened]
    flush(session, instance, active=[*kept, *created])
    for new in opened:
        new.tell()
    return created


def store_state(instance: FlowInstance, flow: Instance) -> None:
    """The engine's state and the next timer, on the instance row."""
    instance.state_json = flow.dump()
    timers = flow.waiting_timers()
    instance.next_timer_at = timers[0][1] if timers else None


class _Handlers:
    """Who completed each node last in this instance (people only), read from the history when a node
    that was completed before is entered again, so a first visit costs no query."""

    def __init__(
        self,
        session: Session,
        instance: FlowInstance,
        completed: Iterable[str],
        *,
        pending: Sequence[FlowEvent] = (),
    ) -> None:
        self._session = session
        self._instance = instance
        self._completed = set(completed)
        self._pending = pending  # this step's history, not written yet
        self._last: dict[str, int] | None = None

    def get(self, node_id: str) -> int | None:
        if node_id not in self._completed:
            return None
        if self._last is None:
            rows = self._session.execute(
                select(FlowEvent.node_id, FlowEvent.actor_id)
                .where(
                    FlowEvent.instance_id == self._instance.id,
                    FlowEvent.action == EventAction.COMPLETED,
                    FlowEvent.actor_id.is_not(None),
                )
                .order_by(FlowEvent.id)
            ).tuples()
            self._last = {node: actor for node, actor in rows if actor is not None}
            for row in self._pending:
                if row.action is EventAction.COMPLETED and row.actor_id is not None:
                    self._last[row.node_id] = row.actor_id
        return self._last.get(node_id)


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """A service step whose stale write (also one an autoflush makes) becomes a 409."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except StaleDataError:
            raise Conflict("Someone else changed this flow meanwhile; reload and try again") from None

    return wrapper


def flush(
    session: Session, instance: FlowInstance | None = None, *, active: list[FlowTask] | None = None
) -> None:
    """Flush; a row changed meanwhile by someone else becomes a 409 (nothing is half-written).

    With `instance`, the step on it is done: its subject's hook runs (see `subjects`), given the
    instance's active tasks when the caller knows them (`active`)."""
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("Someone else changed this flow meanwhile; reload and try again") from None
    if instance is not None:
        subjects.changed(
            session, instance, sorted(active, key=lambda t: t.id) if active is not None else None
        )


@dataclass
class _Opened:
    """A new task row (not yet flushed), what to add to the history with it, and whom to tell after."""

    task: FlowTask
    record: Callable[[], None]
    tell: Callable[[], None]


def _open_task(
    session: Session,
    instance: FlowInstance,
    ready: ReadyTask,
    node: NodeSettings,
    *,
    actor: Actor | None,
    prefer: Mapping[str, int | None],
    handled: _Handlers,
) -> _Opened:
    now = clock.now()
    due, warn = limits.due_and_warning(session, start=now, limit=node.limit, warn_at=node.warn_at)
    task = FlowTask(
        instance_id=instance.id,
        task_id=ready.task_id,
        node_id=ready.node_id,
        name=ready.name[:200],
        dispatch=node.dispatch or "auto",
        status=TaskStatus.OPEN,
        created_at=now,
        due_at=due,
        warn_at=warn,
    )
    assignee: int | None = None
    department: int | None = None
    if node.countersign is not None and ready.participant is not None:
        cands = assignment.active_user_ids(session, [ready.participant])
        task.participant = cands[0] if cands else None
        assignee = task.participant
        department = assignment.user_department(session, assignee)
    else:
        found = assignment.ranked(session, node=node, instance=instance)
        cands = [c.user_id for c in found]
        preferred = prefer.get(ready.node_id)
        if preferred is None and task.dispatch == "auto":
            # An auto node entered again (a review sent it back, a loop) goes to its last handler.
            preferred = handled.get(ready.node_id)
        chosen = assignment.least_loaded(found) if task.dispatch == "auto" else None
        if preferred is not None and assignment.active_user_ids(session, [preferred]):
            assignee, department = preferred, assignment.user_department(session, preferred)
        elif chosen is not None:
            assignee, department = chosen.user_id, chosen.department_id
    task.candidates = [FlowTaskCandidate(user_id=u) for u in cands]
    task.assignee_id = assignee
    if assignee is None:
        department = assignment.home_department(session, node=node, instance=instance)
    task.department_id = department
    # Whom to tell, decided now (the lookups may flush); told once the task has its id.
    tell: Callable[[], None]
    if assignee is not None:
        tell = functools.partial(messages.assigned, session, task, sender=actor)
    elif not cands:
        # Exception path (WF-9): nobody qualifies; the initiator's supervisor has to step in.
        supervisor = assignment.department_supervisor(session, instance.initiator_department_id)
        tell = functools.partial(messages.no_candidates, session, task, supervisor, sender=actor)
    elif task.dispatch == "grab":
        tell = functools.partial(messages.in_pool, session, task, cands, sender=actor)
    else:
        supervisor = assignment.department_supervisor(session, task.department_id)
        tell = functools.partial(messages.needs_dispatch, session, task, supervisor, sender=actor)
    session.add(task)

    def record() -> None:
        if assignee is not None:
            event(session, instance, EventAction.ASSIGNED, actor=actor, task=task, user_id=assignee)

    def announce() -> None:
        tell()
        events.on_commit(
            session,
            events.Event(
                type=TASK_CREATED,
                data={
                    "id": task.id,
                    "instance_id": instance.id,
                    "node_id": task.node_id,
                    "subject_type": instance.subject_type,
                    "subject_id": instance.subject_id,
                },
                audience=(),
            ),
        )

    return _Opened(task, record, announce)
