"""Organisation administration over HTTP: departments, groups, roles, users, IP rules, API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from kefu.core.errors import NotFound
from kefu.core.permissions import CATALOGUE
from kefu.org import auth_service, service
from kefu.org.access import access_user, users_query
from kefu.org.models import ApiToken, Department, IpRule, Role, User, UserGroup
from kefu.org.schemas import (
    DepartmentCreate,
    DepartmentRead,
    DepartmentUpdate,
    FunctionRead,
    GroupCreate,
    GroupRead,
    GroupUpdate,
    IpRuleCreate,
    IpRuleRead,
    IpRuleUpdate,
    PasswordReset,
    RoleCreate,
    RoleRead,
    RoleUpdate,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserCreated,
    UserRead,
    UserUpdate,
)
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/org", tags=["organisation"])


def _changes(body: Any) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True)


# --- Departments ----------------------------------------------------------------------------------


@router.get("/departments", response_model=list[DepartmentRead])
def list_departments(
    session: SessionDep, actor: Requires("admin.departments.view", "admin.users.view")
) -> list:
    """All departments in tree order (staff administrators need them to place people)."""
    return [d for d, _ in service.department_tree(session)]


@router.post("/departments", response_model=DepartmentRead, status_code=201)
def create_department(
    session: SessionDep, actor: Requires("admin.departments.create"), body: DepartmentCreate
) -> Department:
    return service.create_department(session, actor=actor, **body.model_dump())


@router.get("/departments/{department_id}", response_model=DepartmentRead)
def get_department(
    session: SessionDep, actor: Requires("admin.departments.view"), department_id: int
) -> Department:
    return service.get_or_404(session, Department, department_id)


@router.patch("/departments/{department_id}", response_model=DepartmentRead)
def update_department(
    session: SessionDep, actor: Requires("admin.departments.edit"), department_id: int, body: DepartmentUpdate
) -> Department:
    dept = service.get_or_404(session, Department, department_id)
    return service.update_department(session, actor=actor, department=dept, **_changes(body))


@router.delete("/departments/{department_id}", status_code=204)
def delete_department(
    session: SessionDep, actor: Requires("admin.departments.delete"), department_id: int
) -> Response:
    dept = service.get_or_404(session, Department, department_id)
    service.delete_department(session, actor=actor, department=dept)
    return Response(status_code=204)


# --- Functions, groups, roles ---------------------------------------------------------------------


@router.get("/functions", response_model=list[FunctionRead])
def list_functions(actor: Requires("admin.roles.view")) -> list[FunctionRead]:
    """The permission catalogue: every function with its permission codes."""
    return [
        FunctionRead(code=f.code, label=f.label, area=f.area, scoped=f.scoped, permissions=f.permissions())
        for f in CATALOGUE.values()
    ]


@router.get("/groups", response_model=list[GroupRead])
def list_groups(session: SessionDep, actor: Requires("admin.roles.view")) -> list:
    return list(session.scalars(select(UserGroup).order_by(UserGroup.code)))


@router.post("/groups", response_model=GroupRead, status_code=201)
def create_group(session: SessionDep, actor: Requires("admin.roles.create"), body: GroupCreate) -> UserGroup:
    return service.create_group(session, actor=actor, **body.model_dump())


@router.get("/groups/{group_id}", response_model=GroupRead)
def get_group(session: SessionDep, actor: Requires("admin.roles.view"), group_id: int) -> UserGroup:
    return service.get_or_404(session, UserGroup, group_id)


@router.patch("/groups/{group_id}", response_model=GroupRead)
def update_group(
    session: SessionDep, actor: Requires("admin.roles.edit"), group_id: int, body: GroupUpdate
) -> UserGroup:
    group = service.get_or_404(session, UserGroup, group_id)
    return service.update_group(session, actor=actor, group=group, **_changes(body))


@router.delete("/groups/{group_id}", status_code=204)
def delete_group(session: SessionDep, actor: Requires("admin.roles.delete"), group_id: int) -> Response:
    service.delete_group(session, actor=actor, group=service.get_or_404(session, UserGroup, group_id))
    return Response(status_code=204)


@router.get("/roles", response_model=list[RoleRead])
def list_roles(session: SessionDep, actor: Requires("admin.roles.view", "admin.users.view")) -> list:
    """Every role (staff administrators need them to assign roles)."""
    return list(session.scalars(select(Role).order_by(Role.group_id, Role.code)))


@router.post("/roles", response_model=RoleRead, status_code=201)
def create_role(session: SessionDep, actor: Requires("admin.roles.create"), body: RoleCreate) -> Role:
    return service.create_role(session, actor=actor, **body.model_dump())


@router.get("/roles/{role_id}", response_model=RoleRead)
def get_role(session: SessionDep, actor: Requires("admin.roles.view"), role_id: int) -> Role:
    return service.get_or_404(session, Role, role_id)


@router.patch("/roles/{role_id}", response_model=RoleRead)
def update_role(
    session: SessionDep, actor: Requires("admin.roles.edit"), role_id: int, body: RoleUpdate
) -> Role:
    role = service.get_or_404(session, Role, role_id)
    return service.update_role(session, actor=actor, role=role, **_changes(body))


@router.delete("/roles/{role_id}", status_code=204)
def delete_role(session: SessionDep, actor: Requires("admin.roles.delete"), role_id: int) -> Response:
    service.delete_role(session, actor=actor, role=service.get_or_404(session, Role, role_id))
    return Response(status_code=204)


# --- Users ----------------------------------------------------------------------------------------


@router.get("/users", response_model=list[UserRead])
def list_users(
    session: SessionDep,
    actor: Requires("admin.users.view"),
    q: str = "",
    department_id: int | None = None,
    active: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list:
    """Staff within the caller's data scope; `q` matches account, name, agent number or extension."""
    stmt = users_query(actor)
    if q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(
            or_(
                User.username.ilike(like),
                User.name.ilike(like),
                User.agent_no.ilike(like),
                User.phone_ext.ilike(like),
            )
        )
    if department_id is not None:
        stmt = stmt.where(User.department_id == department_id)
    if active is not None:
        stmt = stmt.where(User.is_active.is_(active))
    stmt = stmt.order_by(User.username).limit(max(1, min(limit, 500))).offset(max(0, offset))
    return list(session.scalars(stmt))


