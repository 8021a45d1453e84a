"""Proactive-service batches over HTTP (主动服务): create a draft, preview it, start, follow the progress,
read and export the results, cancel. Batches are seen within `messaging.batch.view`'s data scope and
run within `messaging.batch.run`'s."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import defer

from kefu.core import clock
from kefu.messaging import access, batch_export, batches
from kefu.messaging.batches_schemas import (
    BatchIn,
    BatchPage,
    BatchRead,
    PreviewRead,
    ProgressRead,
    ResultPage,
    ResultRead,
)
from kefu.messaging.models import Batch, BatchStatus, MessageStatus, SkipReason
from kefu.messaging.permissions import BATCH_RUN, BATCH_VIEW
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/messaging/batches", tags=["messaging"])

AnyRight = Requires(BATCH_VIEW, BATCH_RUN)  # a runner sees the batches of their run scope
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


def read(batch: Batch, progress: batches.Progress | None = None, *, mode: str | None = None) -> BatchRead:
    """The batch as the API shows it; with `mode` given (a list), its selection is not read."""
    found = BatchRead.model_validate(batch)
    if mode is not None:
        found.mode = mode
        return found
    spec = batch.selection or {}
    found.mode = str(spec.get("mode", "filter"))
    if found.mode == "list":
        found.list_lines = len(spec.get("rows", []))
        found.list_columns = list(spec.get("columns", []))
    else:
        found.filter = {k: v for k, v in spec.items() if k != "mode"}
    if progress is not None:
        found.progress = ProgressRead(**asdict(progress))
    return found


@router.get("", response_model=BatchPage)
def batch_list(
    session: SessionDep,
    actor: AnyRight,
    status: BatchStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> BatchPage:
    """The batches within the actor's data scope, newest first (without their selections: a list may
    hold 50,000 lines; read one batch for its selection and progress)."""
    stmt = access.restrict_batches(select(Batch.id), actor, batches.view_permission(actor))
    if status is not None:
        stmt = stmt.where(Batch.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = stmt.with_only_columns(Batch, batches.MODE).options(defer(Batch.selection))
    rows = session.execute(page.order_by(Batch.id.desc()).limit(limit).offset(offset)).tuples().all()
    return BatchPage(items=[read(b, mode=mode or "filter") for b, mode in rows], total=total)


@router.post("", response_model=BatchRead, status_code=201)
def batch_create(session: SessionDep, actor: Requires(BATCH_RUN), body: BatchIn) -> BatchRead:
    """Create a draft batch. Everything is checked first (422 naming each field, `list.<line>.<column>`
    for a line of the list); nothing is written on an error."""
    batch = batches.create(
        session,
        actor,
        name=body.name,
        kind=body.kind,
        channel=body.channel,
        template_id=body.template_id,
        business_category_id=body.business_category_id,
        variables=body.variables,
        mode=body.mode,
        filter=body.filter.model_dump(),
        list_text=body.list_text,
    )
    return read(batch)


@router.get("/{batch_id}", response_model=BatchRead)
def batch_get(session: SessionDep, actor: AnyRight, batch_id: int) -> BatchRead:
    """The batch with its progress: counts by status and skip reason, percentage, times."""
    batch = access.batch(session, actor, batch_id, batches.view_permission(actor))
    return read(batch, batches.progress(session, batch))


@router.get("/{batch_id}/preview", response_model=PreviewRead)
def batch_preview(session: SessionDep, actor: AnyRight, batch_id: int) -> PreviewRead:
    """How many recipients the selection resolves to, and the first messages as they will be sent."""
    batch = access.batch(session, actor, batch_id, batches.view_permission(actor))
    return PreviewRead.model_validate(batches.preview(session, batch))


@router.post("/{batch_id}/start", response_model=BatchRead)
def batch_start(session: SessionDep, actor: Requires(BATCH_RUN), batch_id: int) -> BatchRead:
    """Start a draft (409 otherwise; 422 on `channel` while its gateway is off)."""
    batch = batches.start(session, actor, access.batch(session, actor, batch_id, BATCH_RUN))
    return read(batch, batches.progress(session, batch))


@router.post("/{batch_id}/cancel", response_model=BatchRead)
def batch_cancel(session: SessionDep, actor: Requires(BATCH_RUN), batch_id: int) -> BatchRead:
    """Cancel a draft or running batch; queued messages are withdrawn."""
    batch = batches.cancel(session, actor, access.batch(session, actor, batch_id, BATCH_RUN))
    return read(batch, batches.progress(session, batch))


@router.get("/{batch_id}/results", response_model=ResultPage)
def batch_results(
    session: SessionDep,
    actor: AnyRight,
    batch_id: int,
    status: MessageStatus | None = None,
    skip_reason: SkipReason | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ResultPage:
    """The batch's messages in resolution order, filtered by status and skip reason."""
    batch = access.batch(session, actor, batch_id, batches.view_permission(actor))
    rows, total = batches.results(
        session, batch, status=status, skip_reason=skip_reason, limit=limit, offset=offset
    )
    items = [
        ResultRead(
            id=m.id,
            line=int(m.reference) if m.reference.isdigit() else None,
            customer_id=m.customer_id,
            customer_code=code,
            customer_name=name,
            recipient=m.recipient,
            status=m.status,
            skip_reason=m.skip_reason,
            note=m.error or m.dnd_note,
            subject=m.subject,
            body=m.body,
            attempts=m.attempts,
            created_at=m.created_at,
            sent_at=m.sent_at,
        )
        for m, name, code in rows
    ]
    return ResultPage(items=items, total=total)


@router.get(
    "/{batch_id}/results.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def batch_results_export(
    session: SessionDep,
    actor: AnyRight,
    batch_id: int,
    status: MessageStatus | None = None,
    skip_reason: SkipReason | None = None,
) -> StreamingResponse:
    """The results as a CSV file (UTF-8 with BOM); the export is audited."""
    batch = access.batch(session, actor, batch_id, batches.view_permission(actor))
    chunks = batch_export.export(session, actor, batch, status=status, skip_reason=skip_reason)
    stamp = clock.to_local(clock.now()).strftime("%Y%m%d-%H%M%S")
    disposition = {"Content-Disposition": f'attachment; filename="batch-{batch.id}-{stamp}.csv"'}
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8", headers=disposition)
