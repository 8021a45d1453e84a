"""Administration of the organisation (ORG-1…ORG-4), one module per concept, re-exported here so that
routes and other domains have one door: `from kefu.org import service`.

Each function is one business action: it validates, changes, audits — in the caller's transaction.
"""

from kefu.org.departments import create_department, delete_department, department_tree, update_department
from kefu.org.ip_rules import create_ip_rule, delete_ip_rule, update_ip_rule
from kefu.org.roles import create_group, create_role, delete_group, delete_role, update_group, update_role
from kefu.org.users import create_user, delete_user, reset_password, temporary_password, update_user
from kefu.org.validation import get_or_404

__all__ = [
    "create_department",
    "create_group",
    "create_ip_rule",
    "create_role",
    "create_user",
    "delete_department",
    "delete_group",
    "delete_ip_rule",
    "delete_role",
    "delete_user",
    "department_tree",
    "get_or_404",
    "reset_password",
    "temporary_password",
    "update_department",
    "update_group",
    "update_ip_rule",
    "update_role",
    "update_user",
]
