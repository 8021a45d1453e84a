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

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String
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
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class QueueMember(Base):
    __tablename__ = "cc_queue_member"

    queue_id: Mapped[int] = mapped_column(ForeignKey("cc_queue.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True, index=True
    )


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
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact_record.id", ondelete="SET NULL"))
    last_event_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


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
