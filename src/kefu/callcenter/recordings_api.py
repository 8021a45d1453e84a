"""Recordings over HTTP: playback for people (access checked, audited) and upload for the PBX."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from kefu.callcenter import recordings
from kefu.callcenter.models import Call
from kefu.callcenter.permissions import REPORT
from kefu.callcenter.schemas import CallRead
from kefu.core.errors import NotFound
from kefu.web.deps import CurrentActor, Requires, SessionDep

router = APIRouter(prefix="/api/v1/callcenter", tags=["callcenter"])


@router.get("/calls/{call_pk}/recording", response_class=StreamingResponse)
def play(session: SessionDep, actor: CurrentActor, call_pk: int, request: Request) -> StreamingResponse:
    """The call's recording, if I may see the call or a ticket it is linked to (`Range` supported)."""
    call = recordings.playable(session, actor, call_pk)
    audio = recordings.open_audio(session, actor, call, request.headers.get("range"))
    headers = {**audio.headers, "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
    return StreamingResponse(
        audio.chunks, status_code=audio.status, media_type=audio.media_type, headers=headers
    )


@router.put("/cti/calls/{call_id}/recording", response_model=CallRead)
def upload(
    session: SessionDep, actor: Requires(REPORT), call_id: str, file: Annotated[UploadFile, File()]
) -> CallRead:
    """Upload the recording of a call the PBX reported (WAV, MP3 or Ogg), replacing an earlier one."""
    call = session.scalar(select(Call).where(Call.call_id == call_id).with_for_update())
    if call is None:
        raise NotFound()
    recordings.store(session, actor, call, file.file)
    session.flush()
    return CallRead.model_validate(call)
