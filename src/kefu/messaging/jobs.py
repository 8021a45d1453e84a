"""Background work of messaging: delivery attempts and the per-minute sweep of due retries."""

from __future__ import annotations

from kefu.core import jobs
from kefu.messaging import outbox

deliver = outbox.deliver_task


@jobs.periodic(jobs.crontab(minute="*"), name="messaging.deliver_due")
def deliver_due() -> int:
    return outbox.deliver_due()
