"""API shapes of messaging."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kefu.messaging.models import (
    BlacklistLevel,
    Channel,
    DndMode,
    Implementation,
    MessageStatus,
    Security,
    SkipReason,
    Source,
    TemplateKind,
)


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: Channel
    recipient: str
    customer_id: int | None
    ticket_id: int | None
    template_id: int | None
    batch_id: int | None
    business_category_id: int | None
    source: Source
    reference: str
    subject: str
    body: str
    status: MessageStatus
    skip_reason: SkipReason | None
    dnd_note: str
    attempts: int
    next_attempt_at: datetime | None
    error: str
    gateway: str
    created_by_id: int | None
    created_at: datetime
    sent_at: datetime | None
    note: str = ""


class MessagePage(BaseModel):
    items: list[MessageRead]
    total: int


class SendIn(BaseModel):
    channel: Channel = Channel.SMS
    to: str = Field(max_length=200, description="A mobile number (sms) or an e-mail address.")
    body: str = Field(default="", max_length=50_000, description="The text, when no template is used.")
    subject: str = Field(default="", max_length=200, description="E-mail only.")
    template_id: int | None = None
    variables: dict[str, Any] = Field(default_factory=dict, description="Values of the template's fields.")
    customer_id: int | None = None
    ticket_id: int | None = None
    business_category_id: int | None = Field(
        default=None,
        description="The business type do-not-disturb is checked against (default: the template's).",
    )
    confirm_dnd: bool = Field(default=False, description="Send despite a do-not-disturb warning.")


class TemplateIn(BaseModel):
    code: str = Field(max_length=40)
    name: str = Field(max_length=100)
    channel: Channel
    kind: TemplateKind = TemplateKind.GENERAL
    business_category_id: int | None = None
    subject: str = Field(default="", max_length=200)
    body: str = Field(max_length=50_000)
    enabled: bool = True


class TemplateRead(TemplateIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
    updated_at: datetime
    variables: list[str] = []


class PreviewIn(BaseModel):
    channel: Channel = Channel.SMS
    kind: TemplateKind = TemplateKind.GENERAL
    subject: str = Field(default="", max_length=200)
    body: str = Field(max_length=50_000)
    customer_id: int | None = None
    variables: dict[str, Any] = Field(default_factory=dict)


class PreviewRead(BaseModel):
    subject: str
    body: str
    characters: int
    parts: int
    variables: list[str]


class DndIn(BaseModel):
    number: str = Field(max_length=60)
    business_category_id: int | None = None
    mode: DndMode = DndMode.REFUSE
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    reason: str = Field(default="", max_length=300)
    customer_id: int | None = None


class DndImport(BaseModel):
    lines: str = Field(max_length=500_000, description='One number per line, optionally "number, reason".')
    business_category_id: int | None = None
    mode: DndMode = DndMode.REFUSE
    valid_until: datetime | None = None
    reason: str = Field(default="", max_length=300)


class DndRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    number_key: str
    business_category_id: int | None
    mode: DndMode
    valid_from: datetime | None
    valid_until: datetime | None
    reason: str
    customer_id: int | None
    created_at: datetime


class DndPage(BaseModel):
    items: list[DndRead]
    total: int


class DndImported(BaseModel):
    added: int
    already_listed: int


class DndCheckRead(BaseModel):
    number: str
    business_category_id: int | None
    verdict: Literal["allowed", "warn", "refuse"]
    reason: str


class BlacklistIn(BaseModel):
    number: str = Field(max_length=60)
    level: BlacklistLevel = BlacklistLevel.FLAG
    reason: str = Field(max_length=300)
    valid_until: datetime | None = None


class BlacklistChange(BaseModel):
    level: BlacklistLevel
    reason: str = Field(max_length=300)
    valid_until: datetime | None = None


class BlacklistRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    number_key: str
    level: BlacklistLevel
    reason: str
    valid_until: datetime | None
    hits: int
    last_hit_at: datetime | None
    created_at: datetime


class BlacklistPage(BaseModel):
    items: list[BlacklistRead]
    total: int


class GatewayRead(BaseModel):
    """A gateway's configuration; secrets are never returned, only whether one is set."""

    model_config = ConfigDict(from_attributes=True)

    channel: Channel
    implementation: Implementation
    max_attempts: int
    timeout_seconds: float
    http_url: str
    auth_header: str
    sign: str
    smtp_host: str
    smtp_port: int
    smtp_security: Security
    smtp_username: str
    from_address: str
    from_name: str
    imap_enabled: bool
    imap_host: str
    imap_port: int
    imap_security: Security
    imap_username: str
    imap_folder: str
    inbound_ticket_type_id: int | None
    auth_value_set: bool = False
    smtp_password_set: bool = False
    imap_password_set: bool = False


class GatewayTest(BaseModel):
    to: str = Field(max_length=200, description="A mobile number (sms) or an e-mail address.")
