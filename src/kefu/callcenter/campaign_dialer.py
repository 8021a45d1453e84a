"""The dialler of outbound campaigns (外呼任务, CC-8): when to call, how fast, and what a call's end
means for its target.

A round (`dial`, every minute and right after a campaign starts or resumes) takes each running
campaign inside its calling window and starts up to min(calls per minute − attempts started in the
last minute, max concurrent − calls in progress) of its due targets. Each target is *claimed* with a
conditional UPDATE (pending and due → calling) that only one worker can win, on SQLite as on
PostgreSQL, so two rounds running at once never call a number twice. At dial time every number
passes do-not-disturb (the campaign's business type) and the blacklist; a refused or warned number is
skipped with the reason, since nobody is there to confirm a warning.

The attempt is originated through the CTI adapter under a call id that names the campaign, the
target and the attempt (`cmp-<campaign>-<target>-<attempt>`). The PBX reports the call through the
CTI API like any other; `cti.ingest` hands each campaign call to `call_reported`, which links the
call to the campaign and, when it ends, settles the target: answered → done; busy, no answer,
failed → pending again after the campaign's retry minutes for that result, until the attempts are
used up (failed). A call that never reports back is released by `release_stale`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from kefu.callcenter import control
from kefu.callcenter.models import (
    Call,
    CallQueue,
    Campaign,
    CampaignStatus,
    CampaignTarget,
    TargetStatus,
)
from kefu.core import clock, jobs
from kefu.core.errors import KefuError
from kefu.db import db

log = logging.getLogger(__name__)

CALL_ID = re.compile(r"^cmp-(\d+)-(\d+)-(\d+)$")
FINAL = (TargetStatus.DONE, TargetStatus.FAILED, TargetStatus.SKIPPED, TargetStatus.CANCELLED)
OPEN = (TargetStatus.PENDING, TargetStatus.CALLING)
# Results of an attempt (CampaignTarget.result).
ANSWERED, BUSY, NO_ANSWER, FAILED, TIMEOUT, EXPIRED = (
    "answered",
    "busy",
    "no_answer",
    "failed",
    "timeout",
    "expired",
)
SKIP_DND, SKIP_BLACKLIST = "dnd", "blacklist"
RETRIED = (BUSY, NO_ANSWER, FAILED)
DEFAULT_RETRY_MINUTES = {BUSY: 10, NO_ANSWER: 30, FAILED: 60}
# Hang-up causes a PBX reports for an unanswered call, as results (anything else: failed).
CAUSES = {
    "busy": BUSY,
    "userbusy": BUSY,
    "noanswer": NO_ANSWER,
    "no_answer": NO_ANSWER,
    "timeout": NO_ANSWER,
    "normalclearing": NO_ANSWER,  # it rang and nobody picked up
    "cancel": NO_ANSWER,
    "": NO_ANSWER,
}
RING_TIMEOUT = timedelta(minutes=10)  # an unanswered attempt that never reported back
TALK_TIMEOUT = timedelta(hours=2)  # an answered call whose hangup never came


def call_id_for(target: CampaignTarget) -> str:
    return f"cmp-{target.campaign_id}-{target.id}-{target.attempts}"


def parse_call_id(call_id: str) -> tuple[int, int, int] | None:
    """(campaign id, target id, attempt) of a campaign call id, else None."""
    found = CALL_ID.match(call_id or "")
    return (int(found[1]), int(found[2]), int(found[3])) if found else None


def retry_minutes(campaign: Campaign, result: str) -> int:
    key = FAILED if result == TIMEOUT else result
    value = (campaign.retry_minutes or {}).get(key)
    return int(value) if value is not None else DEFAULT_RETRY_MINUTES.get(key, 60)


# --- the calling window -----------------------------------------------------------------------------


def _wall(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def in_window(session: Session, campaign: Campaign, at: datetime) -> bool:
    """Whether `campaign` may call at `at`: within its dates, on one of its weekdays (and a working
    day of the business calendar when asked), between its local start and end times."""
    if campaign.starts_at is not None and at < campaign.starts_at:
        return False
    if campaign.ends_at is not None and at >= campaign.ends_at:
        return False
    local = clock.to_local(at)
    if local.isoweekday() not in (campaign.weekdays or []):
        return False
    if campaign.working_days_only:
        from kefu.org.calendar import service as calendar

        if not calendar.calendar_for(session).resolver.is_workday(local.date()):
            return False
    return _wall(campaign.window_start) <= local.time().replace(tzinfo=None) < _wall(campaign.window_end)


# --- settling a target ------------------------------------------------------------------------------


def settle(session: Session, campaign: Campaign, target: CampaignTarget, result: str, at: datetime) -> None:
    """The attempt in progress ended with `result`: done, pending again later, or failed."""
    target.result = result
    target.updated_at = at
    if result == ANSWERED:
        target.status = TargetStatus.DONE.value
        target.next_attempt_at = None
        from kefu.callcenter import campaign_survey

        campaign_survey.target_done(session, campaign, target)
    elif target.attempts >= campaign.max_attempts:
        target.status, target.next_attempt_at = TargetStatus.FAILED.value, None
    else:
        target.status = TargetStatus.PENDING.value
        target.next_attempt_at = at + timedelta(minutes=retry_minutes(campaign, result))
    session.flush()
    finish_if_done(session, campaign, at)


def finish_if_done(session: Session, campaign: Campaign, at: datetime | None = None) -> bool:
    """A running campaign whose targets are all final is finished."""
    if campaign.status != CampaignStatus.RUNNING:
        return False
    open_left = session.scalar(
        select(func.count())
        .select_from(CampaignTarget)
        .where(CampaignTarget.campaign_id == campaign.id, CampaignTarget.status.in_([s.value for s in OPEN]))
    )
    if open_left:
        return False
    campaign.status = CampaignStatus.FINISHED.value
    campaign.finished_at = at or clock.now()
    campaign.updated_at = campaign.finished_at
    session.flush()
    return True


def _result_of(call: Call) -> str:
    if call.answered_at is not None:
        return ANSWERED
    cause = (call.end_cause or "").replace(" ", "").lower()
    return CAUSES.get(cause, FAILED)


def call_reported(session: Session, call: Call) -> None:
    """Called by `cti.ingest` after every applied event: a campaign call is linked to its campaign,
    and its end settles the target of the attempt it belongs to (a late event of an older attempt
    changes nothing)."""
    parsed = parse_call_id(call.call_id)
    if parsed is None:
        return
    campaign_id, target_id, attempt = parsed
    target = session.scalar(
        select(CampaignTarget).where(
            CampaignTarget.id == target_id, CampaignTarget.campaign_id == campaign_id
        )
    )
    if target is None:
        return
    if call.campaign_id is None:
        call.campaign_id = campaign_id
    if call.customer_id is None and target.customer_id is not None:
        call.customer_id = target.customer_id
    if target.attempts != attempt or target.status != TargetStatus.CALLING:
        return
    target.call_pk = call.id
    if call.answered_at is not None and target.result != ANSWERED:
        target.result = ANSWERED  # answered, still talking: done when it ends
    if call.ended_at is None:
        session.flush()
        return
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    settle(session, campaign, target, _result_of(call), call.ended_at)


# --- one round ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    target_id: int
    call_id: str


def _skip_reason(
    session: Session, campaign: Campaign, target: CampaignTarget, at: datetime
) -> tuple[str, str]:
    """(result, reason) when the number may not be called now, else ("", "")."""
    from kefu.messaging import blacklist, dnd

    verdict = dnd.check(session, target.number_key, campaign.business_category_id, at=at)
    if verdict.mode is not None:
        return SKIP_DND, f"{verdict.mode.value}: {verdict.reason()}"[:200]
    listed = blacklist.lookup(session, target.number_key, at=at)
    if listed is not None:
        return SKIP_BLACKLIST, f"{listed.level.value}: {listed.reason}"[:200]
    return "", ""


def claim(session: Session, target_id: int, at: datetime) -> bool:
    """Take a pending, due target for one attempt; False when another worker has it (or it is not due)."""
    result = session.execute(
        update(CampaignTarget)
        .where(
            CampaignTarget.id == target_id,
            CampaignTarget.status == TargetStatus.PENDING.value,
            or_(CampaignTarget.next_attempt_at.is_(None), CampaignTarget.next_attempt_at <= at),
        )
        .values(
            status=TargetStatus.CALLING.value,
            attempts=CampaignTarget.attempts + 1,
            last_attempt_at=at,
            next_attempt_at=None,
            updated_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def budget(session: Session, campaign: Campaign, at: datetime) -> int:
    """How many calls the campaign may start now (pacing)."""
    calling = session.scalar(
        select(func.count()).where(
            CampaignTarget.campaign_id == campaign.id, CampaignTarget.status == TargetStatus.CALLING.value
        )
    )
    started = session.scalar(
        select(func.count()).where(
            CampaignTarget.campaign_id == campaign.id,
            CampaignTarget.last_attempt_at > at - timedelta(minutes=1),
            CampaignTarget.attempts > 0,
        )
    )
    return max(0, min(campaign.calls_per_minute - (started or 0), campaign.max_concurrent - (calling or 0)))


def due_ids(session: Session, campaign_id: int, at: datetime, limit: int) -> list[int]:
    return list(
        session.scalars(
            select(CampaignTarget.id)
            .where(
                CampaignTarget.campaign_id == campaign_id,
                CampaignTarget.status == TargetStatus.PENDING.value,
                or_(CampaignTarget.next_attempt_at.is_(None), CampaignTarget.next_attempt_at <= at),
            )
            .order_by(
                CampaignTarget.next_attempt_at.is_not(None), CampaignTarget.next_attempt_at, CampaignTarget.id
            )
            .limit(limit)
        )
    )


def _expire(session: Session, campaign: Campaign, at: datetime) -> None:
    """Past its end: targets still waiting fail (expired); the campaign finishes once calls end."""
    session.execute(
        update(CampaignTarget)
        .where(CampaignTarget.campaign_id == campaign.id, CampaignTarget.status == TargetStatus.PENDING.value)
        .values(status=TargetStatus.FAILED.value, result=EXPIRED, next_attempt_at=None, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    finish_if_done(session, campaign, at)


def plan_round(session: Session, campaign_id: int, at: datetime) -> list[Placed]:
    """Claim this round's targets of one campaign (its row locked on PostgreSQL, so rounds of one
    campaign pace together); numbers refused by do-not-disturb or the blacklist are skipped."""
    campaign = session.scalar(select(Campaign).where(Campaign.id == campaign_id).with_for_update())
    if campaign is None or campaign.status != CampaignStatus.RUNNING:
        return []
    if campaign.ends_at is not None and at >= campaign.ends_at:
        _expire(session, campaign, at)
        return []
    if not in_window(session, campaign, at):
        return []
    room = budget(session, campaign, at)
    placed: list[Placed] = []
    skipped = False
    while room > 0:
        candidates = due_ids(session, campaign.id, at, room * 2)
        if not candidates:
            break
        for target_id in candidates:
            if room <= 0:
                break
            if not claim(session, target_id, at):
                continue  # another round took it
            target = session.get(CampaignTarget, target_id, populate_existing=True)
            assert target is not None
            result, reason = _skip_reason(session, campaign, target, at)
            if result:
                target.status, target.result, target.skip_reason = TargetStatus.SKIPPED.value, result, reason
                target.attempts -= 1  # never called
                skipped = True
                continue
            placed.append(Placed(target.id, call_id_for(target)))
            room -= 1
    session.flush()
    if skipped:
        finish_if_done(session, campaign, at)
    return placed


def originate(session: Session, placed: Placed, at: datetime) -> None:
    """Ask the PBX to place one claimed attempt; a refusal is a failed attempt."""
    target = session.get(CampaignTarget, placed.target_id)
    if target is None or target.status != TargetStatus.CALLING.value:
        return
    campaign = session.get(Campaign, target.campaign_id)
    assert campaign is not None
    queue_code = None
    if campaign.mode == "agent" and campaign.queue_id is not None:
        queue_code = session.scalar(select(CallQueue.code).where(CallQueue.id == campaign.queue_id))
    try:
        with session.begin_nested():
            control.adapter().originate(
                session,
                number=target.number,
                call_id=placed.call_id,
                campaign=campaign,
                queue_code=queue_code,
            )
    except KefuError as exc:
        log.warning("campaign %s: could not call target %s: %s", campaign.id, target.id, exc)
        session.refresh(target)
        if target.status == TargetStatus.CALLING.value:
            settle(session, campaign, target, FAILED, at)


def release_stale(at: datetime | None = None) -> int:
    """Attempts that never reported back: unanswered after RING_TIMEOUT → a failed attempt (timeout);
    answered but never hung up after TALK_TIMEOUT → done."""
    at = at or clock.now()
    released = 0
    with db.unit_of_work() as session:
        stale = session.scalars(
            select(CampaignTarget)
            .where(
                CampaignTarget.status == TargetStatus.CALLING.value,
                or_(
                    and_(
                        CampaignTarget.result != ANSWERED, CampaignTarget.last_attempt_at <= at - RING_TIMEOUT
                    ),
                    CampaignTarget.last_attempt_at <= at - TALK_TIMEOUT,
                ),
            )
            .with_for_update(skip_locked=True)
        ).all()
        for target in stale:
            campaign = session.get(Campaign, target.campaign_id)
            assert campaign is not None
            settle(session, campaign, target, ANSWERED if target.result == ANSWERED else TIMEOUT, at)
            released += 1
    return released


def dial(campaign_id: int | None = None) -> int:
    """One round of the dialler over the running campaigns (or one); returns the calls started."""
    at = clock.now()
    release_stale(at)
    with db.unit_of_work() as session:
        stmt = select(Campaign.id).where(Campaign.status == CampaignStatus.RUNNING.value)
        if campaign_id is not None:
            stmt = stmt.where(Campaign.id == campaign_id)
        ids = list(session.scalars(stmt.order_by(Campaign.id)))
    started = 0
    for cid in ids:
        with db.unit_of_work() as session:
            placed = plan_round(session, cid, at)
        for one in placed:
            with db.unit_of_work() as session:
                originate(session, one, at)
        started += len(placed)
    if started:
        log.info("campaigns: %s calls started", started)
    return started


dial_task = jobs.task(name="callcenter.campaigns.dial")(dial)
