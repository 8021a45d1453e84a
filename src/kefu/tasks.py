"""Every background task and periodic job of kefu, imported in one place so that both the web
process (embedded consumer) and `kefu worker` know them all."""

from kefu.callcenter import campaign_jobs as callcenter_campaign_jobs
from kefu.callcenter import jobs as callcenter_jobs
from kefu.core.search import jobs as search_jobs
from kefu.knowledge import jobs as knowledge_jobs
from kefu.messaging import batch_run as messaging_batch_run
from kefu.messaging import inbound_fetch as messaging_inbound
from kefu.messaging import jobs as messaging_jobs
from kefu.notices import jobs as notices_jobs
from kefu.tickets import service as tickets_service  # registers tickets as a flow subject (escalations)
from kefu.workflow.runtime import jobs as workflow_jobs

__all__ = [
    "callcenter_campaign_jobs",
    "callcenter_jobs",
    "knowledge_jobs",
    "messaging_batch_run",
    "messaging_inbound",
    "messaging_jobs",
    "notices_jobs",
    "search_jobs",
    "tickets_service",
    "workflow_jobs",
]
