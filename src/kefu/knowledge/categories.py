"""The knowledge directory (知识分类, KB-1): a tree with materialised paths ("/1/4/"), its publish mode
(automatic on approval or by hand) and the business departments that maintain it (KB-6)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from kefu.audit import service as audit
from kefu.core.errors import Conflict, FieldError, FieldErrors, NotFound, PermissionDenied
from kefu.core.permissions import Actor
from kefu.knowledge.models import Article, KnowledgeCategory, KnowledgeCategoryEditor, PublishMode
from kefu.knowledge.permissions import CATEGORIES
from kefu.org.models import Department

NAME_MAX, DESCRIPTION_MAX = 100, 2000
SORT_LIMIT = 1_000_000
FIELDS = ("name", "parent_id", "path", "description", "sort", "publish_mode", "editor_department_ids")
_KEEP: Any = object()


def category_tree(session: Session) -> list[tuple[KnowledgeCategory, int]]:
    """Every category in tree order (siblings by sort, then name) with its depth."""
    rows = list(session.scalars(select(KnowledgeCategory).options(selectinload(KnowledgeCategory.editors))))
    children: dict[int | None, list[KnowledgeCategory]] = {}
    for category in rows:
        children.setdefault(category.parent_id, []).append(category)
    out: list[tuple[KnowledgeCategory, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for category in sorted(children.get(parent, []), key=lambda c: (c.sort, c.name, c.id)):
            out.append((category, depth))
            walk(category.id, depth + 1)

    walk(None, 0)
    return out


def get_category(session: Session, category_id: int) -> KnowledgeCategory:
    category = session.get(KnowledgeCategory, category_id)
    if category is None:
        raise NotFound()
    return category


def subtree_ids(session: Session, category: KnowledgeCategory) -> Any:
    """A subquery of the ids of `category` and everything below it."""
    return select(KnowledgeCategory.id).where(
        KnowledgeCategory.path >= category.path, KnowledgeCategory.path < category.path[:-1] + "0"
    )


def _require(actor: Actor) -> None:
    if not actor.can(CATEGORIES):
        raise PermissionDenied()


def _text(field: str, value: Any, max_len: int, *, required: bool) -> str:
    text = value.strip() if isinstance(value, str) else ("" if value is None else str(value).strip())
    if required and not text:
        raise FieldError(field, "This field is required")
    if len(text) > max_len:
        raise FieldError(field, "At most %(n)s characters", n=max_len)
    return text


def _sort(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise FieldError("sort", "Enter a whole number") from None
    if isinstance(value, bool) or not -SORT_LIMIT <= number <= SORT_LIMIT:
        raise FieldError("sort", "Must be between %(lo)s and %(hi)s", lo=-SORT_LIMIT, hi=SORT_LIMIT)
    return number


def _mode(value: Any) -> PublishMode:
    try:
        return PublishMode(value)
    except ValueError:
        raise FieldError("publish_mode", "Choose one of the offered values") from None


def _parent(session: Session, value: Any, current: KnowledgeCategory | None) -> KnowledgeCategory | None:
    if value in (None, ""):
        return None
    try:
        parent = session.get(KnowledgeCategory, int(value))
    except (TypeError, ValueError):
        parent = None
    if parent is None:
        raise FieldError("parent_id", "No such category")
    if current is not None and parent.path.startswith(current.path):
        raise FieldError("parent_id", "A category cannot be moved under itself or its own sub-categories")
    return parent


def _departments(session: Session, value: Any) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise FieldError("editor_department_ids", "Give a list of department ids")
    ids = list(dict.fromkeys(value))
    found = set(session.scalars(select(Department.id).where(Department.id.in_(ids)))) if ids else set()
    missing = [i for i in ids if i not in found]
    if missing:
        raise FieldError(
            "editor_department_ids", "No such department: %(ids)s", ids=", ".join(map(str, missing))
        )
    return ids


def _clean(session: Session, given: dict[str, Any], current: KnowledgeCategory | None) -> dict[str, Any]:
    """Every given field checked at once (FieldErrors naming each bad one)."""
    checks = {
        "name": lambda v: _text("name", v, NAME_MAX, required=True),
        "description": lambda v: _text("description", v, DESCRIPTION_MAX, required=False),
        "sort": _sort,
        "publish_mode": _mode,
        "parent_id": lambda v: _parent(session, v, current),
        "editor_department_ids": lambda v: _departments(session, v),
    }
    cleaned: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, value in given.items():
        if value is _KEEP:
            continue
        try:
            cleaned[key] = checks[key](value)
        except FieldError as exc:
            errors.append(exc)
    if errors:
        raise FieldErrors(errors)
    return cleaned


def _snapshot(category: KnowledgeCategory) -> dict[str, Any]:
    return audit.snapshot(category, FIELDS)


def _set_editors(category: KnowledgeCategory, ids: Sequence[int]) -> None:
    keep = [e for e in category.editors if e.department_id in ids]
    have = {e.department_id for e in keep}
    category.editors = keep + [KnowledgeCategoryEditor(department_id=i) for i in ids if i not in have]


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("Someone else changed this category meanwhile; reload and try again") from None


def create_category(
    session: Session,
    *,
    actor: Actor,
    name: Any,
    parent_id: Any = None,
    description: Any = "",
    sort: Any = 0,
    publish_mode: Any = PublishMode.AUTO,
    editor_department_ids: Any = None,
) -> KnowledgeCategory:
    """Add a category (at the top, or under `parent_id`)."""
    _require(actor)
    values = _clean(
        session,
        {
            "name": name,
            "parent_id": parent_id,
            "description": description,
            "sort": sort,
            "publish_mode": publish_mode,
            "editor_department_ids": editor_department_ids,
        },
        None,
    )
    parent = values.pop("parent_id")
    editors = values.pop("editor_department_ids")
    category = KnowledgeCategory(parent_id=parent.id if parent else None, **values)
    session.add(category)
    session.flush()
    category.path = (parent.path if parent else "/") + f"{category.id}/"
    _set_editors(category, editors)
    _flush(session)
    audit.record(
        session,
        actor=actor,
        action="knowledge.category.create",
        function="knowledge.categories",
        target=category,
        after=_snapshot(category),
    )
    return category


def update_category(
    session: Session,
    *,
    actor: Actor,
    category: KnowledgeCategory,
    expected_version: int | None = None,
    name: Any = _KEEP,
    parent_id: Any = _KEEP,
    description: Any = _KEEP,
    sort: Any = _KEEP,
    publish_mode: Any = _KEEP,
    editor_department_ids: Any = _KEEP,
) -> KnowledgeCategory:
    """Change a category; a new parent moves it with its whole subtree (never under itself)."""
    _require(actor)
    if expected_version is not None and expected_version != category.lock_version:
        raise Conflict("Someone else changed this category meanwhile; reload and try again")
    values = _clean(
        session,
        {
            "name": name,
            "parent_id": parent_id,
            "description": description,
            "sort": sort,
            "publish_mode": publish_mode,
            "editor_department_ids": editor_department_ids,
        },
        category,
    )
    before = _snapshot(category)
    if "parent_id" in values:
        parent = values.pop("parent_id")
        if (parent.id if parent else None) != category.parent_id:
            _move(session, category, parent)
    if "editor_department_ids" in values:
        _set_editors(category, values.pop("editor_department_ids"))
    for key, value in values.items():
        setattr(category, key, value)
    _flush(session)
    session.refresh(category, ["path"])
    old, new = audit.diff(before, _snapshot(category))
    if new:
        audit.record(
            session,
            actor=actor,
            action="knowledge.category.move" if "path" in new else "knowledge.category.update",
            function="knowledge.categories",
            target=category,
            before=old,
            after=new,
        )
    return category


def _move(session: Session, category: KnowledgeCategory, parent: KnowledgeCategory | None) -> None:
    old_path = category.path
    new_path = (parent.path if parent else "/") + f"{category.id}/"
    category.parent_id = parent.id if parent else None
    _flush(session)
    # Rewrite the materialised paths of the whole subtree in one statement.
    session.execute(
        update(KnowledgeCategory)
        .where(KnowledgeCategory.path.startswith(old_path))
        .values(path=new_path + func.substr(KnowledgeCategory.path, len(old_path) + 1))
        .execution_options(synchronize_session=False)
    )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, KnowledgeCategory):
            session.expire(obj, ["path"])


def delete_category(session: Session, *, actor: Actor, category: KnowledgeCategory) -> None:
    """Delete an empty category: no sub-categories and no articles of any status (409 otherwise)."""
    _require(actor)
    children = session.scalar(
        select(func.count()).select_from(KnowledgeCategory).where(KnowledgeCategory.parent_id == category.id)
    )
    if children:
        raise Conflict(
            "The category %(name)s still has %(n)s sub-categories; delete or move them first",
            name=category.name,
            n=children,
        )
    articles = session.scalar(
        select(func.count()).select_from(Article).where(Article.category_id == category.id)
    )
    if articles:
        raise Conflict(
            "The category %(name)s still holds %(n)s articles (archived ones included); move them first",
            name=category.name,
            n=articles,
        )
    audit.record(
        session,
        actor=actor,
        action="knowledge.category.delete",
        function="knowledge.categories",
        target=category,
        before=_snapshot(category),
    )
    session.delete(category)
    _flush(session)
