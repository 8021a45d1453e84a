"""Flow templates (流程模板) and their versions (WF-1). A template's versions move draft → published →
retired; running instances keep the version they started on, so published versions never change."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.core import clock
from kefu.db import Base


class VersionStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class FlowTemplate(Base):
    __tablename__ = "flow_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))

    versions: Mapped[list[FlowVersion]] = relationship(
        back_populates="template", order_by="FlowVersion.number", cascade="all, delete-orphan"
    )


class FlowVersion(Base):
    """One version of a template: its BPMN XML; once published, also the parsed spec stored once for
    every instance to share, and the node settings the runtime reads."""

    __tablename__ = "flow_version"
    __table_args__ = (UniqueConstraint("template_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("flow_template.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[VersionStatus] = mapped_column(
        Enum(VersionStatus, native_enum=False, length=12, values_callable=lambda e: [m.value for m in e]),
        default=VersionStatus.DRAFT,
        index=True,
    )
    bpmn_xml: Mapped[str] = mapped_column(Text)
    process_id: Mapped[str] = mapped_column(String(100), default="")
    spec_json: Mapped[str] = mapped_column(Text, default="")
    nodes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None] = mapped_column()
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    retired_at: Mapped[datetime | None] = mapped_column()

    template: Mapped[FlowTemplate] = relationship(back_populates="versions")
