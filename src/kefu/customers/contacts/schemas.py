"""API shapes of contact records."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from kefu.customers.contacts.service import ContactView


class ContactCreate(BaseModel):
    customer_id: int | None = Field(default=None, description="None for a caller not (yet) known.")
    channel: str = Field(description="phone, sms, email, web, fax, letter, visit, self_service, wechat …")
    direction: str = Field(description="inbound or outbound")
    started_at: datetime | None = None
    ended_at: datetime | None = None
    summary: str = ""
    remote_address: str = Field(default="", description="The customer's number or address.")
    subscriber_id: int | None = None
    ticket_ids: list[int] = Field(default_factory=list)
    call_id: str | None = Field(default=None, description="The call center's call id (idempotency key).")


class LinkTickets(BaseModel):
    ticket_ids: list[int] = Field(min_length=1)


class LinkedTicket(BaseModel):
    id: int
    serial: str
    subject: str
    status: str


class ContactRead(BaseModel):
    id: int
    customer_id: int | None
    subscriber_id: int | None
    channel: str
    direction: str
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: int | None
    agent_id: int | None
    agent_name: str
    department_id: int | None
    remote_address: str
    summary: str
    call_id: str | None
    tickets: list[LinkedTicket]

    @classmethod
    def of(cls, view: ContactView) -> ContactRead:
        r = view.record
        return cls(
            id=r.id,
            customer_id=r.customer_id,
            subscriber_id=r.subscriber_id,
            channel=r.channel,
            direction=r.direction,
            started_at=r.started_at,
            ended_at=r.ended_at,
            duration_seconds=r.duration_seconds,
            agent_id=r.agent_id,
            agent_name=view.agent_name,
            department_id=r.department_id,
            remote_address=r.remote_address,
            summary=r.summary,
            call_id=r.call_id,
            tickets=[LinkedTicket(id=t[0], serial=t[1], subject=t[2], status=t[3]) for t in view.tickets],
        )
