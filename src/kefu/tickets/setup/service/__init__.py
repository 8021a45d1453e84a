"""Ticket configuration: the only writer of business categories, form templates, ticket types and case
templates.

Every write takes the acting user, needs `tickets.config.edit`, checks every field of its input at once
(`FieldErrors` naming each bad field; nothing is changed then), records an audit row with before/after
in the caller's transaction, and never commits. Updates take `KEEP` for fields left as they are; form
templates and ticket types are optimistically locked: an update may name the `version` it was made
from, and gets a 409 when someone saved in between.

One module per subject (`categories`, `forms`, `types`, `cases`); callers import this package.
"""

from kefu.tickets.setup.service.cases import (
    create_case_template,
    delete_case_template,
    get_case_template,
    list_case_templates,
    update_case_template,
)
from kefu.tickets.setup.service.categories import (
    category_tree,
    create_category,
    delete_category,
    get_category,
    move_category,
    set_category_enabled,
    update_category,
)
from kefu.tickets.setup.service.common import CASE_NATURE, FUNCTION, KEEP, URGENCY
from kefu.tickets.setup.service.forms import (
    create_form_template,
    delete_form_template,
    effective_template,
    element_defs,
    get_form_template,
    list_form_templates,
    update_form_template,
)
from kefu.tickets.setup.service.types import (
    create_ticket_type,
    delete_ticket_type,
    get_ticket_type,
    list_ticket_types,
    registration_form,
    update_ticket_type,
)

__all__ = [
    "CASE_NATURE",
    "FUNCTION",
    "KEEP",
    "URGENCY",
    "category_tree",
    "create_case_template",
    "create_category",
    "create_form_template",
    "create_ticket_type",
    "delete_case_template",
    "delete_category",
    "delete_form_template",
    "delete_ticket_type",
    "effective_template",
    "element_defs",
    "get_case_template",
    "get_category",
    "get_form_template",
    "get_ticket_type",
    "list_case_templates",
    "list_form_templates",
    "list_ticket_types",
    "move_category",
    "registration_form",
    "set_category_enabled",
    "update_case_template",
    "update_category",
    "update_form_template",
    "update_ticket_type",
]
