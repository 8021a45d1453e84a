from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kefu.workflow.models import VersionStatus


class FlowCreate(BaseModel):
    code: str = Field(max_length=60)
    name: str = Field(max_length=100)
    description: str = ""
    bpmn_xml: str = Field(description="BPMN 2.0 XML; kefu node settings in the urn:kefu:bpmn:1 namespace.")


class FlowUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=100)
    description: str | None = None


class DraftSave(BaseModel):
    bpmn_xml: str
    comment: str = Field(default="", max_length=500)


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: int
    status: VersionStatus
    process_id: str
    comment: str
    created_at: datetime
    published_at: datetime | None
    retired_at: datetime | None


class VersionDetail(VersionRead):
    bpmn_xml: str
    nodes: dict[str, Any]


class FlowRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    description: str
    created_at: datetime
    versions: list[VersionRead]


class ProblemRead(BaseModel):
    element_id: str
    message: str
