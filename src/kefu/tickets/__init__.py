"""Tickets and cases (工单)."""

# The session hooks that keep each ticket's search facets true, wherever a ticket changes.
from kefu.tickets import facets as _facets  # noqa: F401
