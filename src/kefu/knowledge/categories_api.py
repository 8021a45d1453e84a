"""The knowledge directory over HTTP (知识分类): the tree for everyone working with knowledge; adding,
changing, moving and deleting for holders of `knowledge.categories.edit`."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kefu.knowledge import access, categories
from kefu.knowledge.models import KnowledgeCategory
from kefu.knowledge.permissions import ANY_KNOWLEDGE, CATEGORIES
from kefu.knowledge.schemas import CategoryCreate, CategoryRead, CategoryUpdate
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/knowledge/categories", tags=["knowledge"])


def _read(category: KnowledgeCategory, depth: int, maintainable: set[int]) -> CategoryRead:
    read = CategoryRead.model_validate(category)
    read.depth = depth
    read.may_maintain = category.id in maintainable
    return read


@router.get("", response_model=list[CategoryRead])
def tree(session: SessionDep, actor: Requires(*ANY_KNOWLEDGE)) -> list[CategoryRead]:
    """Every category in tree order with its depth, and whether I may write articles in it."""
    maintainable = access.maintainable_category_ids(session, actor)
    return [_read(c, depth, maintainable) for c, depth in categories.category_tree(session)]


@router.post("", response_model=CategoryRead, status_code=201)
def create(session: SessionDep, actor: Requires(CATEGORIES), body: CategoryCreate) -> CategoryRead:
    category = categories.create_category(session, actor=actor, **body.model_dump())
    return _read(category, category.path.count("/") - 2, access.maintainable_category_ids(session, actor))


@router.patch("/{category_id}", response_model=CategoryRead)
def update(
    session: SessionDep, actor: Requires(CATEGORIES), category_id: int, body: CategoryUpdate
) -> CategoryRead:
    """Change a category; `parent_id` moves it with its subtree (never under itself)."""
    category = categories.get_category(session, category_id)
    given = body.model_dump(exclude_unset=True, exclude={"lock_version"})
    categories.update_category(
        session, actor=actor, category=category, expected_version=body.lock_version, **given
    )
    return _read(category, category.path.count("/") - 2, access.maintainable_category_ids(session, actor))


@router.delete("/{category_id}", status_code=204)
def delete(session: SessionDep, actor: Requires(CATEGORIES), category_id: int) -> Response:
    """Delete an empty category; one with sub-categories or articles is refused (409, saying why)."""
    categories.delete_category(session, actor=actor, category=categories.get_category(session, category_id))
    return Response(status_code=204)
