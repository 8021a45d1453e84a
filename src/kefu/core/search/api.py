"""The search dictionary over HTTP (`search.dictionary.view` / `create` / `edit` / `delete`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from kefu.core.permissions import Actor
from kefu.core.search import dictionary
from kefu.core.search.models import SearchWord
from kefu.core.search.schemas import (
    ReindexQueued,
    SegmentRead,
    WordCreate,
    WordPage,
    WordRead,
    WordUpdate,
)
from kefu.web.deps import SessionDep, require

router = APIRouter(prefix="/api/v1/search/dictionary", tags=["search"])
View = Annotated[Actor, Depends(require("search.dictionary.view"))]
Create = Annotated[Actor, Depends(require("search.dictionary.create"))]
Edit = Annotated[Actor, Depends(require("search.dictionary.edit"))]
Delete = Annotated[Actor, Depends(require("search.dictionary.delete"))]


@router.get("", response_model=WordPage)
def list_words(
    session: SessionDep,
    actor: View,
    q: str = "",
    enabled: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dictionary.WordList:
    """Dictionary words, newest first; `q` finds part of a word or its note."""
    return dictionary.list_words(session, q=q, enabled=enabled, limit=limit, offset=offset)


@router.post("", response_model=WordRead, status_code=201)
def add_word(session: SessionDep, actor: Create, body: WordCreate) -> SearchWord:
    """Add a word; documents containing it are re-indexed in the background."""
    return dictionary.add_word(
        session,
        actor=actor,
        word=body.word,
        weight=body.weight,
        pos=body.pos,
        enabled=body.enabled,
        note=body.note,
    )


@router.get("/segment", response_model=SegmentRead)
def segment(session: SessionDep, actor: View, text: str = "") -> dictionary.Preview:
    """How `text` is cut with the committed dictionary: as a document (search-engine mode) and as a query."""
    return dictionary.preview(session, text)


@router.post("/reindex", response_model=ReindexQueued, status_code=202)
def reindex(session: SessionDep, actor: Edit) -> ReindexQueued:
    """Re-build the whole index in the background."""
    dictionary.request_reindex(session, actor=actor)
    return ReindexQueued()


@router.get("/{word_id}", response_model=WordRead)
def get_word(session: SessionDep, actor: View, word_id: int) -> SearchWord:
    return dictionary.get_word(session, word_id)


@router.patch("/{word_id}", response_model=WordRead)
def update_word(session: SessionDep, actor: Edit, word_id: int, body: WordUpdate) -> SearchWord:
    """Change a word, its weight, part of speech, note, or switch it off (`enabled: false`)."""
    word = dictionary.get_word(session, word_id)
    given = body.model_fields_set
    return dictionary.update_word(
        session,
        actor=actor,
        word=word,
        new_word=body.word,
        weight=body.weight if "weight" in given else dictionary.UNSET,
        pos=body.pos,
        enabled=body.enabled,
        note=body.note,
    )


@router.delete("/{word_id}", status_code=204)
def delete_word(session: SessionDep, actor: Delete, word_id: int) -> Response:
    dictionary.delete_word(session, actor=actor, word=dictionary.get_word(session, word_id))
    return Response(status_code=204)
