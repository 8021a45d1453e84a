"""API shapes of proactive-service batches (主动服务)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kefu.customers.models import CustomerKind, CustomerStatus
from kefu.messaging.models import BatchStatus, Channel, MessageStatus, SkipReason, TemplateKind


class BatchFilterIn(BaseModel):
    """Customers to reach (all conditions together; a list means any of its values). Always limited
    to the customers the creator may see."""

    kinds: list[CustomerKind] = Field(default_factory=list)
    tiers: list[str] = Field(default_factory=list, max_length=100, description="customer_tier codes")
    statuses: list[CustomerStatus] = Field(default_factory=lambda: [CustomerStatus.ACTIVE])
    department_ids: list[int] = Field(
        default_factory=list, max_length=200, description="Service departments, sub-departments included."
    )
    parent_id: int | None = Field(default=None, description="Customers under this parent customer.")
    parent_code: str | None = Field(default=None, max_length=40, description="The parent customer by code.")
    subscriber_kind_id: int | None = Field(
        default=None, description="Customers with an active subscriber of this kind."
    )
    customer_ids: list[int] = Field(default_factory=list, max_length=1000)
    customer_codes: list[str] = Field(default_factory=list, max_length=1000)


class BatchIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name: str = Field(max_length=200)
    kind: TemplateKind = Field(
        description="fee_notice, payment_reminder, service_notice, callback or promotion"
    )
    channel: Channel = Channel.SMS
    template_id: int
    business_category_id: int | None = Field(
        default=None,
        description="The business type do-not-disturb is checked against (default: the template's).",
    )
    variables: dict[str, str | int | float] = Field(
        default_factory=dict, description="Values the same for every recipient, e.g. due_date, content."
    )
    mode: Literal["filter", "list"] = "filter"
    filter: BatchFilterIn = Field(default_factory=BatchFilterIn)
    list_text: str = Field(
        default="",
        alias="list",
        max_length=20_000_000,
        description=(
            "mode=list: CSV (or tab-separated) text; a header line with `to` (mobile number or e-mail "
            "address) and/or `customer_code`, plus value columns (amount, due_date, account_no, …); "
            "at most 50,000 lines. Errors name `list.<line>.<column>`."
        ),
    )


class ProgressRead(BaseModel):
    status: BatchStatus
    planned: int
    resolved: int
    processed: int
    percent: int
    by_status: dict[str, int]
    by_skip_reason: dict[str, int]


class BatchRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: TemplateKind
    channel: Channel
    template_id: int
    business_category_id: int | None
    variables: dict[str, Any]
    status: BatchStatus
    total: int
    error: str
    created_by_id: int | None
    department_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    mode: str = "filter"
    filter: dict[str, Any] | None = None
    list_lines: int | None = None
    list_columns: list[str] | None = None
    progress: ProgressRead | None = None


class BatchPage(BaseModel):
    items: list[BatchRead]
    total: int


class SampleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line: int | None
    customer_id: int | None
    customer_name: str
    recipient: str
    subject: str
    body: str
    skip_reason: SkipReason | None
    note: str


class PreviewRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    recipients: int
    samples: list[SampleRead]


class ResultRead(BaseModel):
    id: int
    line: int | None
    customer_id: int | None
    customer_code: str | None
    customer_name: str | None
    recipient: str
    status: MessageStatus
    skip_reason: SkipReason | None
    note: str
    subject: str
    body: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None


class ResultPage(BaseModel):
    items: list[ResultRead]
    total: int
