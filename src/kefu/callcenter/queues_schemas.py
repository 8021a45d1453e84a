"""API shapes of queues, skills, agents' skill levels and the PBX's routing request (CC-2)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kefu.callcenter.models import QueueStrategy


class SkillIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=40)
    name: str = Field(max_length=100)
    enabled: bool = True


class SkillRead(SkillIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime


class QueueSkillIn(BaseModel):
    skill_id: int
    min_level: int = Field(default=1, description="1..10")


class QueueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=40, description="The name the PBX reports the queue by.")
    name: str = Field(max_length=100)
    strategy: QueueStrategy = QueueStrategy.LONGEST_IDLE
    department_id: int | None = None
    routing: Literal["pbx", "kefu"] = Field(
        default="pbx", description="Who picks the agent: the PBX, or kefu's ACD."
    )
    wrap_up_seconds: int = 30
    service_level_seconds: int = 20
    service_level_target: float = 0.8
    max_wait_seconds: int | None = None
    overflow_after_seconds: int | None = None
    overflow_queue_id: int | None = None
    tier_priority: dict[str, int] = Field(
        default_factory=dict, description="customer_tier code -> priority (higher is served first)."
    )
    member_ids: list[int] = Field(default_factory=list, max_length=1000)
    skills: list[QueueSkillIn] = Field(default_factory=list, max_length=50)
    enabled: bool = True


class QueueRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    strategy: str
    department_id: int | None
    routing: str
    wrap_up_seconds: int
    service_level_seconds: int
    service_level_target: float
    max_wait_seconds: int | None
    overflow_after_seconds: int | None
    overflow_queue_id: int | None
    tier_priority: dict[str, int]
    member_ids: list[int] = []
    skills: list[QueueSkillIn] = []
    enabled: bool
    updated_at: datetime


class AgentSkillsIn(BaseModel):
    levels: dict[int, int] = Field(description="skill id -> level 1..10; a skill left out is removed.")


class AgentSkillsRead(BaseModel):
    user_id: int
    levels: dict[int, int]


class RouteIn(BaseModel):
    """The PBX delegates the choice of agent for a caller waiting in a queue routed by kefu."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    call_id: str = Field(min_length=1, max_length=250)
    queue: str = Field(min_length=1, max_length=40, description="The queue's code.")
    from_: str = Field(default="", alias="from", max_length=80)
    tier: str | None = Field(default=None, max_length=60, description="The caller's customer tier, if known.")


class RouteOut(BaseModel):
    """Ring `agent_id` at `extension`; or `wait` (ask again), with the caller's place; `timed_out`:
    the queue's maximum wait passed: play the message and end the call."""

    call: int
    queue: str
    agent_id: int | None = None
    extension: str | None = None
    wait: bool = False
    position: int | None = None
    estimated_wait_seconds: int | None = None
    timed_out: bool = False
