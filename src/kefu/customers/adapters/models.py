"""Configuration of the business systems (业务系统接口), one row per kind, edited by administrators."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.db import Base


class Implementation(StrEnum):
    OFF = "off"  # the panel says no system is configured
    DEMO = "demo"  # realistic, deterministic data for demonstrations and training
    HTTP = "http"  # the operator's system over HTTP/JSON


class BusinessSystem(Base):
    __tablename__ = "business_system"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), unique=True)  # adapters.base.SourceKind
    implementation: Mapped[str] = mapped_column(String(10), default=Implementation.OFF.value)
    base_url: Mapped[str] = mapped_column(String(300), default="")
    # Path of the kind's request, with placeholders
    # {customer_code} {customer_id} {service_number} {account_no}.
    path: Mapped[str] = mapped_column(String(300), default="")
    timeout_seconds: Mapped[float] = mapped_column(Float, default=3.0)
    retries: Mapped[int] = mapped_column(Integer, default=1)
    auth_header: Mapped[str] = mapped_column(String(100), default="Authorization")
    auth_value: Mapped[str] = mapped_column(String(500), default="")  # a secret: never shown or audited
    failure_threshold: Mapped[int] = mapped_column(Integer, default=5)
    cooldown_seconds: Mapped[int] = mapped_column(Integer, default=30)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
