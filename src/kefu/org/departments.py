"""Departments (部门, ORG-1): a tree with materialised paths and optional supervisors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core.errors import Conflict, FieldError
from kefu.core.permissions import Actor
from kefu.org.models import Department, User
from kefu.org.validation import code_field, ensure_unique, require_text

DEPARTMENT_FIELDS = ("code", "name", "parent_id", "supervisor_id", "sort", "enabled")


def _department_snapshot(d: Department) -> dict[str, Any]:
    return audit.snapshot(d, DEPARTMENT_FIELDS)


def _check_supervisor(session: Session, supervisor_id: int | None) -> None:
    if supervisor_id is not None and session.get(User, supervisor_id) is None:
        raise FieldError("supervisor_id", "No such user")


def create_department(
    session: Session,
    *,
    actor: Actor,
    code: str,
    name: str,
    parent_id: int | None = None,
    supervisor_id: int | None = None,
    sort: int = 0,
) -> Department:
    code = code_field("code", code)
    name = require_text("name", name, max_len=100)
    ensure_unique(session, Department.code, code, "code")
    parent = None
    if parent_id is not None:
        parent = session.get(Department, parent_id)
        if parent is None:
            raise FieldError("parent_id", "No such department")
    _check_supervisor(session, supervisor_id)
    dept = Department(code=code, name=name, parent_id=parent_id, supervisor_id=supervisor_id, sort=sort)
    session.add(dept)
    session.flush()
    dept.path = (parent.path if parent else "/") + f"{dept.id}/"
    audit.record(
        session,
        actor=actor,
        action="department.create",
        function="admin.departments",
        target=dept,
        after=_department_snapshot(dept),
    )
    return dept


def update_department(
    session: Session, *, actor: Actor, department: Department, **changes: Any
) -> Department:
    before = _department_snapshot(department)
    if "code" in changes:
        code = code_field("code", changes["code"])
        ensure_unique(session, Department.code, code, "code", exclude_id=department.id)
        department.code = code
    if "name" in changes:
        department.name = require_text("name", changes["name"], max_len=100)
    if "supervisor_id" in changes:
        _check_supervisor(session, changes["supervisor_id"])
        department.supervisor_id = changes["supervisor_id"]
    if "sort" in changes:
        department.sort = int(changes["sort"])
    if "enabled" in changes:
        department.enabled = bool(changes["enabled"])
    if "parent_id" in changes and changes["parent_id"] != department.parent_id:
        _move_department(session, department, changes["parent_id"])
    after = _department_snapshot(department)
    b, a = audit.diff(before, after)
    if a:
        audit.record(
            session,
            actor=actor,
            action="department.update",
            function="admin.departments",
            target=department,
            before=b,
            after=a,
        )
    return department


def _move_department(session: Session, department: Department, parent_id: int | None) -> None:
    old_path = department.path
    if parent_id is None:
        new_path = f"/{department.id}/"
    else:
        parent = session.get(Department, parent_id)
        if parent is None:
            raise FieldError("parent_id", "No such department")
        if parent.path.startswith(old_path):
            raise FieldError("parent_id", "A department cannot move under itself or its own sub-department")
        new_path = parent.path + f"{department.id}/"
    department.parent_id = parent_id
    # Rewrite the materialised paths of the whole subtree in one statement.
    session.execute(
        update(Department)
        .where(Department.path.startswith(old_path))
        .values(path=new_path + func.substr(Department.path, len(old_path) + 1))
        .execution_options(synchronize_session=False)
    )
    session.expire_all()


def delete_department(session: Session, *, actor: Actor, department: Department) -> None:
    if session.scalar(
        select(func.count()).select_from(Department).where(Department.parent_id == department.id)
    ):
        raise Conflict("The department still has sub-departments")
    if session.scalar(select(func.count()).select_from(User).where(User.department_id == department.id)):
        raise Conflict("The department still has staff; move them first")
    audit.record(
        session,
        actor=actor,
        action="department.delete",
        function="admin.departments",
        target=department,
        before=_department_snapshot(department),
    )
    session.delete(department)


def department_tree(session: Session) -> list[tuple[Department, int]]:
    """All departments in tree order with their depth, for lists and selects."""
    rows = list(session.scalars(select(Department)))
    children: dict[int | None, list[Department]] = {}
    for d in rows:
        children.setdefault(d.parent_id, []).append(d)
    out: list[tuple[Department, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for d in sorted(children.get(parent, []), key=lambda x: (x.sort, x.name)):
            out.append((d, depth))
            walk(d.id, depth + 1)

    walk(None, 0)
    return out
