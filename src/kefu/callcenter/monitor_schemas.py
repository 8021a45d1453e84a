"""API shapes of the call statistics, the monitor and the wallboard (read from the services'
dataclasses). Durations are seconds; rates are shares (0.8 = 80 %), None when nothing was offered."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from kefu.callcenter.stats import GroupBy


class FiguresRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    inbound: int
    outbound: int
    offered: int = Field(description="Inbound calls that reached a queue or an agent and ended.")
    answered: int = Field(description="Inbound calls answered by an agent.")
    abandoned: int = Field(description="Inbound calls whose caller hung up before an answer.")
    missed: int = Field(description="Inbound calls nobody answered (no agent, time-out).")
    self_service: int = Field(description="Inbound calls that ended in the IVR.")
    outbound_answered: int
    answered_in_threshold: int
    handled: int = Field(description="Answered calls of both directions.")
    wait_seconds: float
    answer_wait_seconds: float
    talk_seconds: float
    hold_seconds: float
    wrap_up_seconds: float
    avg_wait: float | None = Field(description="Mean wait of offered calls.")
    avg_answer_speed: float | None = Field(description="Mean wait of answered inbound calls (ASA).")
    avg_talk: float | None
    avg_hold: float | None
    avg_handle: float | None = Field(description="Talk + hold + recorded wrap-up, per handled call.")
    service_level: float | None = Field(description="Answered within the threshold / offered.")
    abandon_rate: float | None = Field(description="Abandoned / offered.")


class StatsRowRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str = Field(description="Local hour or day, queue or agent id; empty for no queue/agent.")
    label: str
    start: datetime | None
    figures: FiguresRead


class StatsFilterRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    date_from: date
    date_to: date
    group_by: GroupBy
    queue_id: int | None
    threshold: int


class StatsRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    filter: StatsFilterRead
    time_zone: str
    rows: list[StatsRowRead]
    total: FiguresRead


class QueueLiveRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    department_id: int | None
    waiting: int
    oldest_waiting_since: datetime | None
    longest_wait_seconds: int
    agents: dict[str, int] = Field(description="Logged-in agents of the queue by state.")
    service_level_seconds: int
    service_level_target: float
    today: FiguresRead


class CallLiveRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    direction: str
    number: str
    state: str
    queue_name: str
    since: datetime


class AgentLiveRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: int
    name: str
    agent_no: str
    extension: str
    department_id: int | None
    department_name: str
    state: str
    since: datetime
    reason: str
    reason_label: str
    queue_ids: list[int]
    queue_names: list[str]
    call: CallLiveRead | None
    calls_today: int = Field(description="Calls the agent talked on today.")


class MonitorRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    queue_id: int | None
    department_id: int | None
    waiting: int
    longest_wait_seconds: int
    agent_states: dict[str, int]
    queues: list[QueueLiveRead]
    agents: list[AgentLiveRead]


class SlotRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    label: str
    start: datetime
    figures: FiguresRead


class BoardRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    queue_id: int | None
    agent_states: dict[str, int]
    waiting: int
    longest_wait_seconds: int
    oldest_waiting_since: datetime | None
    service_level_target: float | None
    today: FiguresRead
    slots: list[SlotRead] = Field(description="Today's calls per half hour (local time).")
