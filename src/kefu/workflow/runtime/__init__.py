"""The workflow runtime: flows running on subjects (tickets …), persisted between steps.

- `models` — `FlowInstance` (engine state, status, limits), `FlowTask` (+ candidates), `FlowEvent`.
- `service` — start, complete, claim, assign, return, suspend, resume, cancel (audited).
- `assignment` — candidates of a node's rules (WF-4) and auto dispatch.
- `timers` / `jobs` — warnings, escalations and BPMN timers every minute (WF-7).
- `access` / `queries` / `api` — who sees what; task boxes and the tracking view over HTTP.
"""

from kefu.core.i18n import lazy

# Operation words of the `workflow.tasks` function, shown in the role editor.
OPERATION_WORDS = (lazy("handle"), lazy("dispatch"), lazy("manage"), lazy("start"))
# Statuses and history actions, shown translated on the task pages.
STATUS_WORDS = (
    lazy("open"),
    lazy("claimed"),
    lazy("completed"),
    lazy("cancelled"),
    lazy("running"),
    lazy("suspended"),
)
ACTION_WORDS = (
    lazy("started"),
    lazy("assigned"),
    lazy("returned"),
    lazy("reassigned"),
    lazy("resumed"),
    lazy("warned"),
    lazy("escalated"),
    lazy("blocked"),
    lazy("finished"),
)
