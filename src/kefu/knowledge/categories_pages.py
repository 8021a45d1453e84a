"""The knowledge directory page (知识分类, KB-1, KB-6): the tree with each category's publish mode and
maintaining departments, and the form that adds, changes and moves a category. Deleting a category
that still holds sub-categories or articles is refused with the reason."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from kefu.core.errors import KefuError
from kefu.knowledge import categories
from kefu.knowledge import page_common as pc
from kefu.knowledge.models import KnowledgeCategory
from kefu.knowledge.permissions import CATEGORIES
from kefu.org.departments import department_tree
from kefu.web.deps import Requires, SessionDep
from kefu.web.templating import render

router = APIRouter(prefix="/knowledge/categories", include_in_schema=False)
Editor = Requires(CATEGORIES)


def _page(
    request: Request,
    session: Session,
    *,
    edit: KnowledgeCategory | None = None,
    parent_id: int | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    departments = department_tree(session)
    context = {
        "tree": categories.category_tree(session),
        "edit": edit,
        "parent_id": parent_id,
        "errors": errors or {},
        "values": values or {},
        "departments": [(d.id, "— " * depth + d.name) for d, depth in departments],
        "department_names": {d.id: d.name for d, _depth in departments},
        **pc.labels(),
    }
    return render(request, "knowledge/knowledge/categories.html", context, status_code=status)


@router.get("")
def tree(
    request: Request, session: SessionDep, actor: Editor, edit: int | None = None, parent: int | None = None
) -> Response:
    """The tree; `?edit=ID` opens a category in the form, `?parent=ID` adds under one."""
    category = categories.get_category(session, edit) if edit else None
    return _page(request, session, edit=category, parent_id=parent)


@router.post("")
def save(request: Request, session: SessionDep, actor: Editor, form: pc.FormDep) -> Response:
    category_id = pc.int_or_none(form.get("id"))
    fields: dict[str, Any] = {
        "name": pc.text(form, "name"),
        "parent_id": pc.int_or_none(form.get("parent_id")),
        "description": pc.text(form, "description"),
        "sort": pc.text(form, "sort") or 0,
        "publish_mode": pc.text(form, "publish_mode") or "auto",
        "editor_department_ids": [
            int(v) for v in form.getlist("editor_department_ids") if isinstance(v, str) and v.isdigit()
        ],
    }
    try:
        if category_id:
            category = categories.get_category(session, category_id)
            categories.update_category(
                session, actor=actor, category=category, expected_version=pc.lock_version(form), **fields
            )
        else:
            categories.create_category(session, actor=actor, **fields)
    except KefuError as exc:
        if not pc.shown_again(exc):
            raise
        errors = pc.messages(session, exc)
        edit = session.get(KnowledgeCategory, category_id) if category_id else None
        return _page(
            request, session, edit=edit, errors=errors, values=pc.values(form), status=exc.status_code
        )
    return RedirectResponse("/knowledge/categories", status_code=303)


@router.post("/{category_id}/delete")
def delete(request: Request, session: SessionDep, actor: Editor, category_id: int) -> Response:
    try:
        categories.delete_category(
            session, actor=actor, category=categories.get_category(session, category_id)
        )
    except KefuError as exc:
        if not pc.shown_again(exc):
            raise
        return _page(request, session, errors=pc.messages(session, exc), status=exc.status_code)
    return RedirectResponse("/knowledge/categories", status_code=303)
