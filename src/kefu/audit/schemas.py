"""API shapes of the audit log and the error log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class AuditLogQuery(BaseModel):
    """Audit log filters as query parameters. Times are local to the deployment (YYYY-MM-DD or
    YYYY-MM-DD HH:MM[:SS], an explicit offset is honoured); `until` includes the day/minute named."""

    actor_id: int | None = Field(default=None, description="Exactly this user id.")
    actor: str = Field(default="", max_length=100, description="Part of the operator's name or username.")
    action: str = Field(default="", max_length=60, description="Exact action code, e.g. user.create.")
    function: str = Field(default="", max_length=60, description="Exact function code, e.g. admin.users.")
    target_type: str = Field(default="", max_length=40)
    target_id: str = Field(default="", max_length=40)
    client_ip: str = Field(default="", max_length=64, description="Exact client IP address.")
    correlation_id: str = Field(default="", max_length=32)
    q: str = Field(default="", max_length=200, description="Part of the summary or the target's label.")
    since: str = Field(default="", max_length=40, description="From this local date or time (inclusive).")
    until: str = Field(default="", max_length=40, description="Up to this local date or time (inclusive).")


class ErrorLogQuery(BaseModel):
    """Error log filters as query parameters (times as in AuditLogQuery)."""

    path: str = Field(default="", max_length=500, description="Part of the request path.")
    exc_type: str = Field(default="", max_length=200, description="Part of the exception type.")
    correlation_id: str = Field(default="", max_length=32)
    since: str = Field(default="", max_length=40)
    until: str = Field(default="", max_length=40)


class AuditLogRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    client_ip: str
    function: str
    action: str
    target_type: str
    target_id: str
    target_label: str
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    correlation_id: str


class AuditLogPage(BaseModel):
    items: list[AuditLogRead]
    next_before_id: int | None = Field(
        description="Pass as before_id for the next (older) page; null at the end."
    )
    total: int | None = Field(default=None, description="Matching rows, when with_total was asked for.")


class ErrorLogItem(BaseModel):
    id: int
    correlation_id: str
    at: datetime
    method: str
    path: str
    user_id: int | None
    username: str | None
    client_ip: str
    exc_type: str
    message: str


class ErrorLogRead(ErrorLogItem):
    traceback: str


class ErrorLogPage(BaseModel):
    items: list[ErrorLogItem]
    next_before_id: int | None
    total: int | None = None
