"""Permission catalogue entries of process management."""

from kefu.core.permissions import register

register(
    "workflow.templates", "Flow templates", ("view", "create", "edit", "publish", "delete"), area="workflow"
)