@router.post("/users", response_model=UserCreated, status_code=201)
def create_user(session: SessionDep, actor: Requires("admin.users.create"), body: UserCreate) -> UserCreated:
    """Create a staff account; without `password` a temporary one is generated and returned once."""
    user, temporary = service.create_user(session, actor=actor, **body.model_dump())
    return UserCreated.model_validate(
        {**UserRead.model_validate(user).model_dump(), "temporary_password": temporary}
    )


@router.get("/users/{user_id}", response_model=UserRead)
def get_user(session: SessionDep, actor: Requires("admin.users.view"), user_id: int) -> User:
    return access_user(session, actor, user_id)


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(
    session: SessionDep, actor: Requires("admin.users.edit"), user_id: int, body: UserUpdate
) -> User:
    user = access_user(session, actor, user_id, "admin.users.edit")
    return service.update_user(session, actor=actor, user=user, **_changes(body))


@router.delete("/users/{user_id}", status_code=204)
def delete_user(session: SessionDep, actor: Requires("admin.users.delete"), user_id: int) -> Response:
    user = access_user(session, actor, user_id, "admin.users.delete")
    service.delete_user(session, actor=actor, user=user)
    return Response(status_code=204)


@router.post("/users/{user_id}/reset-password", response_model=PasswordReset)
def reset_password(
    session: SessionDep, actor: Requires("admin.users.reset_password"), user_id: int
) -> PasswordReset:
    """Issue a temporary password (shown once); the user must change it at next sign-in."""
    user = access_user(session, actor, user_id, "admin.users.reset_password")
    return PasswordReset(temporary_password=service.reset_password(session, actor=actor, user=user))


@router.post("/users/{user_id}/unlock", response_model=UserRead)
def unlock_user(session: SessionDep, actor: Requires("admin.users.edit"), user_id: int) -> User:
    user = access_user(session, actor, user_id, "admin.users.edit")
    auth_service.unlock(session, user=user, actor=actor)
    return user


# --- IP rules -------------------------------------------------------------------------------------


@router.get("/ip-rules", response_model=list[IpRuleRead])
def list_ip_rules(session: SessionDep, actor: Requires("admin.ip_rules.view")) -> list:
    return list(session.scalars(select(IpRule).order_by(IpRule.scope, IpRule.id)))


@router.post("/ip-rules", response_model=IpRuleRead, status_code=201)
def create_ip_rule(
    session: SessionDep, actor: Requires("admin.ip_rules.create"), body: IpRuleCreate
) -> IpRule:
    return service.create_ip_rule(session, actor=actor, **body.model_dump())


@router.patch("/ip-rules/{rule_id}", response_model=IpRuleRead)
def update_ip_rule(
    session: SessionDep, actor: Requires("admin.ip_rules.edit"), rule_id: int, body: IpRuleUpdate
) -> IpRule:
    rule = service.get_or_404(session, IpRule, rule_id)
    return service.update_ip_rule(session, actor=actor, rule=rule, **_changes(body))


@router.delete("/ip-rules/{rule_id}", status_code=204)
def delete_ip_rule(session: SessionDep, actor: Requires("admin.ip_rules.delete"), rule_id: int) -> Response:
    service.delete_ip_rule(session, actor=actor, rule=service.get_or_404(session, IpRule, rule_id))
    return Response(status_code=204)


# --- API tokens -----------------------------------------------------------------------------------


@router.get("/tokens", response_model=list[TokenRead])
def list_tokens(session: SessionDep, actor: Requires("admin.tokens.view")) -> list:
    stmt = select(ApiToken).options(selectinload(ApiToken.user)).order_by(ApiToken.id.desc())
    return list(session.scalars(stmt))


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_token(
    session: SessionDep, actor: Requires("admin.tokens.create"), body: TokenCreate
) -> TokenCreated:
    """A bearer token acting as `user_id` — the plain token is in this answer only."""
    user = (
        access_user(session, actor, body.user_id, "admin.users.view")
        if actor.can("admin.users.view")
        else None
    )
    if user is None:
        raise NotFound()
    plain, row = auth_service.create_token(
        session, user=user, name=body.name, expires_at=body.expires_at, actor=actor
    )
    return TokenCreated.model_validate({**TokenRead.model_validate(row).model_dump(), "token": plain})


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(session: SessionDep, actor: Requires("admin.tokens.delete"), token_id: int) -> Response:
    auth_service.revoke_token(session, token=service.get_or_404(session, ApiToken, token_id), actor=actor)
    return Response(status_code=204)
