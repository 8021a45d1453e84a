"""Who may see and change which knowledge.

Reading: published knowledge that has not expired is open to everyone holding `knowledge.article.view`;
the public scope (portal, customers) reaches only articles marked public.

Managing: an article that was ever published is visible on the management screens to everyone with a
management right; a never-published draft only within the data scope (own / department / subtree /
all, by the article's owning department) of one's edit, review, publish or admin right — outside it,
it does not exist (404). Changing an article needs the right for the action and, for review and
publish, the article within that right's scope (403 otherwise); writing needs the category to be one
the author's department may maintain (KB-6, 403 otherwise).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.orm import Session

from kefu.core import clock
from kefu.core.errors import NotFound, PermissionDenied
from kefu.core.permissions import Actor, subtree_range
from kefu.knowledge.models import (
    Article,
    ArticleStatus,
    Audience,
    KnowledgeCategory,
    KnowledgeCategoryEditor,
)
from kefu.knowledge.permissions import ADMIN, EDIT, MANAGE_ANY, VIEW
from kefu.org.models import DataScope, Department


def readable_condition(
    *, audience: Audience | None = None, at: datetime | None = None
) -> ColumnElement[bool]:
    """Published, not expired, and — for the public scope — public knowledge (what search may return)."""
    now = at or clock.now()
    condition = (Article.status == ArticleStatus.PUBLISHED) & or_(
        Article.expires_at.is_(None), Article.expires_at > now
    )
    if audience is Audience.PUBLIC:
        condition = condition & (Article.audience == Audience.PUBLIC)
    return condition


def scope_condition(actor: Actor, permission: str) -> ColumnElement[bool]:
    """The articles the data scope of `permission` reaches; one's own always."""
    scope = actor.scope(permission)
    if scope is None:
        return false()
    if scope is DataScope.ALL:
        return true()
    mine = Article.owner_id == actor.user.id
    if scope is DataScope.SUBTREE and actor.department_path:
        subtree = select(Department.id).where(*subtree_range(actor.department_path))
        return or_(Article.department_id.in_(subtree), mine)
    if scope in (DataScope.SUBTREE, DataScope.DEPARTMENT) and actor.user.department_id is not None:
        return or_(Article.department_id == actor.user.department_id, mine)
    return mine


def managed_condition(actor: Actor) -> ColumnElement[bool]:
    """The articles the management screens show `actor`."""
    held = [p for p in MANAGE_ANY if actor.can(p)]
    if not held:
        return false()
    return or_(Article.status != ArticleStatus.DRAFT, *(scope_condition(actor, p) for p in held))


def restrict_managed(stmt: Select[Any], actor: Actor) -> Select[Any]:
    return stmt.where(managed_condition(actor))


def in_scope(session: Session, actor: Actor, article: Article, permission: str) -> bool:
    """Whether `article` lies within the data scope of `permission`."""
    scope = actor.scope(permission)
    if scope is None:
        return False
    if scope is DataScope.ALL or article.owner_id == actor.user.id:
        return True
    if article.department_id is None or actor.user.department_id is None:
        return False
    if scope is DataScope.SUBTREE and actor.department_path:
        dept = session.get(Department, article.department_id)
        return dept is not None and dept.path.startswith(actor.department_path)
    if scope in (DataScope.SUBTREE, DataScope.DEPARTMENT):
        return article.department_id == actor.user.department_id
    return False


def require_scope(session: Session, actor: Actor, article: Article, permission: str) -> None:
    if not actor.can(permission):
        raise PermissionDenied()
    if not in_scope(session, actor, article, permission):
        raise PermissionDenied("This article is outside your data scope")


def load_managed(session: Session, actor: Actor, article_id: int) -> Article:
    """An article on the management screens, or 404."""
    article = session.scalars(
        select(Article).where(Article.id == article_id, managed_condition(actor))
    ).first()
    if article is None:
        raise NotFound()
    return article


def load_readable(
    session: Session, actor: Actor, article_id: int, *, audience: Audience | None = None
) -> Article:
    """A published, unexpired article for a reader (and in the public scope, a public one), or 404."""
    if not actor.can(VIEW):
        raise PermissionDenied()
    article = session.scalars(
        select(Article).where(Article.id == article_id, readable_condition(audience=audience))
    ).first()
    if article is None:
        raise NotFound()
    return article


# --- category maintenance rights (KB-6) -----------------------------------------------------------------


def _ancestor_ids(category: KnowledgeCategory) -> list[int]:
    return [int(part) for part in category.path.strip("/").split("/") if part]


def maintaining_departments(session: Session, category: KnowledgeCategory) -> list[Department]:
    """The departments that may maintain articles in `category`: its own list, else the nearest
    ancestor's; empty means every author may."""
    ids = _ancestor_ids(category) or [category.id]
    rows = session.execute(
        select(KnowledgeCategoryEditor.category_id, Department)
        .join(Department, Department.id == KnowledgeCategoryEditor.department_id)
        .where(KnowledgeCategoryEditor.category_id.in_(ids))
    ).all()
    by_category: dict[int, list[Department]] = {}
    for category_id, dept in rows:
        by_category.setdefault(category_id, []).append(dept)
    for category_id in reversed(ids):
        if category_id in by_category:
            return by_category[category_id]
    return []


def _covers(departments: list[Department], actor: Actor) -> bool:
    path = actor.department_path
    return bool(path) and any(path.startswith(d.path) for d in departments)


def may_maintain(session: Session, actor: Actor, category: KnowledgeCategory) -> bool:
    """Whether `actor` may write articles in `category` (a listed department covers its sub-departments)."""
    if actor.can(ADMIN):
        return True
    if not actor.can(EDIT):
        return False
    departments = maintaining_departments(session, category)
    return not departments or _covers(departments, actor)


def require_maintain(session: Session, actor: Actor, category: KnowledgeCategory) -> None:
    if not may_maintain(session, actor, category):
        raise PermissionDenied(
            "Your department may not maintain articles in the category %(name)s", name=category.name
        )


def maintainable_category_ids(session: Session, actor: Actor) -> set[int]:
    """Every category `actor` may write in (two queries for the whole tree)."""
    if not (actor.can(EDIT) or actor.can(ADMIN)):
        return set()
    categories = list(session.scalars(select(KnowledgeCategory)))
    if actor.can(ADMIN):
        return {c.id for c in categories}
    editors: dict[int, list[Department]] = {}
    for category_id, dept in session.execute(
        select(KnowledgeCategoryEditor.category_id, Department).join(
            Department, Department.id == KnowledgeCategoryEditor.department_id
        )
    ).all():
        editors.setdefault(category_id, []).append(dept)
    allowed = set()
    for category in categories:
        effective: list[Department] = []
        for ancestor in reversed(_ancestor_ids(category) or [category.id]):
            if ancestor in editors:
                effective = editors[ancestor]
                break
        if not effective or _covers(effective, actor):
            allowed.add(category.id)
    return allowed
