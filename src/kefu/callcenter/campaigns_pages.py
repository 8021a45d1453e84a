"""Outbound campaign pages (外呼任务): the list, the form (new and edit), the campaign with its progress,
survey results and numbers, the page to add numbers (a list file or customers), and the lifecycle
buttons. Each action is the same service call as the API route."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from kefu.callcenter import campaign_survey, campaign_targets, campaigns
from kefu.callcenter.campaign_dialer import (
    BUSY,
    EXPIRED,
    FAILED,
    NO_ANSWER,
    SKIP_BLACKLIST,
    SKIP_DND,
    TIMEOUT,
)
from kefu.callcenter.models import CallQueue, Campaign, CampaignKind, CampaignStatus, TargetStatus
from kefu.callcenter.permissions import CAMPAIGN_MANAGE, CAMPAIGN_VIEW
from kefu.core.errors import FieldError, KefuError
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.web import nav
from kefu.web.deps import Requires, SessionDep
from kefu.web.forms import FormDep, field_errors
from kefu.web.templating import render

router = APIRouter(prefix="/callcenter/campaigns", include_in_schema=False)
nav.register(
    nav.NavItem(
        "callcenter",
        "Outbound campaigns",
        "/callcenter/campaigns",
        "bi-megaphone",
        (CAMPAIGN_VIEW, CAMPAIGN_MANAGE),
        50,
    )
)
AnyRight = Requires(CAMPAIGN_VIEW, CAMPAIGN_MANAGE)
Manage = Requires(CAMPAIGN_MANAGE)
FILE_MAX = 20 * 1024 * 1024
TARGETS_SHOWN = 100

KIND_LABELS = {
    CampaignKind.SURVEY.value: lazy("Satisfaction survey"),
    CampaignKind.PAYMENT_REMINDER.value: lazy("Payment reminder"),
    CampaignKind.NOTICE.value: lazy("Notice"),
}
STATUS_LABELS = {
    CampaignStatus.DRAFT.value: lazy("Draft"),
    CampaignStatus.RUNNING.value: lazy("Running"),
    CampaignStatus.PAUSED.value: lazy("Paused"),
    CampaignStatus.FINISHED.value: lazy("Finished"),
    CampaignStatus.CANCELLED.value: lazy("Cancelled"),
}
TARGET_LABELS = {
    TargetStatus.PENDING.value: lazy("Waiting"),
    TargetStatus.CALLING.value: lazy("Calling"),
    TargetStatus.DONE.value: lazy("Reached"),
    TargetStatus.FAILED.value: lazy("Not reached"),
    TargetStatus.SKIPPED.value: lazy("Skipped"),
    TargetStatus.CANCELLED.value: lazy("Cancelled"),
}
RESULT_LABELS = {
    "answered": lazy("Answered"),
    BUSY: lazy("Busy"),
    NO_ANSWER: lazy("No answer"),
    FAILED: lazy("Call failed"),
    TIMEOUT: lazy("No report from the PBX"),
    EXPIRED: lazy("Campaign period over"),
    SKIP_DND: lazy("Do-not-disturb"),
    SKIP_BLACKLIST: lazy("Blacklist"),
}
MODE_LABELS = {"ivr": lazy("Automatic (prompt or survey)"), "agent": lazy("To agents (queue)")}
WEEKDAY_LABELS = {
    1: lazy("Mon"),
    2: lazy("Tue"),
    3: lazy("Wed"),
    4: lazy("Thu"),
    5: lazy("Fri"),
    6: lazy("Sat"),
    7: lazy("Sun"),
}
BAD_QUESTION_LINE = lazy("Line %(line)s: write key | question | prompt code | 1=answer code, 2=answer code")
BADGES = {
    "draft": "secondary",
    "running": "primary",
    "paused": "warning",
    "finished": "success",
    "cancelled": "dark",
}


def _labels() -> dict[str, Any]:
    return {
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "target_labels": TARGET_LABELS,
        "result_labels": RESULT_LABELS,
        "mode_labels": MODE_LABELS,
        "weekday_labels": WEEKDAY_LABELS,
        "badges": BADGES,
    }


@router.get("")
def campaign_list(request: Request, session: SessionDep, actor: AnyRight, status: str = "") -> Response:
    stmt = campaigns.restrict_campaigns(select(Campaign), actor, campaigns.view_permission(actor))
    if status in STATUS_LABELS:
        stmt = stmt.where(Campaign.status == status)
    rows = list(session.scalars(stmt.order_by(Campaign.id.desc()).limit(200)))
    progress = {c.id: campaigns.progress(session, c) for c in rows}
    ctx = {
        "campaigns": rows,
        "progress": progress,
        "status": status,
        "can_manage": actor.can(CAMPAIGN_MANAGE),
        **_labels(),
    }
    return render(request, "callcenter/campaigns.html", ctx)


# --- the form -------------------------------------------------------------------------------------------


def _options(session: Session) -> dict[str, Any]:
    from kefu.org.departments import department_tree
    from kefu.tickets.setup import service as ticket_setup

    return {
        "kinds": [(k, v) for k, v in KIND_LABELS.items()],
        "modes": list(MODE_LABELS.items()),
        "queues": [
            (q.id, f"{q.name} ({q.code})")
            for q in session.scalars(
                select(CallQueue).where(CallQueue.enabled.is_(True)).order_by(CallQueue.name)
            )
        ],
        "categories": [
            (c.id, "— " * depth + c.name) for c, depth in ticket_setup.category_tree(session) if c.enabled
        ],
        "departments": [(d.id, "— " * depth + d.name) for d, depth in department_tree(session)],
    }


def questions_text(questions: list[dict[str, Any]]) -> str:
    """Survey questions as the form shows them: one per line, `key | text | prompt | 1=code, 2=code`."""
    lines = []
    for q in questions or []:
        answers = ", ".join(f"{d}={c}" for d, c in sorted(q.get("answers", {}).items()))
        lines.append(f"{q.get('key', '')} | {q.get('text', '')} | {q.get('prompt_code', '')} | {answers}")
    return "\n".join(lines)


def parse_questions(text: str) -> list[dict[str, Any]]:
    found = []
    for i, line in enumerate([ln for ln in text.splitlines() if ln.strip()], start=1):
        parts = [p.strip() for p in line.replace("｜", "|").split("|")]
        if len(parts) != 4:
            raise FieldError("questions", BAD_QUESTION_LINE, line=i)
        answers: dict[str, str] = {}
        for pair in parts[3].replace("，", ",").split(","):
            digit, _, code = pair.partition("=")
            if digit.strip():
                answers[digit.strip()] = code.strip()
        found.append({"key": parts[0], "text": parts[1], "prompt_code": parts[2], "answers": answers})
    return found


def _form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: str(form.get(name) or "")
        for name in (
            "name",
            "kind",
            "mode",
            "queue_id",
            "department_id",
            "business_category_id",
            "prompt_code",
            "script",
            "window_start",
            "window_end",
            "max_concurrent",
            "calls_per_minute",
            "max_attempts",
            "external_ref",
            "questions_text",
        )
    }
    values["weekdays"] = [int(d) for d in form.getlist("weekdays") if str(d).isdigit()]
    values["working_days_only"] = form.get("working_days_only") == "on"
    values["retry_minutes"] = {
        result: str(form.get(f"retry_minutes.{result}") or "") for result in ("busy", "no_answer", "failed")
    }
    return values


def _definition(values: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in values.items() if k != "questions_text"}
    data["questions"] = parse_questions(values["questions_text"])
    data["retry_minutes"] = {k: v for k, v in values["retry_minutes"].items() if v != ""}
    return data


def _form_page(
    request: Request,
    session: Session,
    values: dict[str, Any],
    campaign: Campaign | None = None,
    errors: dict[str, str] | None = None,
    *,
    status: int = 200,
) -> Response:
    errors = errors or {}
    question_errors = [m for name, m in errors.items() if name.startswith("questions")]
    ctx = {
        "values": values,
        "campaign": campaign,
        "errors": errors,
        "question_errors": question_errors,
        **_options(session),
        **_labels(),
    }
    return render(request, "callcenter/campaign_form.html", ctx, status_code=status)


@router.get("/new")
def new_campaign(request: Request, session: SessionDep, actor: Manage) -> Response:
    values = {**campaigns.DEFAULTS, "name": "", "external_ref": "", "questions_text": ""}
    values["department_id"] = actor.user.department_id
    return _form_page(request, session, values)


@router.post("")
def create_campaign(request: Request, session: SessionDep, actor: Manage, form: FormDep) -> Response:
    values = _form_values(form)
    try:
        campaign = campaigns.create(session, actor, _definition(values))
    except KefuError as exc:
        session.rollback()
        return _form_page(request, session, values, errors=field_errors(exc), status=exc.status_code)
    return RedirectResponse(f"/callcenter/campaigns/{campaign.id}", status_code=303)


@router.get("/{campaign_id}/edit")
def edit_campaign(request: Request, session: SessionDep, actor: Manage, campaign_id: int) -> Response:
    campaign = campaigns.access(session, actor, campaign_id, CAMPAIGN_MANAGE)
    values = {**campaigns.values_of(campaign), "questions_text": questions_text(campaign.questions)}
    return _form_page(request, session, values, campaign)


@router.post("/{campaign_id}")
def update_campaign(
    request: Request, session: SessionDep, actor: Manage, campaign_id: int, form: FormDep
) -> Response:
    campaign = campaigns.access(session, actor, campaign_id, CAMPAIGN_MANAGE)
    values = _form_values(form)
    try:
        campaigns.update_definition(session, actor, campaign, _definition(values))
    except KefuError as exc:
        session.rollback()
        campaign = campaigns.access(session, actor, campaign_id, CAMPAIGN_MANAGE)
        return _form_page(request, session, values, campaign, field_errors(exc), status=exc.status_code)
    return RedirectResponse(f"/callcenter/campaigns/{campaign_id}", status_code=303)


# --- one campaign -------------------------------------------------------------------------------------------


def _detail(
    request: Request,
    session: Session,
    actor: Actor,
    campaign: Campaign,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
    target_status: str = "",
) -> Response:
    rows, total = campaigns.targets(
        session,
        campaign,
        status=target_status if target_status in TARGET_LABELS else None,
        limit=TARGETS_SHOWN,
    )
    queue = session.get(CallQueue, campaign.queue_id) if campaign.queue_id else None
    ctx = {
        "campaign": campaign,
        "progress": campaigns.progress(session, campaign),
        "questions": campaign_survey.distribution(session, campaign),
        "targets": rows,
        "targets_total": total,
        "target_status": target_status,
        "queue": queue,
        "errors": errors or {},
        "can_manage": actor.can(CAMPAIGN_MANAGE),
        "editable": campaign.status in campaigns.EDITABLE,
        **_labels(),
    }
    return render(request, "callcenter/campaign_detail.html", ctx, status_code=status)


@router.get("/{campaign_id}")
def campaign_page(
    request: Request, session: SessionDep, actor: AnyRight, campaign_id: int, status: str = ""
) -> Response:
    campaign = campaigns.access(session, actor, campaign_id)
    return _detail(request, session, actor, campaign, target_status=status)


@router.get("/{campaign_id}/progress")
def campaign_progress(request: Request, session: SessionDep, actor: AnyRight, campaign_id: int) -> Response:
    """The progress panel alone (polled while the campaign runs)."""
    campaign = campaigns.access(session, actor, campaign_id)
    ctx = {"campaign": campaign, "progress": campaigns.progress(session, campaign), **_labels()}
    return render(request, "callcenter/campaign_progress.html", ctx)


# --- adding numbers -------------------------------------------------------------------------------


def _upload_page(
    request: Request,
    session: Session,
    campaign: Campaign,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    errors = errors or {}
    list_errors = [
        m for name, m in errors.items() if name == "list" or name.startswith("list.") or name == "file"
    ]
    ctx = {
        "campaign": campaign,
        "errors": errors,
        "list_errors": list_errors,
        "values": values or {},
        "list_max": campaign_targets.LIST_MAX,
        **_labels(),
    }
    return render(request, "callcenter/campaign_upload.html", ctx, status_code=status)


@router.get("/{campaign_id}/upload")
def upload_page(request: Request, session: SessionDep, actor: Manage, campaign_id: int) -> Response:
    return _upload_page(request, session, campaigns.access(session, actor, campaign_id, CAMPAIGN_MANAGE))


@router.post("/{campaign_id}/upload")
def upload(request: Request, session: SessionDep, actor: Manage, campaign_id: int, form: FormDep) -> Response:
    """A list file, or customers by code (one per line or comma-separated)."""
    campaign = campaigns.access(session, actor, campaign_id, CAMPAIGN_MANAGE)
    codes = str(form.get("customer_codes") or "")
    upload_file = form.get("list_file")
    try:
        if isinstance(upload_file, UploadFile) and upload_file.filename:
            data = upload_file.file.read(FILE_MAX + 1)
            if len(data) > FILE_MAX:
                from kefu.messaging.batches_pages import FILE_TOO_LARGE

                raise FieldError("file", FILE_TOO_LARGE, max=FILE_MAX // (1024 * 1024))
            campaign_targets.from_upload(session, actor, campaign, upload_file.filename, data)
        elif codes.strip():
            campaign_targets.from_customers(
                session, actor, campaign, {"customer_codes": codes, "statuses": []}
            )
        else:
            raise FieldError("file", campaign_targets.NOTHING)
    except KefuError as exc:
        session.rollback()
        campaign = campaigns.access(session, actor, campaign_id, CAMPAIGN_MANAGE)
        errors = field_errors(exc)
        return _upload_page(
            request,
            session,
            campaign,
            errors=errors,
            values={"customer_codes": codes},
            status=exc.status_code,
        )
    return RedirectResponse(f"/callcenter/campaigns/{campaign_id}", status_code=303)


COMMANDS = {
    "start": campaigns.start,
    "pause": campaigns.pause,
    "resume": campaigns.resume,
    "cancel": campaigns.cancel,
}


@router.post("/{campaign_id}/{command}")
def act(request: Request, session: SessionDep, actor: Manage, campaign_id: int, command: str) -> Response:
    if command not in COMMANDS:
        from kefu.core.errors import NotFound

        raise NotFound()
    campaign = campaigns.access(session, actor, campaign_id, CAMPAIGN_MANAGE)
    try:
        COMMANDS[command](session, actor, campaign)
    except KefuError as exc:
        session.rollback()
        campaign = campaigns.access(session, actor, campaign_id, CAMPAIGN_MANAGE)
        return _detail(request, session, actor, campaign, errors=field_errors(exc), status=exc.status_code)
    return RedirectResponse(f"/callcenter/campaigns/{campaign_id}", status_code=303)
