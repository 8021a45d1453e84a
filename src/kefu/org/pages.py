"""Administration pages for the organisation. Each form posts to a page route that calls the same
service as the JSON API; invalid input re-shows the form with the message beside the field (422)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from kefu.core import i18n
from kefu.core.errors import KefuError
from kefu.core.permissions import CATALOGUE, Actor
from kefu.org import auth_service, service
from kefu.org.access import access_user, users_query
from kefu.org.models import ApiToken, DataScope, Department, IpRule, IpRuleScope, Role, User, UserGroup
from kefu.web.deps import Requires, SessionDep
from kefu.web.nav import NavItem, register
from kefu.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)

register(
    NavItem("admin", "Departments", "/admin/departments", "bi-diagram-3", ("admin.departments.view",), 10)
)
register(NavItem("admin", "Staff", "/admin/users", "bi-people", ("admin.users.view",), 20))
register(NavItem("admin", "Groups and roles", "/admin/roles", "bi-shield-lock", ("admin.roles.view",), 30))
register(
    NavItem("admin", "IP access rules", "/admin/ip-rules", "bi-hdd-network", ("admin.ip_rules.view",), 40)
)
register(NavItem("admin", "API tokens", "/admin/tokens", "bi-key", ("admin.tokens.view",), 50))


async def _form(request: Request) -> dict[str, Any]:
    """The posted form as a dict; repeated fields (checkbox groups) become lists."""
    form = await request.form()
    data: dict[str, Any] = {}
    for key in form:
        values = form.getlist(key)
        data[key] = values if len(values) > 1 or key.endswith("[]") else values[0]
    return {k.removesuffix("[]"): v for k, v in data.items() if k != "csrf_token"}


FormDep = Annotated[dict[str, Any], Depends(_form)]


def _int_or_none(value: Any) -> int | None:
    return int(value) if value not in (None, "", "None") else None


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _failed(session: Session, exc: KefuError) -> dict[str, str]:
    session.rollback()
    return {getattr(exc, "field", "_"): exc.render(i18n.gettext)}


# --- Departments ----------------------------------------------------------------------------------


def _departments_page(
    request: Request,
    session: Session,
    *,
    edit: Department | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    users = list(session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.name)))
    return render(
        request,
        "org/departments.html",
        {
            "tree": service.department_tree(session),
            "edit": edit,
            "errors": errors or {},
            "values": values or {},
            "users": users,
        },
        status_code=status,
    )


@router.get("/departments")
def departments(
    request: Request, session: SessionDep, actor: Requires("admin.departments.view"), edit: int | None = None
) -> Response:
    dept = service.get_or_404(session, Department, edit) if edit else None
    return _departments_page(request, session, edit=dept)


@router.post("/departments")
def save_department(
    request: Request,
    session: SessionDep,
    data: FormDep,
    actor: Requires("admin.departments.create", "admin.departments.edit"),
) -> Response:
    dept_id = _int_or_none(data.get("id"))
    fields = {
        "code": data.get("code", ""),
        "name": data.get("name", ""),
        "parent_id": _int_or_none(data.get("parent_id")),
        "supervisor_id": _int_or_none(data.get("supervisor_id")),
        "sort": int(data.get("sort") or 0),
    }
    dept = None
    try:
        if dept_id:
            _need(actor, "admin.departments.edit")
            dept = service.get_or_404(session, Department, dept_id)
            service.update_department(
                session, actor=actor, department=dept, **fields, enabled=data.get("enabled") == "on"
            )
        else:
            _need(actor, "admin.departments.create")
            service.create_department(session, actor=actor, **fields)
    except KefuError as exc:
        if exc.status_code == 403:
            raise
        errors = _failed(session, exc)
        dept = session.get(Department, dept_id) if dept_id else None
        return _departments_page(
            request, session, edit=dept, errors=errors, values=data, status=exc.status_code
        )
    return RedirectResponse("/admin/departments", status_code=303)


@router.post("/departments/{department_id}/delete")
def remove_department(
    request: Request, session: SessionDep, actor: Requires("admin.departments.delete"), department_id: int
) -> Response:
    dept = service.get_or_404(session, Department, department_id)
    try:
        service.delete_department(session, actor=actor, department=dept)
    except KefuError as exc:
        errors = _failed(session, exc)
        return _departments_page(request, session, errors=errors, status=exc.status_code)
    return RedirectResponse("/admin/departments", status_code=303)


def _need(actor: Actor, permission: str) -> None:
    from kefu.core.errors import PermissionDenied

    if not actor.can(permission):
        raise PermissionDenied()


# --- Groups and roles -----------------------------------------------------------------------------


def _roles_page(
    request: Request,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    edit_group: UserGroup | None = None,
    edit_role: Role | None = None,
    status: int = 200,
) -> Response:
    groups = list(
        session.scalars(select(UserGroup).options(selectinload(UserGroup.roles)).order_by(UserGroup.code))
    )
    areas: dict[str, list[Any]] = {}
    for fn in CATALOGUE.values():
        areas.setdefault(fn.area, []).append(fn)
    return render(
        request,
        "org/roles.html",
        {
            "groups": groups,
            "areas": areas,
            "scopes": list(DataScope),
            "errors": errors or {},
            "values": values or {},
            "edit_group": edit_group,
            "edit_role": edit_role,
            "function_labels": {code: fn.label for code, fn in CATALOGUE.items()},
        },
        status_code=status,
    )


@router.get("/roles")
def roles(
    request: Request,
    session: SessionDep,
    actor: Requires("admin.roles.view"),
    group: int | None = None,
    role: int | None = None,
) -> Response:
    return _roles_page(
        request,
        session,
        edit_group=service.get_or_404(session, UserGroup, group) if group else None,
        edit_role=service.get_or_404(session, Role, role) if role else None,
    )


@router.post("/groups")
def save_group(
    request: Request,
    session: SessionDep,
    data: FormDep,
    actor: Requires("admin.roles.create", "admin.roles.edit"),
) -> Response:
    group_id = _int_or_none(data.get("id"))
    fields = {
        "code": data.get("code", ""),
        "name": data.get("name", ""),
        "description": data.get("description", ""),
        "functions": _as_list(data.get("functions")),
    }
    try:
        if group_id:
            _need(actor, "admin.roles.edit")
            service.update_group(
                session, actor=actor, group=service.get_or_404(session, UserGroup, group_id), **fields
            )
        else:
            _need(actor, "admin.roles.create")
            service.create_group(session, actor=actor, **fields)
    except KefuError as exc:
        if exc.status_code == 403:
            raise
        errors = _failed(session, exc)
        edit = session.get(UserGroup, group_id) if group_id else None
        return _roles_page(
            request, session, errors=errors, values=data, edit_group=edit, status=exc.status_code
        )
    return RedirectResponse("/admin/roles", status_code=303)


@router.post("/roles")
def save_role(
    request: Request,
    session: SessionDep,
    data: FormDep,
    actor: Requires("admin.roles.create", "admin.roles.edit"),
) -> Response:
    role_id = _int_or_none(data.get("id"))
    fields = {
        "code": data.get("code", ""),
        "name": data.get("name", ""),
        "description": data.get("description", ""),
        "permissions": _as_list(data.get("permissions")),
        "data_scope": data.get("data_scope") or DataScope.OWN,
    }
    try:
        if role_id:
            _need(actor, "admin.roles.edit")
            service.update_role(
                session, actor=actor, role=service.get_or_404(session, Role, role_id), **fields
            )
        else:
            _need(actor, "admin.roles.create")
            service.create_role(session, actor=actor, group_id=int(data.get("group_id") or 0), **fields)
    except KefuError as exc:
        if exc.status_code == 403:
            raise
        errors = _failed(session, exc)
        edit = session.get(Role, role_id) if role_id else None
        return _roles_page(
            request, session, errors=errors, values=data, edit_role=edit, status=exc.status_code
        )
    return RedirectResponse("/admin/roles", status_code=303)


@router.post("/roles/{role_id}/delete")
def remove_role(
    request: Request, session: SessionDep, actor: Requires("admin.roles.delete"), role_id: int
) -> Response:
    try:
        service.delete_role(session, actor=actor, role=service.get_or_404(session, Role, role_id))
    except KefuError as exc:
        return _roles_page(request, session, errors=_failed(session, exc), status=exc.status_code)
    return RedirectResponse("/admin/roles", status_code=303)


@router.post("/groups/{group_id}/delete")
def remove_group(
    request: Request, session: SessionDep, actor: Requires("admin.roles.delete"), group_id: int
) -> Response:
    try:
        service.delete_group(session, actor=actor, group=service.get_or_404(session, UserGroup, group_id))
    except KefuError as exc:
        return _roles_page(request, session, errors=_failed(session, exc), status=exc.status_code)
    return RedirectResponse("/admin/roles", status_code=303)


# --- Users ----------------------------------------------------------------------------------------


@router.get("/users")
def users(
    request: Request,
    session: SessionDep,
    actor: Requires("admin.users.view"),
    q: str = "",
    department_id: str = "",
    active: str = "",
) -> Response:
    stmt = users_query(actor)
    if q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(User.username.ilike(like), User.name.ilike(like), User.agent_no.ilike(like)))
    if _int_or_none(department_id):
        stmt = stmt.where(User.department_id == int(department_id))
    if active in ("true", "false"):
        stmt = stmt.where(User.is_active.is_(active == "true"))
    rows = list(session.scalars(stmt.order_by(User.username).limit(500)))
    ctx = {
        "users": rows,
        "q": q,
        "department_id": _int_or_none(department_id),
        "active": active,
        "tree": service.department_tree(session),
    }
    template = "org/_users_table.html" if request.headers.get("hx-request") == "true" else "org/users.html"
    return render(request, template, ctx)


def _user_form(
    request: Request,
    session: Session,
    *,
    user: User | None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
    notice: str = "",
) -> Response:
    roles_ = list(
        session.scalars(select(Role).options(selectinload(Role.group)).order_by(Role.group_id, Role.name))
    )
    return render(
        request,
        "org/user_form.html",
        {
            "user": user,
            "errors": errors or {},
            "values": values or {},
            "roles": roles_,
            "tree": service.department_tree(session),
            "notice": notice,
        },
        status_code=status,
    )


@router.get("/users/new")
def new_user(request: Request, session: SessionDep, actor: Requires("admin.users.create")) -> Response:
    return _user_form(request, session, user=None)


@router.get("/users/{user_id}")
def edit_user(
    request: Request, session: SessionDep, actor: Requires("admin.users.view"), user_id: int
) -> Response:
    return _user_form(request, session, user=access_user(session, actor, user_id))


@router.post("/users")
def save_user(
    request: Request,
    session: SessionDep,
    data: FormDep,
    actor: Requires("admin.users.create", "admin.users.edit"),
) -> Response:
    user_id = _int_or_none(data.get("id"))
    fields = {
        "username": data.get("username", ""),
        "name": data.get("name", ""),
        "department_id": _int_or_none(data.get("department_id")),
        "role_ids": [int(r) for r in _as_list(data.get("role_ids"))],
        "email": data.get("email", ""),
        "mobile": data.get("mobile", ""),
        "phone_ext": data.get("phone_ext", ""),
        "agent_no": data.get("agent_no", ""),
        "skills": [s.strip() for s in str(data.get("skills", "")).replace("，", ",").split(",") if s.strip()],
        "is_active": data.get("is_active") == "on",
    }
    user = None
    try:
        if user_id:
            _need(actor, "admin.users.edit")
            user = access_user(session, actor, user_id, "admin.users.edit")
            service.update_user(session, actor=actor, user=user, **fields)
            return RedirectResponse(f"/admin/users/{user.id}?saved=1", status_code=303)
        _need(actor, "admin.users.create")
        user, temporary = service.create_user(session, actor=actor, **fields)
    except KefuError as exc:
        if exc.status_code in (403, 404):
            raise
        errors = _failed(session, exc)
        user = access_user(session, actor, user_id) if user_id else None
        return _user_form(request, session, user=user, errors=errors, values=data, status=exc.status_code)
    notice = i18n.gettext("Account created. Temporary password (shown once): %(pw)s") % {"pw": temporary}
    return _user_form(request, session, user=user, notice=notice, status=201)


@router.post("/users/{user_id}/reset-password")
def reset_user_password(
    request: Request, session: SessionDep, actor: Requires("admin.users.reset_password"), user_id: int
) -> Response:
    user = access_user(session, actor, user_id, "admin.users.reset_password")
    plain = service.reset_password(session, actor=actor, user=user)
    notice = i18n.gettext("Password reset. Temporary password (shown once): %(pw)s") % {"pw": plain}
    return _user_form(request, session, user=user, notice=notice)


@router.post("/users/{user_id}/unlock")
def unlock_user(
    request: Request, session: SessionDep, actor: Requires("admin.users.edit"), user_id: int
) -> Response:
    user = access_user(session, actor, user_id, "admin.users.edit")
    auth_service.unlock(session, user=user, actor=actor)
    return RedirectResponse(f"/admin/users/{user.id}", status_code=303)


# --- IP rules and tokens --------------------------------------------------------------------------


def _ip_page(
    request: Request,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "org/ip_rules.html",
        {
            "rules": list(session.scalars(select(IpRule).order_by(IpRule.scope, IpRule.id))),
            "roles": {r.id: r for r in session.scalars(select(Role))},
            "users": {u.id: u for u in session.scalars(select(User).where(User.is_active.is_(True)))},
            "scopes": list(IpRuleScope),
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status,
    )


@router.get("/ip-rules")
def ip_rules(request: Request, session: SessionDep, actor: Requires("admin.ip_rules.view")) -> Response:
    return _ip_page(request, session)


@router.post("/ip-rules")
def add_ip_rule(
    request: Request, session: SessionDep, data: FormDep, actor: Requires("admin.ip_rules.create")
) -> Response:
    try:
        service.create_ip_rule(
            session,
            actor=actor,
            scope=IpRuleScope(data.get("scope") or "global"),
            cidr=data.get("cidr", ""),
            role_id=_int_or_none(data.get("role_id")),
            user_id=_int_or_none(data.get("user_id")),
            note=data.get("note", ""),
        )
    except KefuError as exc:
        return _ip_page(request, session, errors=_failed(session, exc), values=data, status=exc.status_code)
    return RedirectResponse("/admin/ip-rules", status_code=303)


@router.post("/ip-rules/{rule_id}/toggle")
def toggle_ip_rule(
    request: Request, session: SessionDep, actor: Requires("admin.ip_rules.edit"), rule_id: int
) -> Response:
    rule = service.get_or_404(session, IpRule, rule_id)
    try:
        service.update_ip_rule(session, actor=actor, rule=rule, enabled=not rule.enabled)
    except KefuError as exc:
        return _ip_page(request, session, errors=_failed(session, exc), status=exc.status_code)
    return RedirectResponse("/admin/ip-rules", status_code=303)


@router.post("/ip-rules/{rule_id}/delete")
def remove_ip_rule(
    request: Request, session: SessionDep, actor: Requires("admin.ip_rules.delete"), rule_id: int
) -> Response:
    try:
        service.delete_ip_rule(session, actor=actor, rule=service.get_or_404(session, IpRule, rule_id))
    except KefuError as exc:
        return _ip_page(request, session, errors=_failed(session, exc), status=exc.status_code)
    return RedirectResponse("/admin/ip-rules", status_code=303)


def _tokens_page(
    request: Request,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    created: str = "",
    status: int = 200,
) -> Response:
    tokens = list(
        session.scalars(select(ApiToken).options(selectinload(ApiToken.user)).order_by(ApiToken.id.desc()))
    )
    return render(
        request,
        "org/tokens.html",
        {
            "tokens": tokens,
            "errors": errors or {},
            "created": created,
            "users": list(
                session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.username))
            ),
        },
        status_code=status,
    )


@router.get("/tokens")
def tokens(request: Request, session: SessionDep, actor: Requires("admin.tokens.view")) -> Response:
    return _tokens_page(request, session)


@router.post("/tokens")
def add_token(
    request: Request, session: SessionDep, data: FormDep, actor: Requires("admin.tokens.create")
) -> Response:
    try:
        user = access_user(session, actor, int(data.get("user_id") or 0))
        plain, _ = auth_service.create_token(
            session, user=user, name=data.get("name", ""), expires_at=None, actor=actor
        )
    except KefuError as exc:
        return _tokens_page(request, session, errors=_failed(session, exc), status=exc.status_code)
    return _tokens_page(request, session, created=plain, status=201)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, session: SessionDep, actor: Requires("admin.tokens.delete"), token_id: int
) -> Response:
    auth_service.revoke_token(session, token=service.get_or_404(session, ApiToken, token_id), actor=actor)
    return RedirectResponse("/admin/tokens", status_code=303)
