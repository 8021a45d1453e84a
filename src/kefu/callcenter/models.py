"""Tables of the call center (呼叫中心): calls as the PBX reported them, the events that built them,
queues with their members, and each agent's live state with its history.

A call's timestamps are *facts* merged from its events (the earliest ringing, the earliest answer,
the hangup); its state and outcome are derived from them. That is what makes the CTI API idempotent
and order-insensitive: a replayed or late event can only fill in a fact, never rewind the call.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.customers.models import key_column
from kefu.db import Base


class Direction(StrEnum):
    IN = "in"  # the customer called us (呼入)
    OUT = "out"  # an agent or a campaign called the customer (外呼)


class CallState(StrEnum):
    NEW = "new"  # the PBX announced it (IVR, before a queue)
    QUEUED = "queued"  # waiting in a queue (排队)
    RINGING = "ringing"  # ringing at one or more agents (振铃)
    TALKING = "talking"  # answered (通话)
    HELD = "held"  # answered and on hold (保持)
    ENDED = "ended"


class Outcome(StrEnum):
    ANSWERED = "answered"  # an agent (or, outbound, the customer) answered
    ABANDONED = "abandoned"  # inbound: the caller hung up before an agent answered (放弃)
    MISSED = "missed"  # inbound: nobody answered (no agent, ring timeout, closed) (未接)
    UNANSWERED = "unanswered"  # outbound: the customer did not answer or was busy (未接通)
    SELF_SERVICE = "ivr"  # inbound: ended in the IVR, never offered to an agent (自助)


class AgentState(StrEnum):
    OFFLINE = "offline"  # not logged in to the call center (未签入)
    READY = "ready"  # waiting for calls (就绪/示闲)
    NOT_READY = "not_ready"  # logged in, taking no calls, with a reason (未就绪/示忙)
    RINGING = "ringing"  # a call rings at the agent's phone (振铃)
    TALKING = "talking"  # on a call (通话)
    WRAP_UP = "wrap_up"  # after-call work (话后处理)


class QueueStrategy(StrEnum):
    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"
    FEWEST_CALLS = "fewest_calls"
    SKILL_WEIGHTED = "skill_weighted"


class CallQueue(Base):
    """A queue (队列/技能组) the PBX puts callers in; its members are the agents who serve it."""

    __tablename__ = "cc_queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # the name the PBX reports
    name: Mapped[str] = mapped_column(String(100))
    strategy: Mapped[str] = mapped_column(String(20), default=QueueStrategy.LONGEST_IDLE.value)
    # The department whose agents staff it: a supervisor scoped to a department sees its queues.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    wrap_up_seconds: Mapped[int] = mapped_column(Integer, default=30)
    # Service level: the share of calls answered within `service_level_seconds` (e.g. 80/20).
    service_level_seconds: Mapped[int] = mapped_column(Integer, default=20)
    service_level_target: Mapped[float] = mapped_column(Float, default=0.8)
    max_wait_seconds: Mapped[int | None] = mapped_column(Integer)
    overflow_after_seconds: Mapped[int | None] = mapped_column(Integer)
    overflow_queue_id: Mapped[int | None] = mapped_column(ForeignKey("cc_queue.id", ondelete="SET NULL"))
    # Who picks the agent: the PBX (it reports ringing) or kefu's ACD (the PBX asks, or kefu offers
    # the call through the CTI adapter).
    routing: Mapped[str] = mapped_column(String(10), default="pbx")
    # Customer tier (the `customer_tier` dictionary code) -> priority; higher is served first (VIP ahead).
    tier_priority: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class QueueMember(Base):
    __tablename__ = "cc_queue_member"

    queue_id: Mapped[int] = mapped_column(ForeignKey("cc_queue.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Skill(Base):
    """A skill (技能) agents have at a level 1..10 and queues require at a minimum level."""

    __tablename__ = "cc_skill"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class AgentSkill(Base):
    """An agent's level (1..10) in a skill."""

    __tablename__ = "cc_agent_skill"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("cc_skill.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    level: Mapped[int] = mapped_column(Integer, default=5)


class QueueSkill(Base):
    """A skill a queue requires, at a minimum level: agents who have every required skill serve it."""

    __tablename__ = "cc_queue_skill"

    queue_id: Mapped[int] = mapped_column(ForeignKey("cc_queue.id", ondelete="CASCADE"), primary_key=True)
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("cc_skill.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    min_level: Mapped[int] = mapped_column(Integer, default=1)


class Agent(Base):
    """An agent's live call-center state (座席状态); one row per user who ever logged in."""

    __tablename__ = "cc_agent"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default=AgentState.OFFLINE.value)
    reason: Mapped[str] = mapped_column(String(60), default="")  # why not ready (a `not_ready_reason` code)
    since: Mapped[datetime] = mapped_column(default=clock.now)
    extension: Mapped[str] = mapped_column(String(20), default="", index=True)
    queue_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # the queues logged in to
    logged_in_at: Mapped[datetime | None] = mapped_column()
    # The call ringing or in progress at the agent, or the one being wrapped up.
    call_id: Mapped[int | None] = mapped_column(ForeignKey("cc_call.id", ondelete="SET NULL"))
    wrap_up_until: Mapped[datetime | None] = mapped_column()
    # When the agent last finished a call (longest-idle routing) and how many were taken today.
    idle_since: Mapped[datetime | None] = mapped_column()
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}


