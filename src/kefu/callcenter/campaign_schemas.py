"""API shapes of outbound campaigns (外呼任务)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kefu.callcenter.models import CampaignKind, CampaignStatus, TargetStatus
from kefu.messaging.batches_schemas import BatchFilterIn


class QuestionIn(BaseModel):
    key: str = Field(max_length=40, description="Lower-case name of the answer, e.g. overall")
    text: str = Field(max_length=500, description="What the question says (text-to-speech without a prompt)")
    prompt_code: str = Field(default="", max_length=60)
    answers: dict[str, str] = Field(
        description='Keypad digit -> answer code, e.g. {"1": "very_satisfied", "2": "satisfied"}; codes of '
        "the `satisfaction` dictionary feed satisfaction."
    )


class TargetIn(BaseModel):
    number: str = Field(max_length=60)
    name: str = Field(default="", max_length=100)
    variables: dict[str, str | int | float] = Field(
        default_factory=dict, description="Values for the script, e.g. amount, due_date."
    )
    customer_code: str = Field(default="", max_length=40)
    ticket_id: int | None = Field(
        default=None, description="A survey about this ticket records its callback."
    )


class CampaignFields(BaseModel):
    """Fields of a campaign; on PATCH only the given ones change."""

    name: str | None = Field(default=None, max_length=200)
    kind: CampaignKind | None = None
    mode: str | None = Field(
        default=None, pattern="^(ivr|agent)$", description="ivr: the dialler plays; agent: to a queue"
    )
    queue_id: int | None = None
    department_id: int | None = Field(default=None, description="Default: the creator's department.")
    business_category_id: int | None = Field(
        default=None, description="The business type do-not-disturb is checked for."
    )
    prompt_code: str | None = Field(default=None, max_length=60)
    script: str | None = Field(
        default=None,
        max_length=4000,
        description="What is said first; {{ amount }} etc. take the target's values.",
    )
    questions: list[QuestionIn] | None = Field(default=None, max_length=20)
    window_start: str | None = Field(default=None, description="Local HH:MM (Asia/Shanghai)")
    window_end: str | None = Field(default=None, description="Local HH:MM, after the start")
    weekdays: list[int] | None = Field(default=None, description="ISO weekdays 1 (Monday) … 7")
    working_days_only: bool | None = Field(
        default=None, description="Only on working days of the business calendar"
    )
    max_concurrent: int | None = None
    calls_per_minute: int | None = None
    max_attempts: int | None = None
    retry_minutes: dict[str, int] | None = Field(
        default=None, description="Minutes before the next attempt per result: busy, no_answer, failed"
    )
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    external_ref: str | None = Field(
        default=None, max_length=100, description="The submitting system's reference"
    )


class CampaignIn(CampaignFields):
    name: str = Field(max_length=200)
    kind: CampaignKind
    targets: list[TargetIn] = Field(
        default_factory=list,
        max_length=5000,
        description="Numbers to call, added with the campaign (source api).",
    )


class TargetsIn(BaseModel):
    targets: list[TargetIn] = Field(max_length=5000)


class CustomersIn(BaseModel):
    filter: BatchFilterIn = Field(default_factory=BatchFilterIn)


class AddedRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    added: int
    merged: int
    existing: int
    without_number: int
    total: int


class ProgressRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    status: CampaignStatus
    total: int
    by_status: dict[str, int]
    by_result: dict[str, int]
    attempts: int
    reached: int
    reached_rate: float | None = Field(description="Reached / (reached + failed), percent")
    percent: int = Field(description="Targets with a final status, percent")


class CampaignRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: CampaignKind
    status: CampaignStatus
    mode: str
    queue_id: int | None
    department_id: int | None
    business_category_id: int | None
    prompt_code: str
    script: str
    questions: list[dict[str, Any]]
    window_start: str
    window_end: str
    weekdays: list[int]
    working_days_only: bool
    max_concurrent: int
    calls_per_minute: int
    max_attempts: int
    retry_minutes: dict[str, int]
    starts_at: datetime | None
    ends_at: datetime | None
    source: str
    external_ref: str
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: ProgressRead | None = None
    added: AddedRead | None = None


class CampaignPage(BaseModel):
    items: list[CampaignRead]
    total: int


class TargetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    name: str
    customer_id: int | None
    ticket_id: int | None
    variables: dict[str, Any]
    status: TargetStatus
    result: str
    skip_reason: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    call_pk: int | None
    answers: dict[str, Any]


class TargetPage(BaseModel):
    items: list[TargetRead]
    total: int


class QuestionResultRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    text: str
    answered: int
    counts: dict[str, int]
    labels: dict[str, str]


class ResultsRead(BaseModel):
    progress: ProgressRead
    questions: list[QuestionResultRead]


class StepIn(BaseModel):
    call_id: str = Field(max_length=250, description="The campaign call's id (cmp-…) the PBX was given")
    digits: str = Field(
        default="", max_length=20, description="What the customer pressed; empty right after answer"
    )


class PromptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    prompt_code: str
    text: str


class StepRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str = Field(
        description="collect (play, then read one digit), hangup (play, then hang up) or queue"
    )
    play: list[PromptRead]
    question: str | None
    digits: list[str] = Field(description="The digits that answer the question")
    timeout_seconds: int
    queue: str | None
