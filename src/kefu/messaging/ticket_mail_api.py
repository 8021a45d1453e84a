"""E-mail to a ticket's customer over HTTP: `POST /api/v1/tickets/{ticket_id}/email`.

Listed in the app's routers before the tickets router (its path lies under /api/v1/tickets)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kefu.messaging import ticket_mail
from kefu.messaging.models import Message
from kefu.messaging.permissions import SEND
from kefu.messaging.schemas import MessageRead
from kefu.tickets import access
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])


class TicketEmailIn(BaseModel):
    body: str = Field(default="", max_length=50_000, description="The text to the customer.")
    to: str | None = Field(
        default=None,
        max_length=200,
        description="The address; default: the ticket's customer e-mail, else who last wrote on it.",
    )
    subject: str | None = Field(
        default=None, max_length=200, description='Default: "Re: [serial] subject"; the serial is kept in it.'
    )


@router.post("/{ticket_id}/email", response_model=MessageRead, status_code=201)
def email_customer(
    session: SessionDep, actor: Requires(SEND), ticket_id: int, body: TicketEmailIn
) -> Message:
    """E-mail the ticket's customer (sent by the outbox; the customer's reply comes back to the ticket).
    Needs the ticket within one's handle or manage scope; 422 names `to`, `subject` or `body`."""
    ticket = access.load(session, actor, ticket_id)
    return ticket_mail.send(session, actor, ticket, body=body.body, to=body.to, subject=body.subject)
