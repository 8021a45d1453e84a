"""Ticket files: upload (on a ticket, or unattached until a registration or reply names it) and
attach what one uploaded to a ticket and its log entry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock, storage
from kefu.core.errors import FieldError, PermissionDenied
from kefu.core.permissions import Actor
from kefu.settings import get_settings
from kefu.tickets import service
from kefu.tickets.models import Ticket, TicketAttachment, TicketLog


def attach(
    session: Session, ticket: Ticket, actor: Actor, attachment_ids: Sequence[int], *, log: TicketLog | None
) -> list[TicketAttachment]:
    """Link files I uploaded and that are not on a ticket yet to this ticket (and log entry)."""
    ids = [i for i in dict.fromkeys(attachment_ids)]
    if not ids:
        return []
    rows = list(
        session.scalars(
            select(TicketAttachment).where(
                TicketAttachment.id.in_(ids),
                TicketAttachment.uploaded_by_id == actor.user.id,
                TicketAttachment.ticket_id.is_(None),
            )
        )
    )
    if len(rows) != len(ids):
        raise FieldError("attachment_ids", "Only files you uploaded and not yet attached can be attached")
    for row in rows:
        row.ticket_id = ticket.id
        row.log_id = log.id if log is not None else None
    session.flush()
    return rows


def upload(
    session: Session,
    *,
    actor: Actor,
    filename: str,
    content_type: str | None,
    stream: BinaryIO,
    ticket: Ticket | None = None,
) -> TicketAttachment:
    """Store an uploaded file (size and type limits of the deployment); on a ticket directly, or
    unattached until a registration or reply names it. A failed request leaves no file behind."""
    if not (actor.can(service.CREATE) or actor.can(service.HANDLE)):
        raise PermissionDenied()
    config = get_settings()
    name = storage.check_upload(filename, content_type, allowed=config.attachment_types)
    if ticket is not None:
        service.begin_change(session, ticket, None)
    stored = storage.get_storage().put(stream, max_bytes=config.attachment_max_bytes)
    storage.delete_on_rollback(session, stored.key)
    row = TicketAttachment(
        ticket_id=ticket.id if ticket is not None else None,
        filename=name,
        content_type=(content_type or "application/octet-stream")[:100],
        size=stored.size,
        sha256=stored.sha256,
        storage_key=stored.key,
        uploaded_by_id=actor.user.id,
        uploaded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    if ticket is not None:
        log = service.log_entry(
            session, ticket, actor, "attached", comment=name, detail={"attachment_id": row.id}
        )
        session.flush()
        row.log_id = log.id
        service.audit_action(session, actor, ticket, "attach", summary=name)
    else:
        audit.record(
            session,
            actor=actor,
            action="ticket.upload",
            function=service.FUNCTION,
            target=row,
            target_label=name,
        )
    return row
