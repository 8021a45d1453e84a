"""Background work of outbound campaigns (外呼任务): every minute, a round of the dialler — attempts
that never reported back are released, and each running campaign inside its calling window starts
its due calls at its pace (`campaign_dialer.dial`; safe to run twice at once)."""

from __future__ import annotations

from kefu.callcenter import campaign_dialer
from kefu.core.jobs import crontab, periodic

dial_every_minute = periodic(crontab(minute="*"), name="callcenter.campaigns.dial_round")(
    campaign_dialer.dial
)
