"""Outbound campaigns over HTTP (外呼任务, CC-8): create (another system may submit the numbers with
it), edit, start, pause, resume, cancel; add numbers (JSON, a customer selection, an uploaded list);
follow the progress; read and export the results. The PBX asks the step API what to play on a
campaign call (`callcenter.cti.report`, its integration token)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select

from kefu.callcenter import campaign_survey, campaign_targets, campaigns
from kefu.callcenter.campaign_schemas import (
    AddedRead,
    CampaignFields,
    CampaignIn,
    CampaignPage,
    CampaignRead,
    CustomersIn,
    ProgressRead,
    QuestionResultRead,
    ResultsRead,
    StepIn,
    StepRead,
    TargetPage,
    TargetRead,
    TargetsIn,
)
from kefu.callcenter.models import Campaign, CampaignStatus, TargetStatus
from kefu.callcenter.permissions import CAMPAIGN_MANAGE, CAMPAIGN_VIEW, REPORT
from kefu.core import clock
from kefu.core.errors import FieldError
from kefu.messaging.batches_pages import FILE_TOO_LARGE
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/callcenter/campaigns", tags=["callcenter"])

AnyRight = Requires(CAMPAIGN_VIEW, CAMPAIGN_MANAGE)
Manage = Requires(CAMPAIGN_MANAGE)
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]
FILE_MAX = 20 * 1024 * 1024


def read(
    session: SessionDep, campaign: Campaign, *, added: campaign_targets.Added | None = None
) -> CampaignRead:
    found = CampaignRead.model_validate(campaign)
    found.progress = ProgressRead(**asdict(campaigns.progress(session, campaign)))
    if added is not None:
        found.added = AddedRead(**asdict(added))
    return found


def _definition(body: CampaignFields) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True, exclude={"targets"})
    if data.get("kind") is not None:
        data["kind"] = data["kind"].value
    return data


@router.get("", response_model=CampaignPage)
def campaign_list(
    session: SessionDep,
    actor: AnyRight,
    status: CampaignStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> CampaignPage:
    """The campaigns within my data scope, newest first."""
    stmt = campaigns.restrict_campaigns(select(Campaign), actor, campaigns.view_permission(actor))
    if status is not None:
        stmt = stmt.where(Campaign.status == status.value)
    total = (
        session.scalar(select(func.count()).select_from(stmt.with_only_columns(Campaign.id).subquery())) or 0
    )
    rows = session.scalars(stmt.order_by(Campaign.id.desc()).limit(limit).offset(offset)).all()
    return CampaignPage(items=[CampaignRead.model_validate(c) for c in rows], total=total)


@router.post("", response_model=CampaignRead, status_code=201)
def campaign_create(session: SessionDep, actor: Manage, body: CampaignIn) -> CampaignRead:
    """Create a draft campaign, with its numbers if given (`targets`, another system's list). Checked
    whole: 422 naming each field (`targets.<i>.number` …); nothing is written on an error."""
    source = "api" if body.targets else "customers"
    campaign = campaigns.create(session, actor, _definition(body), source=source)
    added = None
    if body.targets:
        added = campaign_targets.from_json(session, actor, campaign, [t.model_dump() for t in body.targets])
    return read(session, campaign, added=added)


@router.get("/{campaign_id}", response_model=CampaignRead)
def campaign_get(session: SessionDep, actor: AnyRight, campaign_id: int) -> CampaignRead:
    """The campaign with its progress."""
    return read(session, campaigns.access(session, actor, campaign_id))


@router.patch("/{campaign_id}", response_model=CampaignRead)
def campaign_update(
    session: SessionDep, actor: Manage, campaign_id: int, body: CampaignFields
) -> CampaignRead:
    """Change a draft or paused campaign (409 otherwise); only the given fields change."""
    campaign = campaigns.access(session, actor, campaign_id, CAMPAIGN_MANAGE)
    return read(session, campaigns.update_definition(session, actor, campaign, _definition(body)))


def _command(session: SessionDep, actor: Any, campaign_id: int, command: Any) -> CampaignRead:
    campaign = campaigns.access(session, actor, campaign_id, CAMPAIGN_MANAGE)
    return read(session, command(session, actor, campaign))


@router.post("/{campaign_id}/start", response_model=CampaignRead)
def campaign_start(session: SessionDep, actor: Manage, campaign_id: int) -> CampaignRead:
    """Start a draft with numbers (409 otherwise): the dialler calls at once, within the window."""
    return _command(session, actor, campaign_id, campaigns.start)


@router.post("/{campaign_id}/pause", response_model=CampaignRead)
def campaign_pause(session: SessionDep, actor: Manage, campaign_id: int) -> CampaignRead:
    return _command(session, actor, campaign_id, campaigns.pause)


@router.post("/{campaign_id}/resume", response_model=CampaignRead)
def campaign_resume(session: SessionDep, actor: Manage, campaign_id: int) -> CampaignRead:
    return _command(session, actor, campaign_id, campaigns.resume)


@router.post("/{campaign_id}/cancel", response_model=CampaignRead)
def campaign_cancel(session: SessionDep, actor: Manage, campaign_id: int) -> CampaignRead:
    """Cancel: numbers still waiting are cancelled."""
    return _command(session, actor, campaign_id, campaigns.cancel)


@router.post("/{campaign_id}/targets", response_model=AddedRead)
def targets_add(session: SessionDep, actor: Manage, campaign_id: int, body: TargetsIn) -> AddedRead:
    """Add numbers (another system's list); idempotent by number, all or nothing."""
    campaign = campaigns.access(session, actor, campaign_id, CAMPAIGN_MANAGE)
    added = campaign_targets.from_json(session, actor, campaign, [t.model_dump() for t in body.targets])
    return AddedRead(**asdict(added))


@router.post("/{campaign_id}/targets/customers", response_model=AddedRead)
def targets_from_customers(
    session: SessionDep, actor: Manage, campaign_id: int, body: CustomersIn
) -> AddedRead:
    """Add the customers a filter selects (as proactive-service batches select them), each with their
    primary (else a mobile) number."""
    campaign = campaigns.access(session, actor, campaign_id, CAMPAIGN_MANAGE)
    added = campaign_targets.from_customers(session, actor, campaign, body.filter.model_dump())
    return AddedRead(**asdict(added))


@router.post("/{campaign_id}/targets/upload", response_model=AddedRead)
def targets_upload(
    session: SessionDep, actor: Manage, campaign_id: int, file: Annotated[UploadFile, File()]
) -> AddedRead:
    """Add an uploaded list (CSV or XLSX; header `number`, optional `name`, `customer_code`,
    `ticket_id`, other columns are values for the script). All or nothing; errors name
    `list.<line>.<column>`."""
    campaign = campaigns.access(session, actor, campaign_id, CAMPAIGN_MANAGE)
    data = file.file.read(FILE_MAX + 1)
    if len(data) > FILE_MAX:
        raise FieldError("file", FILE_TOO_LARGE, max=FILE_MAX // (1024 * 1024))
    added = campaign_targets.from_upload(session, actor, campaign, file.filename or "list.csv", data)
    return AddedRead(**asdict(added))


@router.get("/{campaign_id}/targets", response_model=TargetPage)
def targets_list(
    session: SessionDep,
    actor: AnyRight,
    campaign_id: int,
    status: TargetStatus | None = None,
    result: str | None = Query(default=None, max_length=20),
    number: str | None = Query(default=None, max_length=60),
    limit: Limit = 50,
    offset: Offset = 0,
) -> TargetPage:
    """The campaign's numbers in the order added, filtered by status, result, number."""
    campaign = campaigns.access(session, actor, campaign_id)
    rows, total = campaigns.targets(
        session,
        campaign,
        status=status.value if status else None,
        result=result,
        number=number,
        limit=limit,
        offset=offset,
    )
    return TargetPage(items=[TargetRead.model_validate(t) for t in rows], total=total)


@router.get("/{campaign_id}/progress", response_model=ProgressRead)
def campaign_progress(session: SessionDep, actor: AnyRight, campaign_id: int) -> ProgressRead:
    """Counts by status and result, attempts, reached rate, percentage done."""
    campaign = campaigns.access(session, actor, campaign_id)
    return ProgressRead(**asdict(campaigns.progress(session, campaign)))


@router.get("/{campaign_id}/results", response_model=ResultsRead)
def campaign_results(session: SessionDep, actor: AnyRight, campaign_id: int) -> ResultsRead:
    """Progress and, per survey question, how many gave each answer."""
    campaign = campaigns.access(session, actor, campaign_id)
    return ResultsRead(
        progress=ProgressRead(**asdict(campaigns.progress(session, campaign))),
        questions=[QuestionResultRead(**asdict(q)) for q in campaign_survey.distribution(session, campaign)],
    )


@router.get(
    "/{campaign_id}/results.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def campaign_export(
    session: SessionDep, actor: AnyRight, campaign_id: int, status: TargetStatus | None = None
) -> StreamingResponse:
    """Every number with its status, result, attempts and answers, as CSV (UTF-8 with BOM); audited."""
    campaign = campaigns.access(session, actor, campaign_id)
    chunks = campaign_survey.export(session, actor, campaign, status=status.value if status else None)
    stamp = clock.to_local(clock.now()).strftime("%Y%m%d-%H%M%S")
    disposition = {"Content-Disposition": f'attachment; filename="campaign-{campaign.id}-{stamp}.csv"'}
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8", headers=disposition)


@router.post("/step", response_model=StepRead)
def campaign_step(session: SessionDep, actor: Requires(REPORT), body: StepIn) -> StepRead:
    """The PBX's question on an answered campaign call: what to play next and which digits to
    collect, after the customer pressed `digits` (recorded as the survey's answer)."""
    return StepRead.model_validate(campaign_survey.step(session, call_id=body.call_id, digits=body.digits))
