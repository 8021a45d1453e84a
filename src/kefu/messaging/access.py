"""Which messages and batches an actor may see: the send log's data scope (own = what one sent,
department = what one's department sent, all). Missing and forbidden look the same (404)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kefu.core import permissions as core_permissions
from kefu.core.errors import NotFound
from kefu.core.permissions import Actor
from kefu.messaging.models import Batch, Message
from kefu.messaging.permissions import BATCH_VIEW, LOG_VIEW


def restrict_messages(stmt: Select[Any], actor: Actor, permission: str = LOG_VIEW) -> Select[Any]:
    return core_permissions.restrict(
        stmt, actor, permission, owner=Message.created_by_id, department=Message.department_id
    )


def restrict_batches(stmt: Select[Any], actor: Actor, permission: str = BATCH_VIEW) -> Select[Any]:
    return core_permissions.restrict(
        stmt, actor, permission, owner=Batch.created_by_id, department=Batch.department_id
    )


def message(session: Session, actor: Actor, message_id: int) -> Message:
    found = session.scalars(restrict_messages(select(Message).where(Message.id == message_id), actor)).first()
    if found is None:
        raise NotFound()
    return found


def batch(session: Session, actor: Actor, batch_id: int, permission: str = BATCH_VIEW) -> Batch:
    found = session.scalars(
        restrict_batches(select(Batch).where(Batch.id == batch_id), actor, permission)
    ).first()
    if found is None:
        raise NotFound()
    return found
