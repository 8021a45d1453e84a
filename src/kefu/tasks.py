"""Every background task and periodic job of kefu, imported in one place so that both the web
process (embedded consumer) and `kefu worker` know them all."""

from kefu.notices import jobs as notices_jobs
from kefu.workflow.runtime import jobs as workflow_jobs

__all__ = ["notices_jobs", "workflow_jobs"]