class AgentStateSpan(Base):
    """One stretch of an agent in one state (状态日志): the source of occupancy and state statistics."""

    __tablename__ = "cc_agent_state_log"
    __table_args__ = (Index("ix_cc_agent_state_log_user_started", "user_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(60), default="")
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column(index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("cc_call.id", ondelete="SET NULL"))


class Call(Base):
    """A call (通话) as reported through CTI, keyed by the PBX's call id."""

    __tablename__ = "cc_call"
    __table_args__ = (
        Index("ix_cc_call_started", "started_at"),
        Index("ix_cc_call_agent_started", "agent_id", "started_at"),
        Index("ix_cc_call_queue_started", "queue_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(250), unique=True)  # the PBX's id (Zammad: callId)
    direction: Mapped[str] = mapped_column(String(3), default=Direction.IN.value)
    from_number: Mapped[str] = mapped_column(String(80), default="")
    to_number: Mapped[str] = mapped_column(String(80), default="")
    # The customer's number (caller inbound, callee outbound) as a lookup key (E.164).
    remote_key: Mapped[str] = mapped_column(key_column(80), default="", index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("cc_queue.id", ondelete="SET NULL"))
    # The agent on the call: the one who answered last (after a transfer, the receiving agent).
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    agent_since: Mapped[datetime | None] = mapped_column()
    # The agent's department when they took the call (data scope of call records), else the queue's.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    # Agents the call rang at (a group ring rings several), in order.
    offered_to: Mapped[list[int]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(10), default=CallState.NEW.value)
    outcome: Mapped[str | None] = mapped_column(String(12))
    end_cause: Mapped[str] = mapped_column(String(40), default="")
    started_at: Mapped[datetime] = mapped_column()
    queued_at: Mapped[datetime | None] = mapped_column()
    ringing_at: Mapped[datetime | None] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    hold_started_at: Mapped[datetime | None] = mapped_column()
    hold_seconds: Mapped[int] = mapped_column(Integer, default=0)
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    # Derived when the facts allow: the caller's wait until answer or hangup, and the talk time.
    wait_seconds: Mapped[int | None] = mapped_column(Integer)
    talk_seconds: Mapped[int | None] = mapped_column(Integer)
    # What the caller entered in the IVR (account number, menu path, verified flag …), for the pop.
    ivr: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recording_url: Mapped[str] = mapped_column(String(500), default="")
    # A recording the PBX uploaded to kefu's file storage instead of reporting a URL.
    recording_key: Mapped[str] = mapped_column(String(80), default="")
    # The outbound campaign (外呼任务) that placed the call.
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("cc_campaign.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact_record.id", ondelete="SET NULL"))
    last_event_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)

    @property
    def has_recording(self) -> bool:
        return bool(self.recording_key or self.recording_url)


class CallEvent(Base):
    """Every CTI event received, once: `dedupe_key` refuses a replay or duplicate."""

    __tablename__ = "cc_call_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_pk: Mapped[int] = mapped_column(ForeignKey("cc_call.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    occurred_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=clock.now)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class VoicePrompt(Base):
    """A voice prompt (语音提示) the IVR and campaigns play: one audio file per code and language."""

    __tablename__ = "cc_prompt"
    __table_args__ = (UniqueConstraint("code", "language", name="uq_cc_prompt_code_language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(100))
    # welcome / menu / queue / self-service / error / holiday / goodbye / campaign … (a dictionary).
    category: Mapped[str] = mapped_column(String(40), default="menu")
    language: Mapped[str] = mapped_column(String(10), default="zh_CN")
    # What the prompt says: shown in the UI and spoken by text-to-speech when no file is uploaded.
    text: Mapped[str] = mapped_column(Text, default="")
    file_key: Mapped[str] = mapped_column(String(80), default="")
    file_name: Mapped[str] = mapped_column(String(200), default="")
    content_type: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class IvrMenu(Base):
    """An IVR menu (语音导航菜单): a prompt, then a DTMF choice among its options."""

    __tablename__ = "cc_ivr_menu"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    prompt_code: Mapped[str] = mapped_column(String(60), default="")
    # The dialled numbers (service numbers such as 96xxx) whose calls start in this menu.
    entry_numbers: Mapped[list[str]] = mapped_column(JSON, default=list)
    timeout_seconds: Mapped[int] = mapped_column(Integer, default=5)
    max_retries: Mapped[int] = mapped_column(Integer, default=3)
    invalid_prompt_code: Mapped[str] = mapped_column(String(60), default="")
    # What happens when the caller keeps pressing nothing or wrong keys: an action like an option's.
    fallback: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class IvrOption(Base):
    """One key of a menu and what it does (go to a menu, a queue, a self-service query, …)."""

    __tablename__ = "cc_ivr_option"
    __table_args__ = (UniqueConstraint("menu_id", "digit", name="uq_cc_ivr_option_menu_digit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    menu_id: Mapped[int] = mapped_column(ForeignKey("cc_ivr_menu.id", ondelete="CASCADE"))
    digit: Mapped[str] = mapped_column(String(4))
    label: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)


class IvrSession(Base):
    """A caller's walk through the IVR, keyed by the PBX's call id; what it collected feeds the pop."""

    __tablename__ = "cc_ivr_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(250), unique=True)
    language: Mapped[str] = mapped_column(String(10), default="zh_CN")
    menu_id: Mapped[int | None] = mapped_column(ForeignKey("cc_ivr_menu.id", ondelete="SET NULL"))
    # Where the caller is: in a menu, entering digits for a query, recording, done.
    step: Mapped[str] = mapped_column(String(20), default="menu")
    step_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    # Collected data (account number, verified flag, query results …) and the menu path.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    path: Mapped[list[str]] = mapped_column(JSON, default=list)
    outcome: Mapped[str] = mapped_column(String(20), default="")
    started_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    ended_at: Mapped[datetime | None] = mapped_column()
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}


class CampaignKind(StrEnum):
    SURVEY = "survey"  # 满意度调查
    PAYMENT_REMINDER = "payment_reminder"  # 催缴
    NOTICE = "notice"  # 通知


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    CANCELLED = "cancelled"


class Campaign(Base):
    """An outbound campaign (外呼任务): whom to call, when, how fast, how often, and what to say."""

    __tablename__ = "cc_campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default=CampaignKind.NOTICE.value)
    status: Mapped[str] = mapped_column(String(12), default=CampaignStatus.DRAFT.value, index=True)
    # "ivr": the dialler plays the prompt / survey itself; "agent": answered calls go to `queue_id`.
    mode: Mapped[str] = mapped_column(String(10), default="ivr")
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("cc_queue.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    # The business type (业务类型) do-not-disturb is checked against.
    business_category_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_category.id", ondelete="SET NULL")
    )
    prompt_code: Mapped[str] = mapped_column(String(60), default="")
    script: Mapped[str] = mapped_column(Text, default="")
    # Survey: [{"key", "text", "prompt_code", "answers": {"1": "very_satisfied", …}}].
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Calling window: local times "HH:MM", ISO weekdays, and whether to skip non-working days.
    window_start: Mapped[str] = mapped_column(String(5), default="09:00")
    window_end: Mapped[str] = mapped_column(String(5), default="20:00")
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=lambda: [1, 2, 3, 4, 5, 6, 7])
    working_days_only: Mapped[bool] = mapped_column(Boolean, default=False)
    # Pacing: calls in progress at most, and new calls started per minute at most.
    max_concurrent: Mapped[int] = mapped_column(Integer, default=5)
    calls_per_minute: Mapped[int] = mapped_column(Integer, default=10)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    # Minutes before the next attempt, per result (busy, no_answer, failed …).
    retry_minutes: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    starts_at: Mapped[datetime | None] = mapped_column()
    ends_at: Mapped[datetime | None] = mapped_column()
    # Where the list came from: customers (a selection), upload (a file), api (another system).
    source: Mapped[str] = mapped_column(String(10), default="customers")
    external_ref: Mapped[str] = mapped_column(String(100), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}


class TargetStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    CALLING = "calling"  # an attempt is in progress
    DONE = "done"  # reached (answered), survey finished or notice played
    FAILED = "failed"  # attempts used up without reaching the customer
    SKIPPED = "skipped"  # never called: do-not-disturb, blacklist, bad number
    CANCELLED = "cancelled"  # the campaign was cancelled first


class CampaignTarget(Base):
    """One number a campaign calls, with its attempts, result and survey answers."""

    __tablename__ = "cc_campaign_target"
    __table_args__ = (
        UniqueConstraint("campaign_id", "number_key", name="uq_cc_campaign_target_number"),
        Index("ix_cc_campaign_target_due", "campaign_id", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("cc_campaign.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    # A survey about a ticket (e.g. after callback work) writes the answer back to it.
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"))
    number: Mapped[str] = mapped_column(String(40))
    number_key: Mapped[str] = mapped_column(key_column(40))
    name: Mapped[str] = mapped_column(String(100), default="")
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default=TargetStatus.PENDING.value)
    # The last attempt's result: answered, busy, no_answer, failed, refused (hung up at once) …
    result: Mapped[str] = mapped_column(String(20), default="")
    skip_reason: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    last_attempt_at: Mapped[datetime | None] = mapped_column()
    call_pk: Mapped[int | None] = mapped_column(ForeignKey("cc_call.id", ondelete="SET NULL"))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
