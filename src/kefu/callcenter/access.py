"""Who may see which call: the agents it rang at or was answered by, and holders of
`callcenter.calls.view` within their data scope (the agent's department at the time of the call)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kefu.callcenter.models import Call
from kefu.callcenter.permissions import CALLS_VIEW
from kefu.core.errors import NotFound
from kefu.core.permissions import Actor, restrict


def restrict_calls(stmt: Select[Any], actor: Actor) -> Select[Any]:
    return restrict(stmt, actor, CALLS_VIEW, owner=Call.agent_id, department=Call.department_id)


def call(session: Session, actor: Actor, call_pk: int) -> Call:
    """The call, if the actor took part in it or may see it; else 404 (the two look alike)."""
    found = session.get(Call, call_pk)
    if found is None:
        raise NotFound()
    if actor.user.id == found.agent_id or actor.user.id in (found.offered_to or []):
        return found
    visible = session.scalar(restrict_calls(select(Call.id).where(Call.id == call_pk), actor))
    if visible is None:
        raise NotFound()
    return found
