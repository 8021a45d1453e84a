"""Configuration of the business systems over HTTP (administrators)."""

from __future__ import annotations

import time

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kefu.audit import service as audit
from kefu.core.errors import NotFound
from kefu.customers.adapters import registry
from kefu.customers.adapters.base import OPERATIONS, SOURCE_LABELS, CustomerRef, SourceError, SourceKind
from kefu.customers.adapters.models import BusinessSystem
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/customers/business-systems", tags=["customers"])
VIEW, EDIT = "customers.config.view", registry.EDIT


class SystemRead(BaseModel):
    kind: str
    label: str
    implementation: str
    base_url: str
    path: str
    timeout_seconds: float
    retries: int
    auth_header: str
    auth_value_set: bool
    failure_threshold: int
    cooldown_seconds: int
    circuit: str

    @classmethod
    def of(cls, kind: SourceKind, s: BusinessSystem) -> SystemRead:
        circuit = registry.breaker_for(s).state.value if s.id is not None else "closed"
        return cls(
            kind=kind.value,
            label=SOURCE_LABELS[kind],
            implementation=s.implementation,
            base_url=s.base_url,
            path=s.path,
            timeout_seconds=s.timeout_seconds,
            retries=s.retries,
            auth_header=s.auth_header,
            auth_value_set=bool(s.auth_value),
            failure_threshold=s.failure_threshold,
            cooldown_seconds=s.cooldown_seconds,
            circuit=circuit,
        )


class SystemUpdate(BaseModel):
    implementation: str | None = Field(default=None, description="off, demo or http")
    base_url: str | None = None
    path: str | None = Field(default=None, description="e.g. /customers/{customer_code}/billing")
    timeout_seconds: float | None = None
    retries: int | None = None
    auth_header: str | None = None
    auth_value: str | None = Field(default=None, description="Omit to keep the stored secret.")
    failure_threshold: int | None = None
    cooldown_seconds: int | None = None


class ProbeResult(BaseModel):
    ok: bool
    message: str
    elapsed_ms: int


def _kind(kind: str) -> SourceKind:
    try:
        return SourceKind(kind)
    except ValueError:
        raise NotFound() from None


@router.get("", response_model=list[SystemRead])
def list_systems(session: SessionDep, actor: Requires(VIEW, EDIT)) -> list[SystemRead]:
    """Every kind's configuration (the secret only as set / not set) and its circuit in this process."""
    return [SystemRead.of(kind, s) for kind, s in registry.systems(session).items()]


@router.put("/{kind}", response_model=SystemRead)
def configure(session: SessionDep, actor: Requires(EDIT), kind: str, body: SystemUpdate) -> SystemRead:
    source_kind = _kind(kind)
    data = body.model_dump(exclude_unset=True)
    return SystemRead.of(source_kind, registry.configure(session, actor=actor, kind=source_kind, data=data))


@router.post("/{kind}/probe", response_model=ProbeResult)
def probe(session: SessionDep, actor: Requires(EDIT), kind: str, customer_code: str = "PROBE") -> ProbeResult:
    """Ask the configured system once about a customer code, and say how it went (recorded in the audit)."""
    source_kind = _kind(kind)
    source = registry.source_for(session, source_kind)
    started = time.monotonic()
    ok, message = True, "OK"
    if source is None:
        ok, message = False, SourceError.NOT_CONFIGURED
    else:
        try:
            getattr(source, OPERATIONS[source_kind])(CustomerRef(id=0, code=customer_code, name=""))
        except SourceError as exc:
            ok, message = False, f"{exc.message} ({exc.reason}: {exc.detail[:200]})"
    elapsed = int((time.monotonic() - started) * 1000)
    audit.record(
        session,
        actor=actor,
        action="customers.business_system.probe",
        function=registry.FUNCTION,
        target_type="business_system",
        target_id=source_kind.value,
        summary=f"{'ok' if ok else 'failed'} in {elapsed} ms",
    )
    return ProbeResult(ok=ok, message=message, elapsed_ms=elapsed)
