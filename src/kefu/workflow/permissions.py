"""Permission catalogue entries of process management."""

from kefu.core.permissions import register

register(
    "workflow.templates", "Flow templates", ("view", "create", "edit", "publish", "delete"), area="workflow"
)
# Running flows: view = see tasks and flows beyond one's own (by data scope); handle = claim and
# complete one's own tasks; dispatch = assign and reassign tasks; manage = suspend, resume, cancel
# and return flows; start = start a flow on a subject over the API.
register(
    "workflow.tasks",
    "Flow tasks",
    ("view", "handle", "dispatch", "manage", "start"),
    area="workflow",
    scoped=True,
)
