"""Business categories (业务类型): a tree with materialised paths ("/1/4/"), kept like the department
tree: moving a category rewrites the paths of its whole subtree in one statement."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core.errors import Conflict, FieldError, NotFound
from kefu.core.permissions import Actor
from kefu.org.validation import require_text
from kefu.tickets.models import (
    BusinessCategory,
    CaseTemplate,
    FormTemplate,
    Ticket,
    TicketType,
)
from kefu.tickets.setup.service.common import (
    CATEGORY_FIELDS,
    DESCRIPTION_MAX,
    KEEP,
    NAME_MAX,
    Problems,
    category_ref,
    changed_only,
    flag,
    flush_or_conflict,
    in_use,
    optional_text,
    record_change,
    require_edit,
    sort_value,
    unique_code,
)


def category_tree(session: Session) -> list[tuple[BusinessCategory, int]]:
    """Every category in tree order (siblings by sort, then name) with its depth."""
    rows = list(session.scalars(select(BusinessCategory)))
    children: dict[int | None, list[BusinessCategory]] = {}
    for category in rows:
        children.setdefault(category.parent_id, []).append(category)
    out: list[tuple[BusinessCategory, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for category in sorted(children.get(parent, []), key=lambda c: (c.sort, c.name, c.id)):
            out.append((category, depth))
            walk(category.id, depth + 1)

    walk(None, 0)
    return out


def get_category(session: Session, category_id: int) -> BusinessCategory:
    category = session.get(BusinessCategory, category_id)
    if category is None:
        raise NotFound()
    return category


def _parent(session: Session, value: Any, current: BusinessCategory | None) -> BusinessCategory | None:
    if value in (None, ""):
        return None
    parent = session.get(BusinessCategory, category_ref(session, value, field="parent_id"))
    if current is not None and parent.path.startswith(current.path):
        raise FieldError("parent_id", "A category cannot move under itself or one of its sub-categories")
    return parent


def _clean_category(
    session: Session, given: Mapping[str, Any], current: BusinessCategory | None
) -> dict[str, Any]:
    check = Problems()
    out: dict[str, Any] = {}
    if "code" in given:
        out["code"] = check(lambda: unique_code(session, BusinessCategory, given["code"], current))
    if "name" in given:
        out["name"] = check(lambda: require_text("name", given["name"], max_len=NAME_MAX))
    if "description" in given:
        out["description"] = check(
            lambda: optional_text("description", given["description"], DESCRIPTION_MAX)
        )
    if "sort" in given:
        out["sort"] = check(lambda: sort_value(given["sort"]))
    if "enabled" in given:
        out["enabled"] = check(lambda: flag("enabled", given["enabled"]))
    if "parent_id" in given:
        out["parent"] = check(lambda: _parent(session, given["parent_id"], current))
    check.raise_any()
    return out


def create_category(
    session: Session,
    *,
    actor: Actor,
    code: str,
    name: str,
    parent_id: int | None = None,
    description: str = "",
    sort: int = 0,
    enabled: bool = True,
) -> BusinessCategory:
    """A new category under `parent_id` (None: at the top of the tree)."""
    require_edit(actor)
    values = _clean_category(
        session,
        {"code": code, "name": name, "parent_id": parent_id, "description": description, "sort": sort}
        | {"enabled": enabled},
        None,
    )
    parent: BusinessCategory | None = values.pop("parent")
    category = BusinessCategory(**values, parent_id=parent.id if parent else None)
    session.add(category)
    flush_or_conflict(session)
    category.path = (parent.path if parent else "/") + f"{category.id}/"
    record_change(
        session, actor, "ticket_category.create", category, after=audit.snapshot(category, CATEGORY_FIELDS)
    )
    return category


def update_category(
    session: Session,
    *,
    actor: Actor,
    category: BusinessCategory,
    code: Any = KEEP,
    name: Any = KEEP,
    parent_id: Any = KEEP,
    description: Any = KEEP,
    sort: Any = KEEP,
    enabled: Any = KEEP,
) -> BusinessCategory:
    """Change a category; a new `parent_id` moves it with its subtree (never under itself)."""
    require_edit(actor)
    given = changed_only(code=code, name=name, parent_id=parent_id, description=description, sort=sort)
    values = _clean_category(session, given | changed_only(enabled=enabled), category)
    before = audit.snapshot(category, CATEGORY_FIELDS)
    moving = "parent" in values
    parent: BusinessCategory | None = values.pop("parent", None)
    for key, value in values.items():
        setattr(category, key, value)
    if moving and (parent.id if parent else None) != category.parent_id:
        _move(session, category, parent)
    old, new = audit.diff(before, audit.snapshot(category, CATEGORY_FIELDS))
    if new:
        changed = set(new)
        if changed <= {"parent_id", "path"}:
            action = "ticket_category.move"
        elif changed == {"enabled"}:
            action = "ticket_category.enable" if category.enabled else "ticket_category.disable"
        else:
            action = "ticket_category.update"
        record_change(session, actor, action, category, before=old, after=new)
    return category


def move_category(
    session: Session, *, actor: Actor, category: BusinessCategory, parent_id: int | None
) -> BusinessCategory:
    """Put `category` with its subtree under `parent_id` (None: the top of the tree)."""
    return update_category(session, actor=actor, category=category, parent_id=parent_id)


def set_category_enabled(
    session: Session, *, actor: Actor, category: BusinessCategory, enabled: bool
) -> BusinessCategory:
    """Enable or disable a category (a disabled one is not offered for new tickets and templates)."""
    return update_category(session, actor=actor, category=category, enabled=enabled)


def _move(session: Session, category: BusinessCategory, parent: BusinessCategory | None) -> None:
    old_path = category.path
    new_path = (parent.path if parent else "/") + f"{category.id}/"
    category.parent_id = parent.id if parent else None
    flush_or_conflict(session)
    # Rewrite the materialised paths of the whole subtree in one statement.
    session.execute(
        update(BusinessCategory)
        .where(BusinessCategory.path.startswith(old_path))
        .values(path=new_path + func.substr(BusinessCategory.path, len(old_path) + 1))
        .execution_options(synchronize_session=False)
    )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, BusinessCategory):
            session.expire(obj, ["path"])


def delete_category(session: Session, *, actor: Actor, category: BusinessCategory) -> None:
    """Delete a category nothing refers to: no sub-categories, types, templates or tickets (Conflict)."""
    require_edit(actor)
    if in_use(session, BusinessCategory.parent_id, category.id):
        raise Conflict("The category still has sub-categories; delete or move them first")
    if in_use(session, TicketType.category_id, category.id):
        raise Conflict("Ticket types belong to this category; change them first")
    if in_use(session, FormTemplate.category_id, category.id):
        raise Conflict("Form templates belong to this category; change them first")
    if in_use(session, CaseTemplate.category_id, category.id):
        raise Conflict("Case templates belong to this category; change them first")
    if in_use(session, Ticket.category_id, category.id):
        raise Conflict("Tickets are filed under this category; disable it instead")
    record_change(
        session, actor, "ticket_category.delete", category, before=audit.snapshot(category, CATEGORY_FIELDS)
    )
    session.delete(category)
    flush_or_conflict(session)
