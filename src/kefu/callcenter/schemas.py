"""API shapes of the call center."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kefu.callcenter.cti import Kind

IvrValue = str | int | float | bool | None


class CtiEventIn(BaseModel):
    """One event of the native CTI API. Send `timestamp` (when it happened at the PBX) and, if the
    PBX has one, its own `event_id`: duplicates and replays are then recognised exactly."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    event: Kind
    call_id: str = Field(min_length=1, max_length=250)
    timestamp: datetime | None = Field(default=None, description="When it happened (default: received).")
    event_id: str = Field(default="", max_length=100)
    direction: Literal["in", "out"] | None = None
    from_: str = Field(default="", alias="from", max_length=80)
    to: str = Field(default="", max_length=80)
    queue: str = Field(default="", max_length=40, description="The queue's code.")
    agent: str = Field(
        default="", max_length=200, description="Extension, username, agent number or e-mail of the agent."
    )
    agents: list[str] = Field(default_factory=list, max_length=50, description="A group ring's agents.")
    to_agent: str = Field(default="", max_length=200, description="Transfer: the receiving agent.")
    to_queue: str = Field(default="", max_length=40, description="Transfer: the receiving queue.")
    cause: str = Field(default="", max_length=40, description="Hang-up cause (normalClearing, cancel, …).")
    ivr: dict[str, IvrValue] = Field(default_factory=dict, description="What the caller entered.")
    recording_url: str = Field(default="", max_length=500)

    @field_validator("ivr")
    @classmethod
    def _small(cls, value: dict[str, IvrValue]) -> dict[str, IvrValue]:
        if len(value) > 40:
            raise ValueError("at most 40 entries")
        for key, item in value.items():
            if len(key) > 40 or (isinstance(item, str) and len(item) > 500):
                raise ValueError("keys at most 40 characters, values at most 500")
        return value


class CallRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    call_id: str
    direction: str
    from_number: str
    to_number: str
    customer_id: int | None
    queue_id: int | None
    agent_id: int | None
    offered_to: list[int]
    state: str
    outcome: str | None
    end_cause: str
    started_at: datetime
    queued_at: datetime | None
    ringing_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    wait_seconds: int | None
    talk_seconds: int | None
    hold_seconds: int
    transfers: int
    ivr: dict[str, Any]
    # Played through GET /api/v1/callcenter/calls/{id}/recording; the PBX's address is not shown.
    has_recording: bool
    contact_id: int | None


class CtiResult(BaseModel):
    call: CallRead
    duplicate: bool


class AgentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: int
    state: str
    reason: str
    since: datetime
    extension: str
    queue_ids: list[int]
    logged_in_at: datetime | None
    call_id: int | None
    wrap_up_until: datetime | None


class AgentLogin(BaseModel):
    extension: str | None = Field(default=None, max_length=20, description="Default: your own extension.")
    queue_ids: list[int] | None = Field(default=None, description="Default: all your queues.")


class NotReady(BaseModel):
    reason: str = Field(max_length=60, description="A code of the `not_ready_reason` dictionary.")


class Transfer(BaseModel):
    to_agent_id: int | None = None
    to_queue_id: int | None = None


class Dial(BaseModel):
    number: str = Field(min_length=1, max_length=40)
    customer_id: int | None = None
