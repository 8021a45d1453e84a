"""What the live stream (`/api/v1/notifications/stream`) tells a browser about announcements.

On connecting: `announcements` with my unread count and the urgent announcements I have not
acknowledged (they pop up again on every page until I do). Then, as events arrive for me:
`announcement` (a new one, or a reminder), `announcement_withdrawn`, and `announcements_unread`
when I read one (in any tab). A new announcement carries no count: the browser adds one to its badge,
so publishing to the whole center does not make every connected browser query the database at once.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from kefu.core import events
from kefu.db import db
from kefu.notices import announcement_access as access
from kefu.notices import announcements as service

TYPES = frozenset({service.PUBLISHED, service.WITHDRAWN, service.READ})


def _opening(user_id: int) -> dict[str, Any]:
    with db.unit_of_work() as session:
        return {
            "unread": access.unread_count(session, user_id),
            "pending": [service.payload(a) for a in access.pending_acknowledgements(session, user_id)],
        }


def _unread(user_id: int) -> int:
    with db.unit_of_work() as session:
        return access.unread_count(session, user_id)


def _message(event: str, data: dict[str, Any]) -> dict[str, str]:
    return {"event": event, "data": json.dumps(data, ensure_ascii=False, default=str)}


async def opening(user_id: int) -> dict[str, str]:
    return _message("announcements", await asyncio.to_thread(_opening, user_id))


async def relay(event: events.Event, user_id: int) -> dict[str, str] | None:
    """The stream message for an announcement event that reaches `user_id`, or None."""
    if event.type == service.PUBLISHED:
        return _message("announcement", event.data)
    if event.type == service.WITHDRAWN:
        unread = await asyncio.to_thread(_unread, user_id)
        return _message("announcement_withdrawn", {**event.data, "unread": unread})
    if event.type == service.READ:
        unread = await asyncio.to_thread(_unread, user_id)
        return _message("announcements_unread", {**event.data, "unread": unread})
    return None
