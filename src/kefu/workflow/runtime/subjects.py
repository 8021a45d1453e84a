"""What the runtime knows about the subjects flows run on (tickets, later other domains).

A domain registers its subject type once at import: where a task of it is handled (the link in
personal messages), how it is named in messages, and a hook that runs in the same transaction after
every step, so the subject can keep its own summary (a ticket's stage and handler) in line with the
flow — also for steps nobody asked for, such as a time-limit escalation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from kefu.workflow.runtime.models import FlowInstance, FlowTask


@dataclass(frozen=True)
class Subject:
    type: str
    link: Callable[[FlowTask], str]
    label: Callable[[Session, FlowInstance], str]
    # Called after every step with the instance's active tasks when the step knows them (else None).
    on_change: Callable[[Session, FlowInstance, list[FlowTask] | None], None] | None = None
    # Workflow permission → the domain permission that grants the same on this subject's flows.
    permissions: Mapping[str, str] = field(default_factory=dict)


_SUBJECTS: dict[str, Subject] = {}


def register(subject: Subject) -> Subject:
    _SUBJECTS[subject.type] = subject
    return subject


def get(subject_type: str) -> Subject | None:
    return _SUBJECTS.get(subject_type)


def task_link(task: FlowTask) -> str:
    found = _SUBJECTS.get(task.instance.subject_type)
    return found.link(task) if found is not None else f"/workflow/tasks/{task.id}"


def label(session: Session, instance: FlowInstance) -> str:
    found = _SUBJECTS.get(instance.subject_type)
    return found.label(session, instance) if found is not None else instance.label


def changed(session: Session, instance: FlowInstance, active: list[FlowTask] | None = None) -> None:
    """Run the subject's hook after a step (in the step's transaction)."""
    found = _SUBJECTS.get(instance.subject_type)
    if found is not None and found.on_change is not None:
        found.on_change(session, instance, active)
