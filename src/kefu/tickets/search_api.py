"""The comprehensive ticket search (综合查询) and saved queries (自定义查询) over HTTP.

`GET /api/v1/tickets/search?status=open&status=suspended&keyword=宽带&customer_pinyin=zs&sort=updated`
takes every condition as a query parameter (see `finder`); the same parameters export the result
(`/search/export?format=xlsx`) and are what a saved query stores.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from kefu.audit.schemas import ExportFormat
from kefu.tickets import finder, search_service
from kefu.tickets.api import ANY_TICKET_RIGHT
from kefu.tickets.models import TicketStatus
from kefu.tickets.search_models import SavedQuery
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])
Searcher = Requires(*ANY_TICKET_RIGHT)


class SearchItem(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    serial: str
    type_id: int
    category_id: int | None
    channel: str
    subject: str
    priority: str
    nature: str | None
    customer_id: int | None
    customer_name: str
    customer_phone: str
    status: TicketStatus
    stage: str
    handler_id: int | None
    creator_id: int | None
    creator_department_id: int | None
    department_id: int | None
    external_code: str
    terminal_no: str
    area: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class SearchPage(BaseModel):
    items: list[SearchItem]
    total: int
    exact: bool = Field(description="False: there are more than `total` matches")
    page: int
    size: int
    sort: str
    order: str
    conditions: dict[str, Any]


class SavedQueryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    owner_id: int
    owner_name: str = ""
    shared: bool
    conditions: dict[str, Any]
    mine: bool = False
    created_at: datetime
    updated_at: datetime
    version: int = Field(validation_alias=AliasChoices("lock_version", "version"))


class SavedQueryCreate(BaseModel):
    name: str = ""
    conditions: dict[str, Any] = Field(default_factory=dict)
    shared: bool = False


class SavedQueryUpdate(BaseModel):
    name: str | None = None
    conditions: dict[str, Any] | None = None
    shared: bool | None = None
    version: int | None = None


@router.get("/search", response_model=SearchPage)
def search(request: Request, session: SessionDep, actor: Searcher) -> SearchPage:
    """One page of the tickets within my data scope that match every given condition."""
    c = finder.parse(request.query_params)
    found = finder.run(session, actor, c)
    return SearchPage(
        items=[SearchItem.model_validate(t) for t in found.rows],
        total=found.total,
        exact=found.exact,
        page=found.page,
        size=found.size,
        sort=c.sort,
        order=c.order,
        conditions=c.params(),
    )


@router.get("/search/export")
def export(
    request: Request,
    session: SessionDep,
    actor: Requires(search_service.EXPORT),
    format: ExportFormat = Query(default=ExportFormat.XLSX),
) -> Response:
    """The matching tickets within my data scope as CSV or XLSX (audited, capped)."""
    c = finder.parse(request.query_params)
    return search_service.export(session, actor, c, format).response()


def _read(q: SavedQuery, uid: int, owners: dict[int, str]) -> SavedQueryRead:
    return SavedQueryRead.model_validate(
        {
            "id": q.id,
            "name": q.name,
            "owner_id": q.owner_id,
            "owner_name": owners.get(q.owner_id, ""),
            "shared": q.shared,
            "conditions": q.conditions or {},
            "mine": q.owner_id == uid,
            "created_at": q.created_at,
            "updated_at": q.updated_at,
            "version": q.lock_version,
        }
    )


@router.get("/saved-queries", response_model=list[SavedQueryRead])
def list_saved(session: SessionDep, actor: Searcher) -> list[SavedQueryRead]:
    """My saved queries and those others shared."""
    found = search_service.visible(session, actor)
    owners = search_service.owner_names(session, found)
    return [_read(q, actor.user.id, owners) for q in found]


@router.post("/saved-queries", response_model=SavedQueryRead, status_code=201)
def create_saved(session: SessionDep, actor: Searcher, body: SavedQueryCreate) -> SavedQueryRead:
    q = search_service.create(session, actor, body.model_dump())
    return _read(q, actor.user.id, search_service.owner_names(session, [q]))


@router.get("/saved-queries/{query_id}", response_model=SavedQueryRead)
def get_saved(session: SessionDep, actor: Searcher, query_id: int) -> SavedQueryRead:
    q = search_service.get(session, actor, query_id)
    return _read(q, actor.user.id, search_service.owner_names(session, [q]))


@router.patch("/saved-queries/{query_id}", response_model=SavedQueryRead)
def update_saved(
    session: SessionDep, actor: Searcher, query_id: int, body: SavedQueryUpdate
) -> SavedQueryRead:
    """Change my saved query (name, conditions, shared); others' shared ones are read-only (403)."""
    data = body.model_dump(exclude_unset=True, exclude={"version"})
    q = search_service.update(session, actor, query_id, data, body.version)
    return _read(q, actor.user.id, search_service.owner_names(session, [q]))


@router.delete("/saved-queries/{query_id}", status_code=204)
def delete_saved(session: SessionDep, actor: Searcher, query_id: int) -> Response:
    search_service.delete(session, actor, query_id)
    return Response(status_code=204)
