"""Callback work (回访) over HTTP: candidates and assignment for team leaders, results for callers."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query

from kefu.tickets import callbacks
from kefu.tickets.callbacks import ASSIGN, HANDLE, VIEW
from kefu.tickets.callbacks_schemas import (
    CallbackAction,
    CallbackAssign,
    CallbackRead,
    CallbackReassign,
    CallbackResult,
    CandidateRead,
)
from kefu.tickets.models import CallbackStatus
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/tickets/callbacks", tags=["tickets"])

ANY_CALLBACK_RIGHT = (VIEW, ASSIGN, HANDLE)


@router.get("/candidates", response_model=list[CandidateRead])
def list_candidates(
    session: SessionDep,
    actor: Requires(ASSIGN),
    closed_from: date,
    closed_to: date,
    type_id: int | None = None,
    department_id: int | None = None,
    only_without_callback: bool = True,
    limit: int = Query(default=200, ge=1, le=1000),
) -> list[CandidateRead]:
    """Closed tickets in my scope, closed on the local days from `closed_from` to `closed_to`."""
    found = callbacks.candidates(
        session,
        actor,
        closed_from=closed_from,
        closed_to=closed_to,
        type_id=type_id,
        department_id=department_id,
        only_without_callback=only_without_callback,
        limit=limit,
    )
    return [CandidateRead.of_candidate(c) for c in found]


@router.post("/assign", response_model=list[CallbackRead], status_code=201)
def assign_callbacks(
    session: SessionDep, actor: Requires(ASSIGN), body: CallbackAssign
) -> list[CallbackRead]:
    """Hand closed tickets to callers: all of them spread evenly, or a random sample."""
    tasks = callbacks.assign(
        session,
        actor,
        ticket_ids=body.ticket_ids,
        assignee_ids=body.assignee_ids,
        mode=body.mode,
        sample_percent=body.sample_percent,
        seed=body.seed,
    )
    return [CallbackRead.of(t) for t in tasks]


@router.get("", response_model=list[CallbackRead])
def list_callbacks(
    session: SessionDep,
    actor: Requires(*ANY_CALLBACK_RIGHT),
    box: callbacks.Box = "mine",
    status: CallbackStatus | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0),
) -> list[CallbackRead]:
    """`mine`: callbacks assigned to me; `all`: every callback I may see. Newest first."""
    found = callbacks.list_callbacks(session, actor, box=box, status=status, limit=limit, offset=offset)
    return [CallbackRead.of(t) for t in found]


@router.get("/{task_id}", response_model=CallbackRead)
def get_callback(session: SessionDep, actor: Requires(*ANY_CALLBACK_RIGHT), task_id: int) -> CallbackRead:
    return CallbackRead.of(callbacks.get_callback(session, actor, task_id))


@router.post("/{task_id}/result", response_model=CallbackRead)
def record_result(
    session: SessionDep, actor: Requires(HANDLE), task_id: int, body: CallbackResult
) -> CallbackRead:
    """Record my call: reached with a satisfaction level, or not reached with a reason."""
    task = callbacks.record_result(
        session,
        actor,
        callbacks.get_callback(session, actor, task_id),
        reached=body.reached,
        satisfaction=body.satisfaction,
        result=body.result,
        not_reached_reason=body.not_reached_reason,
        version=body.version,
    )
    return CallbackRead.of(task)


@router.post("/{task_id}/retry", response_model=CallbackRead)
def retry_callback(
    session: SessionDep, actor: Requires(HANDLE, ASSIGN), task_id: int, body: CallbackAction | None = None
) -> CallbackRead:
    """Put an unreached callback back to pending, to call again."""
    task = callbacks.get_callback(session, actor, task_id)
    callbacks.retry(session, actor, task, version=body.version if body else None)
    return CallbackRead.of(task)


@router.post("/{task_id}/reassign", response_model=CallbackRead)
def reassign_callback(
    session: SessionDep, actor: Requires(ASSIGN), task_id: int, body: CallbackReassign
) -> CallbackRead:
    """Give an open callback to another caller."""
    task = callbacks.get_callback(session, actor, task_id)
    callbacks.reassign(session, actor, task, body.assignee_id, version=body.version)
    return CallbackRead.of(task)


@router.post("/{task_id}/cancel", response_model=CallbackRead)
def cancel_callback(
    session: SessionDep, actor: Requires(ASSIGN), task_id: int, body: CallbackAction | None = None
) -> CallbackRead:
    """Withdraw an open callback; the ticket can be assigned again."""
    task = callbacks.get_callback(session, actor, task_id)
    callbacks.cancel(session, actor, task, version=body.version if body else None)
    return CallbackRead.of(task)
