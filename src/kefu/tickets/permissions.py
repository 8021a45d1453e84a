"""Permission catalogue entries of tickets (工单)."""

from kefu.core.permissions import register

# Business categories, form templates, case templates and ticket types.
register("tickets.config", "Ticket configuration", ("view", "edit"), area="tickets")
# Tickets: view = see tickets beyond one's own by data scope; create = register (信息登录);
# handle = accept, reply, complete, transfer and hand back one's own work; dispatch = dispatch and
# transfer any ticket in scope; manage = suspend, resume, cancel and reopen; urge = press for
# progress (催办); track = follow unfinished tickets (跟踪).
register(
    "tickets.ticket",
    "Tickets",
    ("view", "create", "handle", "dispatch", "manage", "urge", "track"),
    area="tickets",
    scoped=True,
)
# Callback work (回访): assign = team leaders hand out callback tasks; handle = callers record results.
register("tickets.callback", "Callbacks", ("view", "assign", "handle"), area="tickets", scoped=True)
