"""Outbound campaigns (外呼任务, CC-8): surveys, payment reminders and notices, each a list of numbers
called within a window, at a pace, with retries by result (`campaign_dialer`).

A campaign is created as a draft, checked whole (every error at once, naming its field; nothing
written on an error), edited while a draft or paused, started (the dialler runs at once and then every
minute), paused and resumed, cancelled (targets still waiting are cancelled), and finished by the
dialler once every target is final. Every change is audited.

Campaigns are seen within the data scope of `callcenter.campaign.view` and managed within that of
`callcenter.campaign.manage`: their department, their creator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.callcenter.models import (
    CallQueue,
    Campaign,
    CampaignKind,
    CampaignStatus,
    CampaignTarget,
    TargetStatus,
)
from kefu.callcenter.permissions import CAMPAIGN_MANAGE, CAMPAIGN_VIEW
from kefu.core import clock, events, jobs
from kefu.core.errors import Conflict, FieldError, FieldErrors, NotFound, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor, restrict
from kefu.org.models import Department

FUNCTION = "callcenter.campaign"
CAMPAIGN_UPDATED = "campaign.updated"
MODES = ("ivr", "agent")
DIGITS = frozenset("0123456789*#")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
QUESTIONS_MAX = 20
LIMITS = {"max_concurrent": (1, 500), "calls_per_minute": (1, 1000), "max_attempts": (1, 10)}
RETRY_MAX = 7 * 24 * 60
EDITABLE = (CampaignStatus.DRAFT, CampaignStatus.PAUSED)
FIELDS = (
    "name",
    "kind",
    "mode",
    "queue_id",
    "department_id",
    "business_category_id",
    "prompt_code",
    "script",
    "questions",
    "window_start",
    "window_end",
    "weekdays",
    "working_days_only",
    "max_concurrent",
    "calls_per_minute",
    "max_attempts",
    "retry_minutes",
    "starts_at",
    "ends_at",
    "external_ref",
)
DEFAULTS: dict[str, Any] = {
    "kind": CampaignKind.NOTICE.value,
    "mode": "ivr",
    "queue_id": None,
    "department_id": None,
    "business_category_id": None,
    "prompt_code": "",
    "script": "",
    "questions": [],
    "window_start": "09:00",
    "window_end": "20:00",
    "weekdays": [1, 2, 3, 4, 5, 6, 7],
    "working_days_only": False,
    "max_concurrent": 5,
    "calls_per_minute": 10,
    "max_attempts": 3,
    "retry_minutes": {"busy": 10, "no_answer": 30, "failed": 60},
    "starts_at": None,
    "ends_at": None,
    "external_ref": "",
}

REQUIRED = lazy("This field is required")
CHOOSE = lazy("Choose one of the offered values")
TOO_LONG = lazy("At most %(max)s characters")
BETWEEN = lazy("Enter a whole number from %(min)s to %(max)s")
BAD_TIME = lazy("Enter a time as HH:MM")
END_BEFORE_START = lazy("The end must be after the start")
QUEUE_NEEDED = lazy("Choose the queue that answered calls go to")
NEED_QUESTION = lazy("A survey needs at least one question")
TOO_MANY_QUESTIONS = lazy("At most %(max)s questions")
BAD_KEY = lazy("Use lower-case letters, digits and _ (starting with a letter)")
KEY_TWICE = lazy("Two questions have the key %(key)s")
BAD_ANSWERS = lazy("Map keypad digits (0-9, * or #) to answers, e.g. 1=very_satisfied")
BAD_SCRIPT = lazy("The script has an error: %(error)s")
NOT_EDITABLE = lazy("Only a draft or paused campaign can be changed")
NO_TARGETS = lazy("Add the numbers to call first")
CANNOT = lazy("Not possible while the campaign is %(status)s")

# Which statuses each command leaves from, and where it goes.
TRANSITIONS: dict[str, tuple[tuple[CampaignStatus, ...], CampaignStatus]] = {
    "start": ((CampaignStatus.DRAFT,), CampaignStatus.RUNNING),
    "pause": ((CampaignStatus.RUNNING,), CampaignStatus.PAUSED),
    "resume": ((CampaignStatus.PAUSED,), CampaignStatus.RUNNING),
    "cancel": (
        (CampaignStatus.DRAFT, CampaignStatus.RUNNING, CampaignStatus.PAUSED),
        CampaignStatus.CANCELLED,
    ),
}


# --- access -------------------------------------------------------------------------------------------


def view_permission(actor: Actor) -> str:
    """Whose campaigns one sees: `view`'s data scope, or, for a manager without it, `manage`'s."""
    return CAMPAIGN_VIEW if actor.can(CAMPAIGN_VIEW) else CAMPAIGN_MANAGE


def restrict_campaigns(stmt: Select[Any], actor: Actor, permission: str = CAMPAIGN_VIEW) -> Select[Any]:
    return restrict(stmt, actor, permission, owner=Campaign.created_by_id, department=Campaign.department_id)


def access(session: Session, actor: Actor, campaign_id: int, permission: str | None = None) -> Campaign:
    """The campaign if `actor` may see it (or manage it, with that permission); else 404."""
    permission = permission or view_permission(actor)
    stmt = restrict_campaigns(select(Campaign).where(Campaign.id == campaign_id), actor, permission)
    found = session.scalars(stmt).first()
    if found is None:
        raise NotFound()
    return found


# --- checking a definition ----------------------------------------------------------------------------


def _int(raw: Any, name: str, errors: list[FieldError], low: int, high: int) -> int | None:
    text = str(raw).strip() if raw is not None else ""
    if not re.fullmatch(r"-?\d{1,9}", text) or not low <= int(text) <= high:
        errors.append(FieldError(name, BETWEEN, min=low, max=high))
        return None
    return int(text)


def _optional_id(raw: Any, name: str, errors: list[FieldError]) -> int | None:
    if raw in (None, ""):
        return None
    text = str(raw).strip()
    if not text.isdigit() or len(text) > 18:
        errors.append(FieldError(name, CHOOSE))
        return None
    return int(text)


def _text(raw: Any, name: str, errors: list[FieldError], limit: int, *, required: bool = False) -> str:
    text = "" if raw is None else str(raw).strip()
    if required and not text:
        errors.append(FieldError(name, REQUIRED))
    elif len(text) > limit:
        errors.append(FieldError(name, TOO_LONG, max=limit))
    return text


def _questions(raw: Any, errors: list[FieldError]) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        errors.append(FieldError("questions", CHOOSE))
        return []
    if len(raw) > QUESTIONS_MAX:
        errors.append(FieldError("questions", TOO_MANY_QUESTIONS, max=QUESTIONS_MAX))
        return []
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        data = item if isinstance(item, Mapping) else {}
        key = str(data.get("key") or "").strip()
        if not KEY.match(key):
            errors.append(FieldError(f"questions.{i}.key", BAD_KEY))
        elif key in seen:
            errors.append(FieldError(f"questions.{i}.key", KEY_TWICE, key=key))
        seen.add(key)
        text = _text(data.get("text"), f"questions.{i}.text", errors, 500, required=True)
        prompt = _text(data.get("prompt_code"), f"questions.{i}.prompt_code", errors, 60)
        answers_raw = data.get("answers")
        answers: dict[str, str] = {}
        if isinstance(answers_raw, Mapping) and answers_raw:
            for digit, value in answers_raw.items():
                code = str(value or "").strip()
                if str(digit) not in DIGITS or not code or len(code) > 60:
                    answers = {}
                    break
                answers[str(digit)] = code
        if not answers:
            errors.append(FieldError(f"questions.{i}.answers", BAD_ANSWERS))
        cleaned.append({"key": key, "text": text, "prompt_code": prompt, "answers": answers})
    return cleaned


def _in_manage_scope(session: Session, actor: Actor, department_id: int) -> bool:
    stmt = restrict(
        select(Department.id).where(Department.id == department_id),
        actor,
        CAMPAIGN_MANAGE,
        department=Department.id,
    )
    return session.scalar(stmt) is not None


def clean(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """The definition as stored, every field checked; FieldErrors with all the errors at once."""
    from kefu.messaging import dnd, render

    errors: list[FieldError] = []
    values: dict[str, Any] = {"name": _text(data.get("name"), "name", errors, 200, required=True)}
    kind = str(data.get("kind") or "")
    if kind not in {k.value for k in CampaignKind}:
        errors.append(FieldError("kind", CHOOSE))
    values["kind"] = kind
    mode = str(data.get("mode") or "")
    if mode not in MODES:
        errors.append(FieldError("mode", CHOOSE))
    values["mode"] = mode
    queue_id = _optional_id(data.get("queue_id"), "queue_id", errors)
    if queue_id is not None:
        queue = session.get(CallQueue, queue_id)
        if queue is None or not queue.enabled:
            errors.append(FieldError("queue_id", CHOOSE))
    elif mode == "agent":
        errors.append(FieldError("queue_id", QUEUE_NEEDED))
    values["queue_id"] = queue_id
    department_id = _optional_id(data.get("department_id"), "department_id", errors)
    if department_id is not None and (
        session.get(Department, department_id) is None or not _in_manage_scope(session, actor, department_id)
    ):
        errors.append(FieldError("department_id", CHOOSE))
    values["department_id"] = department_id
    category_id = _optional_id(data.get("business_category_id"), "business_category_id", errors)
    try:
        dnd.check_category(session, category_id)
    except FieldError as exc:
        errors.append(exc)
    values["business_category_id"] = category_id
    values["prompt_code"] = _text(data.get("prompt_code"), "prompt_code", errors, 60)
    script = _text(data.get("script"), "script", errors, 4000)
    try:
        render.variables(script)
    except Exception as exc:  # jinja2.TemplateSyntaxError
        errors.append(FieldError("script", BAD_SCRIPT, error=getattr(exc, "message", "") or str(exc)))
    values["script"] = script
    questions = _questions(data.get("questions") or [], errors)
    if (
        kind == CampaignKind.SURVEY
        and not questions
        and not any(e.field.startswith("questions") for e in errors)
    ):
        errors.append(FieldError("questions", NEED_QUESTION))
    values["questions"] = questions if kind == CampaignKind.SURVEY else []
    for name in ("window_start", "window_end"):
        text = str(data.get(name) or "").strip()
        if not HHMM.match(text):
            errors.append(FieldError(name, BAD_TIME))
        values[name] = text
    times = (values["window_start"], values["window_end"])
    if all(HHMM.match(t) for t in times) and times[1] <= times[0]:
        errors.append(FieldError("window_end", END_BEFORE_START))
    weekdays_raw = data.get("weekdays")
    weekdays = (
        sorted({int(d) for d in weekdays_raw if str(d).isdigit()}) if isinstance(weekdays_raw, list) else []
    )
    if not weekdays or any(d < 1 or d > 7 for d in weekdays) or len(weekdays) != len(set(weekdays_raw or [])):
        errors.append(FieldError("weekdays", CHOOSE))
    values["weekdays"] = weekdays
    values["working_days_only"] = bool(data.get("working_days_only"))
    for name, (low, high) in LIMITS.items():
        values[name] = _int(data.get(name), name, errors, low, high)
    retry_raw = data.get("retry_minutes") or {}
    retry: dict[str, int] = {}
    if not isinstance(retry_raw, Mapping):
        errors.append(FieldError("retry_minutes", CHOOSE))
    else:
        for result, minutes in retry_raw.items():
            if result not in ("busy", "no_answer", "failed"):
                errors.append(FieldError(f"retry_minutes.{result}", CHOOSE))
                continue
            number = _int(minutes, f"retry_minutes.{result}", errors, 1, RETRY_MAX)
            if number is not None:
                retry[result] = number
    values["retry_minutes"] = retry
    starts, ends = data.get("starts_at"), data.get("ends_at")
    for name, value in (("starts_at", starts), ("ends_at", ends)):
        if value is not None and not isinstance(value, datetime):
            errors.append(FieldError(name, CHOOSE))
    values["starts_at"] = starts if isinstance(starts, datetime) else None
    values["ends_at"] = ends if isinstance(ends, datetime) else None
    if values["starts_at"] and values["ends_at"] and values["ends_at"] <= values["starts_at"]:
        errors.append(FieldError("ends_at", END_BEFORE_START))
    values["external_ref"] = _text(data.get("external_ref"), "external_ref", errors, 100)
    if errors:
        raise FieldErrors(errors)
    return values


def values_of(campaign: Campaign) -> dict[str, Any]:
    return {name: getattr(campaign, name) for name in FIELDS}


# --- commands -----------------------------------------------------------------------------------------


def _require(actor: Actor) -> None:
    if not actor.can(CAMPAIGN_MANAGE):
        raise PermissionDenied()


def _publish(session: Session, campaign: Campaign) -> None:
    events.on_commit(
        session,
        events.Event(type=CAMPAIGN_UPDATED, data={"campaign": campaign.id, "status": campaign.status}),
    )


def _audit(session: Session, actor: Actor | None, action: str, campaign: Campaign, **extra: Any) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"campaign.{action}",
        function=FUNCTION,
        target=campaign,
        target_label=campaign.name,
        **extra,
    )


def create(session: Session, actor: Actor, data: Mapping[str, Any], *, source: str = "customers") -> Campaign:
    """A draft campaign (its department defaults to the creator's)."""
    _require(actor)
    values = clean(session, actor, {**DEFAULTS, **{k: v for k, v in data.items() if v is not None}})
    if values["department_id"] is None:
        values["department_id"] = actor.user.department_id
    now = clock.now()
    campaign = Campaign(
        **values,
        status=CampaignStatus.DRAFT.value,
        source=source,
        created_by_id=actor.user.id,
        created_at=now,
        updated_at=now,
    )
    session.add(campaign)
    session.flush()
    _audit(session, actor, "create", campaign, after=audit.snapshot(campaign, FIELDS))
    _publish(session, campaign)
    return campaign


def update_definition(
    session: Session, actor: Actor, campaign: Campaign, changes: Mapping[str, Any]
) -> Campaign:
    """Change a draft or paused campaign; the whole definition is checked again."""
    _require(actor)
    if campaign.status not in EDITABLE:
        raise Conflict(NOT_EDITABLE)
    before = audit.snapshot(campaign, FIELDS)
    merged = {**values_of(campaign), **{k: v for k, v in changes.items() if k in FIELDS}}
    values = clean(session, actor, merged)
    for name, value in values.items():
        setattr(campaign, name, value)
    campaign.updated_at = clock.now()
    session.flush()
    old, new = audit.diff(before, audit.snapshot(campaign, FIELDS))
    _audit(session, actor, "update", campaign, before=old, after=new)
    _publish(session, campaign)
    return campaign


def _move(session: Session, actor: Actor, campaign: Campaign, command: str) -> Campaign:
    _require(actor)
    # Wait for a dialler round of this campaign (it locks the row) and see what it did.
    session.execute(select(Campaign.id).where(Campaign.id == campaign.id).with_for_update())
    session.refresh(campaign)
    allowed, target = TRANSITIONS[command]
    if campaign.status not in allowed:
        raise Conflict(CANNOT, status=campaign.status)
    before = campaign.status
    now = clock.now()
    if command == "start":
        has_targets = session.scalar(
            select(CampaignTarget.id).where(CampaignTarget.campaign_id == campaign.id).limit(1)
        )
        if has_targets is None:
            raise Conflict(NO_TARGETS)
        campaign.started_at = now
    summary = ""
    if command == "cancel":
        done = session.execute(
            update(CampaignTarget)
            .where(
                CampaignTarget.campaign_id == campaign.id, CampaignTarget.status == TargetStatus.PENDING.value
            )
            .values(status=TargetStatus.CANCELLED.value, next_attempt_at=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        summary = f"{getattr(done, 'rowcount', 0)} waiting target(s) cancelled"
        campaign.finished_at = now
    campaign.status = target.value
    campaign.updated_at = now
    session.flush()
    _audit(
        session,
        actor,
        command,
        campaign,
        summary=summary,
        before={"status": before},
        after={"status": campaign.status},
    )
    _publish(session, campaign)
    if campaign.status == CampaignStatus.RUNNING:
        from kefu.callcenter import campaign_dialer

        jobs.enqueue_on_commit(session, campaign_dialer.dial_task, campaign.id)
    return campaign


def start(session: Session, actor: Actor, campaign: Campaign) -> Campaign:
    """Start a draft: the dialler calls at once (inside the window) and then every minute."""
    return _move(session, actor, campaign, "start")


def pause(session: Session, actor: Actor, campaign: Campaign) -> Campaign:
    """Stop starting calls (calls in progress go on and report their results)."""
    return _move(session, actor, campaign, "pause")


def resume(session: Session, actor: Actor, campaign: Campaign) -> Campaign:
    return _move(session, actor, campaign, "resume")


def cancel(session: Session, actor: Actor, campaign: Campaign) -> Campaign:
    """Cancel: targets still waiting are cancelled; calls in progress still report their results."""
    return _move(session, actor, campaign, "cancel")


# --- progress -----------------------------------------------------------------------------------------


@dataclass
class Progress:
    status: str
    total: int
    by_status: dict[str, int] = field(default_factory=dict)
    by_result: dict[str, int] = field(default_factory=dict)
    attempts: int = 0
    reached: int = 0
    reached_rate: float | None = None  # reached / (reached + failed), in percent
    percent: int = 0  # targets final / total


def progress(session: Session, campaign: Campaign) -> Progress:
    rows = session.execute(
        select(CampaignTarget.status, CampaignTarget.result, func.count(), func.sum(CampaignTarget.attempts))
        .where(CampaignTarget.campaign_id == campaign.id)
        .group_by(CampaignTarget.status, CampaignTarget.result)
    ).all()
    found = Progress(status=campaign.status, total=0, by_status={s.value: 0 for s in TargetStatus})
    for status, result, count, attempts in rows:
        found.total += count
        found.by_status[status] = found.by_status.get(status, 0) + count
        if result:
            found.by_result[result] = found.by_result.get(result, 0) + count
        found.attempts += int(attempts or 0)
    done, failed = found.by_status[TargetStatus.DONE.value], found.by_status[TargetStatus.FAILED.value]
    found.reached = done
    found.reached_rate = round(done * 100 / (done + failed), 1) if done + failed else None
    final = sum(
        found.by_status[s.value]
        for s in (TargetStatus.DONE, TargetStatus.FAILED, TargetStatus.SKIPPED, TargetStatus.CANCELLED)
    )
    found.percent = (
        100
        if campaign.status == CampaignStatus.FINISHED
        else (final * 100 // found.total if found.total else 0)
    )
    return found


def targets_stmt(
    campaign: Campaign, *, status: str | None = None, result: str | None = None, number: str | None = None
) -> Select[Any]:
    from kefu.customers import phones

    stmt = select(CampaignTarget).where(CampaignTarget.campaign_id == campaign.id)
    if status:
        stmt = stmt.where(CampaignTarget.status == status)
    if result:
        stmt = stmt.where(CampaignTarget.result == result)
    if number:
        key = phones.lookup_key(number)
        stmt = (
            stmt.where(CampaignTarget.number_key == key)
            if key
            else stmt.where(CampaignTarget.number.contains(number))
        )
    return stmt


def targets(
    session: Session, campaign: Campaign, *, limit: int = 50, offset: int = 0, **filters: str | None
) -> tuple[list[CampaignTarget], int]:
    stmt = targets_stmt(campaign, **filters)
    total = (
        session.scalar(select(func.count()).select_from(stmt.with_only_columns(CampaignTarget.id).subquery()))
        or 0
    )
    rows = session.scalars(stmt.order_by(CampaignTarget.id).limit(limit).offset(offset)).all()
    return list(rows), total
