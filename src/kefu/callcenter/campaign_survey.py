"""What a campaign call plays (外呼语音/满意度调查): the PBX asks the step API once the customer answers,
then after every key press, and does what the answer says — play these prompts, collect a digit,
hang up, or put the customer in a queue.

A notice or payment reminder plays its prompt (the script with the target's values, e.g. the amount
due) and hangs up. A survey plays its prompt and then asks its questions in order; each digit is
recorded in the target's answers as the question's answer code (an unknown digit asks again, three
times at most, then the question is passed over). Survey answers that are codes of the
`satisfaction` dictionary feed satisfaction: the results page counts them per question, and a
target about a ticket records the ticket's callback satisfaction (`target_done`).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.callcenter.campaign_dialer import ANSWERED, parse_call_id
from kefu.callcenter.models import CallQueue, Campaign, CampaignKind, CampaignTarget, TargetStatus
from kefu.core import clock, i18n
from kefu.core.errors import NotFound
from kefu.core.i18n import lazy
from kefu.tickets import callbacks

SATISFACTION = "satisfaction"
INVALID_MAX = 3
INVALID = "_invalid"  # {question key: wrong digits so far}
PASSED = "_passed"  # questions given up after INVALID_MAX wrong digits
TIMEOUT_SECONDS = 8

THANKS = lazy("Thank you for your answers. Goodbye.")
TRY_AGAIN = lazy("Sorry, that key is not one of the choices.")
NO_SUCH_CALL = lazy("No campaign call is in progress under this call id")


@dataclass
class Prompt:
    prompt_code: str
    text: str


@dataclass
class Step:
    action: str  # collect | hangup | queue
    play: list[Prompt] = field(default_factory=list)
    question: str | None = None
    digits: list[str] = field(default_factory=list)
    timeout_seconds: int = TIMEOUT_SECONDS
    queue: str | None = None


def render_script(campaign: Campaign, target: CampaignTarget) -> str:
    """The campaign's script with the target's values (a value it lacks reads as empty)."""
    from kefu.messaging import render

    if not campaign.script:
        return ""
    values: dict[str, Any] = {"name": target.name, "customer": {"name": target.name}, "number": target.number}
    values.update(target.variables or {})
    try:
        for name in render.variables(campaign.script) - set(values):
            values[name] = ""
        return render.render(campaign.script, values, field="script")
    except Exception:  # a script that no longer renders still says something
        return campaign.script


def real_answers(answers: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in (answers or {}).items() if not k.startswith("_")}


def _current(campaign: Campaign, answers: dict[str, Any]) -> dict[str, Any] | None:
    passed = set(answers.get(PASSED) or [])
    for question in campaign.questions or []:
        if question["key"] not in answers and question["key"] not in passed:
            return question
    return None


def _collect(question: dict[str, Any], play: list[Prompt]) -> Step:
    play.append(Prompt(question.get("prompt_code", ""), question["text"]))
    return Step(action="collect", play=play, question=question["key"], digits=sorted(question["answers"]))


def step(session: Session, *, call_id: str, digits: str = "") -> Step:
    """The next thing the PBX does on campaign call `call_id`, after the customer pressed `digits`
    (empty: the call was just answered)."""
    parsed = parse_call_id(call_id)
    if parsed is None:
        raise NotFound(NO_SUCH_CALL)
    campaign_id, target_id, attempt = parsed
    target = session.scalar(
        select(CampaignTarget)
        .where(CampaignTarget.id == target_id, CampaignTarget.campaign_id == campaign_id)
        .with_for_update()
    )
    if target is None or target.attempts != attempt or target.status != TargetStatus.CALLING:
        raise NotFound(NO_SUCH_CALL)
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    target.result = ANSWERED  # the customer is on the line
    target.updated_at = clock.now()
    opening = Prompt(campaign.prompt_code, render_script(campaign, target))
    if campaign.mode == "agent":
        queue = session.scalar(select(CallQueue.code).where(CallQueue.id == campaign.queue_id))
        return Step(action="queue", play=[opening], queue=queue)
    if campaign.kind != CampaignKind.SURVEY:
        return Step(action="hangup", play=[opening])
    answers = dict(target.answers or {})
    play: list[Prompt] = []
    question = _current(campaign, answers)
    pressed = (digits or "").strip()[:1]
    if not pressed and not real_answers(answers) and not answers.get(INVALID):
        play.append(opening)
    elif question is not None and pressed:
        if pressed in question["answers"]:
            answers[question["key"]] = question["answers"][pressed]
        else:
            wrong = {**(answers.get(INVALID) or {})}
            wrong[question["key"]] = wrong.get(question["key"], 0) + 1
            answers[INVALID] = wrong
            if wrong[question["key"]] >= INVALID_MAX:
                answers[PASSED] = [*(answers.get(PASSED) or []), question["key"]]
            else:
                play.append(Prompt("", i18n.gettext(TRY_AGAIN)))
        target.answers = answers
    session.flush()
    question = _current(campaign, answers)
    if question is None:
        return Step(action="hangup", play=[*play, Prompt("", i18n.gettext(THANKS))])
    return _collect(question, play)


# --- satisfaction -----------------------------------------------------------------------------------------


def _satisfaction_codes(session: Session) -> dict[str, str]:
    from kefu.core.errors import KefuError
    from kefu.org.config import dictionary_cache

    try:
        locale = i18n.get_locale()
        return {
            i.code: i.text(locale)
            for i in dictionary_cache.items(session, SATISFACTION, include_disabled=True)
        }
    except KefuError:
        return {}


def satisfaction_of(session: Session, campaign: Campaign, answers: dict[str, Any]) -> str | None:
    """The first answer (in question order) that is a satisfaction code."""
    codes = _satisfaction_codes(session)
    for question in campaign.questions or []:
        value = answers.get(question["key"])
        if value in codes:
            return str(value)
    return None


def target_done(session: Session, campaign: Campaign, target: CampaignTarget) -> None:
    """A reached survey target about a ticket records the ticket's callback satisfaction (回访满意度).

    The survey is the callback: an open callback of the ticket (pending or unreached) is completed
    with the answer; a ticket without a live callback gets a completed one (no assignee, the dialler
    made the call); a callback a person already completed keeps its answer. Either way the ticket's
    processing log says what the customer answered.
    """
    if campaign.kind != CampaignKind.SURVEY or target.ticket_id is None:
        return
    satisfaction = satisfaction_of(session, campaign, target.answers or {})
    if satisfaction is None:
        return
    note = f"{campaign.name}: " + ", ".join(f"{k}={v}" for k, v in real_answers(target.answers).items())
    callbacks.record_survey_result(
        session,
        ticket_id=target.ticket_id,
        satisfaction=satisfaction,
        note=note,
        source={"campaign_id": campaign.id, "target_id": target.id},
    )


# --- results ------------------------------------------------------------------------------------------------


@dataclass
class QuestionResult:
    key: str
    text: str
    answered: int
    counts: dict[str, int]  # answer code -> targets, in the question's digit order
    labels: dict[str, str]  # answer code -> what it reads as (satisfaction's own words)


def distribution(session: Session, campaign: Campaign) -> list[QuestionResult]:
    """Per question, how many targets gave each answer."""
    tallies: dict[str, Counter[str]] = {q["key"]: Counter() for q in campaign.questions or []}
    rows = session.scalars(
        select(CampaignTarget.answers).where(
            CampaignTarget.campaign_id == campaign.id, CampaignTarget.result == ANSWERED
        )
    )
    for answers in rows:
        for key, value in (answers or {}).items():
            if key in tallies:
                tallies[key][str(value)] += 1
    codes = _satisfaction_codes(session)
    found = []
    for question in campaign.questions or []:
        order = list(dict.fromkeys(question["answers"][d] for d in sorted(question["answers"])))
        tally = tallies[question["key"]]
        counts = {code: tally.get(code, 0) for code in order}
        counts.update({code: n for code, n in tally.items() if code not in counts})
        found.append(
            QuestionResult(
                key=question["key"],
                text=question["text"],
                answered=sum(tally.values()),
                counts=counts,
                labels={code: codes.get(code, code) for code in counts},
            )
        )
    return found


EXPORT_HEADER = (
    "number",
    "name",
    "customer_id",
    "ticket_id",
    "status",
    "result",
    "skip_reason",
    "attempts",
    "last_attempt_at",
)


def export(session: Session, actor: Any, campaign: Campaign, *, status: str | None = None) -> Iterator[str]:
    """The targets with their results and answers as CSV text (UTF-8 with BOM); the export is audited."""
    from kefu.callcenter.campaigns import FUNCTION, targets_stmt

    keys = [q["key"] for q in campaign.questions or []]
    audit.record(
        session,
        actor=actor,
        action="campaign.export",
        function=FUNCTION,
        target=campaign,
        target_label=campaign.name,
        summary=f"status={status or 'any'}",
    )
    rows = session.scalars(targets_stmt(campaign, status=status).order_by(CampaignTarget.id)).all()

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([*EXPORT_HEADER, *keys])
        yield "\ufeff" + buffer.getvalue()
        for target in rows:
            buffer.seek(0)
            buffer.truncate()
            last = (
                clock.to_local(target.last_attempt_at).strftime("%Y-%m-%d %H:%M:%S")
                if target.last_attempt_at
                else ""
            )
            answers = target.answers or {}
            writer.writerow(
                [
                    target.number,
                    target.name,
                    target.customer_id or "",
                    target.ticket_id or "",
                    target.status,
                    target.result,
                    target.skip_reason,
                    target.attempts,
                    last,
                    *(answers.get(k, "") for k in keys),
                ]
            )
            yield buffer.getvalue()

    return lines()
