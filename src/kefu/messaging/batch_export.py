"""The results of a proactive-service batch as a CSV file: UTF-8 with a byte-order mark (so Excel reads
Chinese right), streamed in keyset chunks through a session of its own, so 50,000 rows never sit in
memory. Every export is audited: it carries customers' numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock, i18n
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.db import db
from kefu.messaging.batches import MESSAGE_STATUS_LABELS, SKIP_LABELS, results_stmt
from kefu.messaging.models import Batch, Message, MessageStatus, SkipReason
from kefu.messaging.permissions import FUNCTION

EXPORT_CHUNK = 1000


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    # A leading = + - @ would make a spreadsheet evaluate the text as a formula (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


EXPORT_COLUMNS = (
    lazy("Line"),
    lazy("Customer code"),
    lazy("Customer"),
    lazy("Recipient"),
    lazy("Status"),
    lazy("Skip reason"),
    lazy("Note"),
    lazy("Sent at"),
    lazy("Text"),
)


def export(
    session: Session,
    actor: Actor,
    batch: Batch,
    *,
    status: MessageStatus | None = None,
    skip_reason: SkipReason | None = None,
) -> Iterator[bytes]:
    """The results as CSV (UTF-8 with a byte-order mark, so Excel reads Chinese right), streamed in
    chunks through a session of its own. The export is audited (it carries customers' numbers)."""
    audit.record(
        session,
        actor=actor,
        action="messaging.batch.export",
        function=FUNCTION,
        target=batch,
        target_label=batch.name,
        summary=f"status={status or '*'}, skip_reason={skip_reason or '*'}",
    )
    headers = [i18n.gettext(h) for h in EXPORT_COLUMNS]
    statuses = {k: i18n.gettext(v) for k, v in MESSAGE_STATUS_LABELS.items()}
    reasons = {k: i18n.gettext(v) for k, v in SKIP_LABELS.items()}
    batch_id = batch.id

    def chunks() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(headers)
        yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
        reader = db.session()
        try:
            target = reader.get(Batch, batch_id)
            assert target is not None
            last = 0
            while True:
                stmt = results_stmt(target, status=status, skip_reason=skip_reason)
                rows = reader.execute(
                    stmt.where(Message.id > last).order_by(Message.id).limit(EXPORT_CHUNK)
                ).all()
                if not rows:
                    break
                buffer.seek(0)
                buffer.truncate()
                for message, name, code in rows:
                    sent = (
                        clock.to_local(message.sent_at).strftime("%Y-%m-%d %H:%M:%S")
                        if message.sent_at
                        else ""
                    )
                    writer.writerow(
                        _cell(v)
                        for v in (
                            message.reference,
                            code,
                            name,
                            message.recipient,
                            statuses[message.status],
                            reasons[message.skip_reason] if message.skip_reason else "",
                            message.error or message.dnd_note,
                            sent,
                            message.body,
                        )
                    )
                    last = message.id
                yield buffer.getvalue().encode("utf-8")
        finally:
            reader.close()

    return chunks()
