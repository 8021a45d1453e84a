"""The personal messages the runtime sends (via `notices.notify`), each linking to the task page."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from kefu.core import i18n
from kefu.core.permissions import Actor
from kefu.notices.service import notify
from kefu.workflow.runtime import subjects
from kefu.workflow.runtime.models import FlowTask

KIND = "workflow"


def task_link(task: FlowTask) -> str:
    return subjects.task_link(task)


def _send(
    session: Session,
    task: FlowTask,
    user_ids: Iterable[int | None],
    title: str,
    *,
    sender: Actor | None,
    body: str | None = None,
) -> None:
    recipients = [u for u in user_ids if u is not None]
    if not recipients:
        return
    notify(
        session,
        user_ids=recipients,
        title=title % {"name": task.name},
        body=subjects.label(session, task.instance) if body is None else body,
        link=task_link(task),
        kind=KIND,
        target_type="flow_task",
        target_id=str(task.id),
        sender=sender,
        flush=False,  # written with the step's own flush or the commit
    )


def assigned(session: Session, task: FlowTask, *, sender: Actor | None) -> None:
    _send(session, task, [task.assignee_id], i18n.gettext("New task: %(name)s"), sender=sender)


def in_pool(session: Session, task: FlowTask, user_ids: list[int], *, sender: Actor | None) -> None:
    _send(session, task, user_ids, i18n.gettext("A task is waiting in your pool: %(name)s"), sender=sender)


def needs_dispatch(session: Session, task: FlowTask, user_id: int | None, *, sender: Actor | None) -> None:
    _send(session, task, [user_id], i18n.gettext("A task waits to be dispatched: %(name)s"), sender=sender)


def no_candidates(session: Session, task: FlowTask, user_id: int | None, *, sender: Actor | None) -> None:
    _send(session, task, [user_id], i18n.gettext("Nobody can take the task %(name)s"), sender=sender)


def warning(session: Session, task: FlowTask, user_ids: list[int]) -> None:
    _send(session, task, user_ids, i18n.gettext("Task due soon: %(name)s"), sender=None)


def overdue(session: Session, task: FlowTask, user_ids: list[int]) -> None:
    _send(session, task, user_ids, i18n.gettext("Task overdue: %(name)s"), sender=None)


def escalation_blocked(
    session: Session, task: FlowTask, user_ids: list[int | None], *, flow: str, reason: str
) -> None:
    """The overdue task could not take its escalation path: which task, which flow, and why."""
    body = i18n.gettext(
        "Flow %(flow)s (%(subject)s): the overdue task could not take its escalation path. %(reason)s"
    ) % {"flow": flow, "subject": subjects.label(session, task.instance), "reason": reason}
    _send(session, task, user_ids, i18n.gettext("Escalation blocked: %(name)s"), sender=None, body=body)
