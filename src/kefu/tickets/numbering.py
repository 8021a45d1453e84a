"""Readable serial numbers (工单编号), unique per ticket type and day: `TS-20261122-000123`.

The counter row of (type, day) is bumped with one atomic upsert (`INSERT … ON CONFLICT DO UPDATE …
RETURNING`), on SQLite and PostgreSQL alike: concurrent registrations of one type queue on that row
for the rest of their transaction, and a rolled-back registration gives its number back.
"""

from __future__ import annotations

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kefu.core import clock
from kefu.tickets.models import TicketSerial, TicketType

WIDTH = 6


def next_serial(session: Session, ticket_type: TicketType) -> str:
    day = clock.to_local(clock.now()).strftime("%Y%m%d")
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt: Insert = insert(TicketSerial).values(type_id=ticket_type.id, day=day, last=1)
    stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
        index_elements=[TicketSerial.type_id, TicketSerial.day], set_={"last": TicketSerial.last + 1}
    ).returning(TicketSerial.last)
    number = session.execute(stmt).scalar_one()
    return f"{ticket_type.prefix}-{day}-{number:0{WIDTH}d}"
