"""Writing the audit and error logs. `record` joins the caller's transaction: no change without its
audit row, no audit row without its change."""

from __future__ import annotations

import logging
import secrets
import traceback as tb
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from kefu.audit.models import AuditLog, ErrorLog
from kefu.core import context

if TYPE_CHECKING:
    from kefu.core.permissions import Actor

log = logging.getLogger(__name__)

# Never copied into before/after snapshots.
SECRET_FIELDS = frozenset({"password", "password_hash", "token", "token_hash", "csrf_token", "secret"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def snapshot(obj: Any, fields: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The named attributes of `obj`, JSON-ready, secrets removed — for before/after."""
    return {f: _jsonable(getattr(obj, f)) for f in fields if f not in SECRET_FIELDS}


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values changed, as (before, after)."""
    changed = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


def record(
    session: Session,
    *,
    actor: Actor | None,
    action: str,
    function: str = "",
    target: Any = None,
    target_type: str = "",
    target_id: Any = "",
    target_label: str = "",
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit row to the caller's unit of work. `target` (a model instance) fills type/id/label."""
    ctx = context.current()
    if target is not None:
        session.flush()  # the target needs its id
        target_type = target_type or getattr(target, "__tablename__", type(target).__name__)
        target_id = target_id or getattr(target, "id", "")
        target_label = target_label or _label(target)
    # Cut to the column sizes: an over-long label must not make the audited change fail (PostgreSQL
    # refuses values longer than the column).
    row = AuditLog(
        actor_id=actor.user.id if actor else None,
        actor_name=(f"{actor.user.name} ({actor.user.username})" if actor else "")[:100],
        client_ip=ctx.client_ip[:64],
        function=function[:60],
        action=action[:60],
        target_type=target_type[:40],
        target_id=(str(target_id) if target_id is not None else "")[:40],
        target_label=target_label[:200],
        summary=summary,
        before=_jsonable(before) if before else None,
        after=_jsonable(after) if after else None,
        correlation_id=ctx.correlation_id[:32],
    )
    session.add(row)
    return row


def _label(target: Any) -> str:
    for attr in ("name", "title", "username", "code", "serial_no"):
        value = getattr(target, attr, None)
        if isinstance(value, str) and value:
            return value
    return ""


def record_error(session: Session, *, exc: BaseException, user_id: int | None) -> ErrorLog:
    """Store an unhandled error under the current correlation id (in its own unit of work).

    Outside a request (a job, the CLI) there is no correlation id yet: a fresh one is made, as the
    column is unique."""
    ctx = context.current()
    row = ErrorLog(
        correlation_id=ctx.correlation_id or secrets.token_hex(8),
        method=ctx.method,
        path=ctx.path[:500],
        user_id=user_id,
        client_ip=ctx.client_ip[:64],
        exc_type=f"{type(exc).__module__}.{type(exc).__qualname__}"[:200],
        message=str(exc)[:4000],
        traceback="".join(tb.format_exception(exc))[-20000:],
    )
    session.add(row)
    return row
