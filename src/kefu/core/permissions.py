"""The permission catalogue, the acting user, and `restrict()` — the one data-scope gate.

A *function* (功能) is a screen or capability, e.g. ``admin.users``; its *operations* (view, create,
edit, delete, approve, export, or domain verbs such as transfer) make permission codes
``admin.users.edit`` or ``tickets.transfer``. Groups grant functions, roles grant permission codes
within their group's functions plus a data scope, users get roles.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, false, select
from sqlalchemy.orm import Session

from kefu.core.i18n import lazy
from kefu.org.models import DataScope, Department, User

# Words shown in the role editor, declared here so that they are extracted for translation.
OPERATION_WORDS = (
    lazy("view"),
    lazy("create"),
    lazy("edit"),
    lazy("delete"),
    lazy("approve"),
    lazy("export"),
    lazy("send"),
    lazy("reset_password"),
)
SCOPE_WORDS = (lazy("own"), lazy("department"), lazy("subtree"), lazy("all"))
AREA_WORDS = (lazy("admin"), lazy("audit"), lazy("notices"))


@dataclass(frozen=True)
class Function:
    code: str
    label: str
    operations: tuple[str, ...]
    area: str
    # Whether data scope (own / department / subtree / all) applies to this function's objects.
    scoped: bool = False

    def permissions(self) -> list[str]:
        return [f"{self.code}.{op}" for op in self.operations]


CATALOGUE: dict[str, Function] = {}
_PERMISSION_TO_FUNCTION: dict[str, str] = {}


def register(
    code: str, label: str, operations: Iterable[str], *, area: str, scoped: bool = False
) -> Function:
    """Add a function to the catalogue (each domain registers its own at import)."""
    fn = Function(code=code, label=label, operations=tuple(operations), area=area, scoped=scoped)
    CATALOGUE[code] = fn
    for perm in fn.permissions():
        _PERMISSION_TO_FUNCTION[perm] = code
    return fn


def function_of(permission: str) -> str:
    try:
        return _PERMISSION_TO_FUNCTION[permission]
    except KeyError:
        raise KeyError(f"unknown permission {permission!r}: register its function first") from None


def all_permissions() -> list[str]:
    return sorted(_PERMISSION_TO_FUNCTION)


def is_permission(code: str) -> bool:
    return code in _PERMISSION_TO_FUNCTION


# The foundation's own functions. Other domains register theirs in their package's permissions module.
_CRUD = ("view", "create", "edit", "delete")
register("admin.departments", "Departments", _CRUD, area="admin")
register("admin.users", "Staff", (*_CRUD, "reset_password"), area="admin", scoped=True)
register("admin.roles", "Groups and roles", _CRUD, area="admin")
register("admin.ip_rules", "IP access rules", _CRUD, area="admin")
register("admin.tokens", "API tokens", ("view", "create", "delete"), area="admin")
register("admin.dictionary", "Data dictionary", _CRUD, area="admin")
register("admin.parameters", "System parameters", ("view", "edit"), area="admin")
register("admin.calendar", "Business calendar", ("view", "edit"), area="admin")
register("admin.shifts", "Shifts and roster", ("view", "edit"), area="admin", scoped=True)
register("audit.log", "Audit log", ("view", "export"), area="audit")
register("audit.errors", "Error log", ("view", "export"), area="audit")
register("notices.messages", "Personal messages", ("send",), area="notices")


@dataclass
class Actor:
    """The authenticated user with their effective permissions (each with its widest data scope)."""

    user: User
    scopes: dict[str, DataScope] = field(default_factory=dict)
    department_path: str = ""
    via_token: bool = False

    @property
    def id(self) -> int:
        return self.user.id

    def can(self, permission: str) -> bool:
        return permission in self.scopes

    def can_any(self, *permissions: str) -> bool:
        return any(p in self.scopes for p in permissions)

    def can_function(self, function_code: str) -> bool:
        prefix = function_code + "."
        return any(p.startswith(prefix) for p in self.scopes)

    def scope(self, permission: str) -> DataScope | None:
        return self.scopes.get(permission)


def build_actor(session: Session, user: User, *, via_token: bool = False) -> Actor:
    """Compute a user's effective permissions: role grants, intersected with their group's functions."""
    scopes: dict[str, DataScope] = {}
    for role in user.roles:  # `auth_service.load_user` loads them with their groups
        group_functions = set(role.group.functions)
        granted = all_permissions() if role.all_permissions else role.permissions
        role_scope = DataScope(role.data_scope)
        for perm in granted:
            if perm not in _PERMISSION_TO_FUNCTION:
                continue  # a permission whose function was removed from the catalogue
            if not role.all_permissions and function_of(perm) not in group_functions:
                continue
            current = scopes.get(perm)
            if current is None or role_scope.rank > current.rank:
                scopes[perm] = role_scope
    path = user.department.path if user.department is not None else ""
    return Actor(user=user, scopes=scopes, department_path=path, via_token=via_token)


def subtree_range(path: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Departments at or below `path` ("/1/4/") as an index range: `path >= '/1/4/' AND path < '/1/40'`.

    ('0' is the character after '/'.) A range uses the path index on every database, where
    `LIKE '/1/4/%'` does not on SQLite.
    """
    return Department.path >= path, Department.path < path[:-1] + "0"


def restrict(
    stmt: Select[Any],
    actor: Actor,
    permission: str,
    *,
    owner: Any = None,
    department: Any = None,
) -> Select[Any]:
    """Limit `stmt` to the rows `actor` may see under `permission`'s data scope.

    `owner` is the column holding the owning user's id, `department` the column holding the
    owning department's id. A scope that needs a column the model lacks falls back to the
    narrower scope it can express; no permission means no rows.
    """
    scope = actor.scope(permission)
    if scope is None:
        return stmt.where(false())
    if scope is DataScope.ALL:
        return stmt
    condition: ColumnElement[bool] | None = None
    if scope is DataScope.SUBTREE and department is not None and actor.department_path:
        subtree = select(Department.id).where(*subtree_range(actor.department_path))
        condition = department.in_(subtree)
    elif scope in (DataScope.SUBTREE, DataScope.DEPARTMENT) and department is not None:
        condition = department == actor.user.department_id if actor.user.department_id else None
    if condition is None and owner is not None:
        condition = owner == actor.user.id
    elif condition is not None and owner is not None:
        # Whatever their scope, people always see their own rows.
        condition = condition | (owner == actor.user.id)
    return stmt.where(condition if condition is not None else false())
