"""SpiffWorkflow's expression hooks, pointed at kefu's restricted evaluator; scripts always refused.

SpiffWorkflow evaluates conditions, timers, completion conditions and cardinalities through the
workflow's script engine (most call sites) or directly through its environment (process-level
conditions, message correlation). Both are replaced here, so nothing in a flow reaches Python's
`eval`/`exec` even if validation were bypassed.

Timers: kefu's clock decides when a timer is due and when it fires. `KefuDurationTimer` and
`KefuDateTimer` compute the due instant once, from the engine's clock, when the timer is armed, and
fire only when the runtime marks them (`Instance.fire_due_timers(now)`) — never on the wall clock
behind kefu's back, so frozen clocks in tests and a paused flow behave.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment, PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)

from kefu.core import clock
from kefu.workflow.engine import safe_eval

SCRIPT_REFUSED = "Scripts are not allowed in kefu flows"


class ScriptRefused(RuntimeError):
    """Something asked the engine to run code; kefu flows never do."""


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates through `safe_eval`; `execute` and `call_service` always refuse."""

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        names: Mapping[str, Any] = ChainMap(context, external_context) if external_context else context
        return safe_eval.evaluate(expression, names)

    def execute(self, script: str, context: Any, external_context: Any = None) -> bool:
        raise ScriptRefused(SCRIPT_REFUSED)

    def call_service(self, context: Any, **kwargs: Any) -> Any:
        raise ScriptRefused(SCRIPT_REFUSED)


class RestrictedScriptEngine(PythonScriptEngine):
    """The script engine of every kefu workflow.

    `evaluate` goes through the restricted evaluator; `execute` (script tasks, pre/post scripts) and
    `call_service` raise. `now` is the clock timers are armed with (kefu's clock by default).
    """

    def __init__(self, now: Callable[[], datetime] = clock.now) -> None:
        super().__init__(environment=RestrictedEnvironment())
        self.now = now

    def validate(self, expression: str) -> None:
        problem = safe_eval.check_expression(expression)
        if problem is not None:
            raise safe_eval.ExpressionError(problem)

    def execute(self, task: Any, script: str, external_context: Any = None) -> bool:
        raise WorkflowTaskException(SCRIPT_REFUSED, task=task)

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        raise WorkflowTaskException(SCRIPT_REFUSED, task=task)


def engine_now(task: Any) -> datetime:
    """The clock of the engine running `task` (kefu's clock when the workflow has another engine)."""
    now = getattr(task.workflow.top_workflow.script_engine, "now", clock.now)
    return now()


def parse_due_date(value: object) -> datetime:
    """An aware instant from an ISO-8601 date-time text; naive values are in the deployment's time zone."""
    if not isinstance(value, str):
        raise ValueError(f"a timer date must be an ISO-8601 text, not {type(value).__name__}")
    due = datetime.fromisoformat(value)
    return due if due.tzinfo is not None else due.replace(tzinfo=clock.local_tz())


def duration_from(value: object, start: datetime) -> timedelta:
    """The length of ISO-8601 duration text `value` counted from `start` (months have their real lengths)."""
    if not isinstance(value, str):
        raise ValueError(f"a timer duration must be an ISO-8601 text, not {type(value).__name__}")
    return TimerEventDefinition.get_timedelta_from_start(
        TimerEventDefinition.parse_iso_duration(value), start
    )


class _KefuTimerMixin:
    """Arms once with the engine's clock (due instant in `event_value`); fires only when marked fired."""

    expression: str

    def has_fired(self, my_task: Any) -> bool:
        if my_task._get_internal_data("event_value") is None:
            value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            try:
                due = self.due_from(value, engine_now(my_task))
            except ValueError as exc:
                raise WorkflowTaskException(f"Invalid timer value {value!r}: {exc}", task=my_task) from None
            my_task._set_internal_data(event_value=due.isoformat())
        return bool(my_task._get_internal_data("event_fired", False))

    def due_from(self, value: object, now: datetime) -> datetime:
        """The due instant for the evaluated timer `value`; each concrete timer below defines it."""
        raise TypeError(f"{type(self).__name__} must define due_from")


class KefuDurationTimer(_KefuTimerMixin, DurationTimerEventDefinition):
    """`timeDuration`: due = the engine's clock when the timer is armed + the duration."""

    def due_from(self, value: object, now: datetime) -> datetime:
        return now + duration_from(value, now)


class KefuDateTimer(_KefuTimerMixin, TimeDateEventDefinition):
    """`timeDate`: due at the given instant."""

    def due_from(self, value: object, now: datetime) -> datetime:
        return parse_due_date(value)


KEFU_TIMERS: dict[type, type] = {
    DurationTimerEventDefinition: KefuDurationTimer,
    TimeDateEventDefinition: KefuDateTimer,
}


def adopt_timers(task_specs: Any) -> None:
    """Swap SpiffWorkflow's wall-clock timers for kefu's in freshly parsed task specs (in place)."""
    for task_spec in task_specs:
        definition = getattr(task_spec, "event_definition", None)
        replacement = KEFU_TIMERS.get(type(definition))
        if replacement is not None:
            definition.__class__ = replacement
