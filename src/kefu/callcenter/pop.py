"""The screen pop (来电弹屏): what the agent sees when a call rings — who is calling (one customer,
several candidates sharing the number, or an unknown caller), what they entered in the IVR, their open
tickets and recent contacts, and the one-click path to a ticket registered from this call.

Everything the agent sees is checked against the agent's own permissions: a customer outside their
scope shows as "unknown", tickets they may not see are only counted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel
from sqlalchemy.orm import Session

from kefu.callcenter.models import Call, CallQueue, Direction
from kefu.core.permissions import Actor
from kefu.customers import access as customer_access
from kefu.customers import phones, view360
from kefu.customers.models import Customer
from kefu.customers.search import find_by_phone

CANDIDATES = 5


class PopCustomer(BaseModel):
    id: int
    name: str
    code: str | None
    kind: str
    tier: str | None
    status: str


class PopTicket(BaseModel):
    id: int
    serial: str
    subject: str
    status: str
    stage: str
    created_at: datetime


class PopContact(BaseModel):
    id: int
    channel: str
    direction: str
    started_at: datetime
    agent_name: str
    summary: str


class PopBlacklist(BaseModel):
    level: str  # block / flag
    reason: str


class PopRead(BaseModel):
    call_pk: int
    call_id: str
    direction: str
    number: str  # the customer's side
    queue: str
    state: str
    ivr: dict[str, Any]
    customer: PopCustomer | None
    candidates: list[PopCustomer]
    open_tickets: list[PopTicket]
    hidden_open_tickets: int
    recent_contacts: list[PopContact]
    new_ticket_url: str
    new_customer_url: str
    blacklist: PopBlacklist | None = None
    # Fault / cutover notices in force in the caller's area (NTC-3): id, kind, title, content, ends_at.
    fault_notices: list[dict[str, Any]] = []


@dataclass
class Pop:
    call: Call
    number: str
    queue: str
    customer: Customer | None = None
    candidates: list[Customer] = field(default_factory=list)
    open_tickets: list[view360.OpenTicket] = field(default_factory=list)
    hidden_open_tickets: int = 0
    recent: list[Any] = field(default_factory=list)
    new_ticket_url: str = ""
    new_customer_url: str = ""
    blacklist: Any = None  # the caller's blacklist entry (黑名单), if listed
    fault_notices: list[Any] = field(default_factory=list)  # in force in the caller's area (NTC-3)


def build(session: Session, actor: Actor, call: Call) -> Pop:
    number = call.from_number if call.direction == Direction.IN else call.to_number
    queue = session.get(CallQueue, call.queue_id) if call.queue_id else None
    found = Pop(call=call, number=number, queue=queue.name if queue else "")
    if number and call.direction == Direction.IN:
        from kefu.messaging import blacklist

        found.blacklist = blacklist.lookup(session, number)
    if call.customer_id is not None and customer_access.can(
        session, actor, call.customer_id, customer_access.VIEW
    ):
        found.customer = customer_access.customer(session, actor, call.customer_id)
    elif number:
        visible = find_by_phone(session, number, actor=actor, limit=CANDIDATES + 1)
        if len(visible) == 1:
            found.customer = visible[0]
        else:
            found.candidates = visible[:CANDIDATES]
    if found.customer is not None:
        view = view360.build(session, actor, found.customer)
        found.open_tickets, found.hidden_open_tickets = view.open_tickets, view.hidden_open_tickets
        found.recent = view.recent
    elif actor.can_function("tickets.ticket"):
        key = phones.lookup_key(number) if number else None
        form = phones.ticket_form(key) if key else None
        if form:
            found.open_tickets, found.hidden_open_tickets = view360.open_tickets_for(
                session, actor, customer_id=None, phone_forms=[form]
            )
    if actor.can_function("tickets.ticket"):
        from kefu.tickets import fault_notices

        form = phones.ticket_form(phones.lookup_key(number) or "") if number else None
        found.fault_notices = fault_notices.for_caller(
            session, ivr=call.ivr, customer_id=found.customer.id if found.customer else None, phone=form or ""
        )
    params: dict[str, Any] = {"channel": "phone"}
    if call.contact_id is not None:
        params["contact_id"] = call.contact_id
    if found.customer is not None:
        params["customer_id"] = found.customer.id
    else:
        params["customer_phone"] = number
    found.new_ticket_url = "/tickets/new?" + urlencode(params)
    found.new_customer_url = "/customers/new?" + urlencode({"phone": number}) if number else "/customers/new"
    return found


def _customer(c: Customer) -> PopCustomer:
    return PopCustomer(
        id=c.id,
        name=c.name,
        code=c.code,
        kind=str(c.kind),
        tier=c.tier,
        status=str(c.status),
    )


def read(session: Session, actor: Actor, call: Call) -> PopRead:
    found = build(session, actor, call)
    return PopRead(
        call_pk=call.id,
        call_id=call.call_id,
        direction=call.direction,
        number=found.number,
        queue=found.queue,
        state=call.state,
        ivr=dict(call.ivr or {}),
        customer=_customer(found.customer) if found.customer else None,
        candidates=[_customer(c) for c in found.candidates],
        open_tickets=[PopTicket.model_validate(dataclasses.asdict(t)) for t in found.open_tickets],
        hidden_open_tickets=found.hidden_open_tickets,
        recent_contacts=[
            PopContact(
                id=v.record.id,
                channel=v.record.channel,
                direction=v.record.direction,
                started_at=v.record.started_at,
                agent_name=v.agent_name,
                summary=v.record.summary,
            )
            for v in found.recent
        ],
        new_ticket_url=found.new_ticket_url,
        new_customer_url=found.new_customer_url,
        blacklist=PopBlacklist(level=found.blacklist.level.value, reason=found.blacklist.reason)
        if found.blacklist is not None
        else None,
        fault_notices=[
            {"id": n.id, "kind": n.kind.value, "title": n.title, "content": n.content, "ends_at": n.ends_at}
            for n in found.fault_notices
        ],
    )
