"""IVR menus, voice prompts and the IVR step over HTTP.

Menus and prompts are call-center configuration (`callcenter.config.view` / `.edit`). The PBX
fetches prompt audio and asks for each IVR step with its integration token (`callcenter.cti.report`).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.callcenter import ivr, ivr_engine, prompts
from kefu.callcenter.ivr_schemas import (
    MenuIn,
    MenuRead,
    OptionRead,
    PromptRead,
    PromptUpdate,
    StepAnswer,
    StepRequest,
)
from kefu.callcenter.models import IvrMenu, VoicePrompt
from kefu.callcenter.permissions import CONFIG_EDIT, CONFIG_VIEW, REPORT
from kefu.core import storage
from kefu.core.errors import NotFound
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/callcenter", tags=["callcenter"])
Reader = Requires(CONFIG_VIEW, CONFIG_EDIT)
Editor = Requires(CONFIG_EDIT)


# --- voice prompts ---------------------------------------------------------------------------------


def prompt_read(prompt: VoicePrompt) -> PromptRead:
    read = PromptRead.model_validate(prompt)
    read.audio_url = prompts.audio_path(prompt) if prompt.file_key else None
    return read


def load_prompt(session: Session, prompt_id: int) -> VoicePrompt:
    prompt = session.get(VoicePrompt, prompt_id)
    if prompt is None:
        raise NotFound()
    return prompt


def _upload(file: UploadFile | None) -> prompts.Upload | None:
    if file is None or not file.filename:
        return None
    return prompts.Upload(filename=file.filename, content_type=file.content_type, stream=file.file)


@router.get("/prompts", response_model=list[PromptRead])
def list_prompts(
    session: SessionDep,
    actor: Reader,
    category: str | None = Query(default=None, max_length=40),
    language: str | None = Query(default=None, max_length=10),
) -> list[PromptRead]:
    """The prompt library, by code and language; filter by category and language."""
    stmt = select(VoicePrompt).order_by(VoicePrompt.category, VoicePrompt.code, VoicePrompt.language)
    if category:
        stmt = stmt.where(VoicePrompt.category == category)
    if language:
        stmt = stmt.where(VoicePrompt.language == language)
    return [prompt_read(p) for p in session.scalars(stmt)]


@router.post("/prompts", response_model=PromptRead, status_code=201)
def create_prompt(
    session: SessionDep,
    actor: Editor,
    code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "menu",
    language: Annotated[str, Form()] = prompts.DEFAULT_LANGUAGE,
    text: Annotated[str, Form()] = "",
    enabled: Annotated[bool, Form()] = True,
    file: Annotated[UploadFile | None, File()] = None,
) -> PromptRead:
    """A new prompt (multipart form): its text, and an audio file (WAV, MP3 or Ogg, at most 10 MB)
    or none — the PBX then speaks the text."""
    data = {
        "code": code,
        "name": name,
        "category": category,
        "language": language,
        "text": text,
        "enabled": enabled,
    }
    return prompt_read(prompts.create(session, actor=actor, data=data, upload=_upload(file)))


@router.get("/prompts/{prompt_id}", response_model=PromptRead)
def get_prompt(session: SessionDep, actor: Reader, prompt_id: int) -> PromptRead:
    return prompt_read(load_prompt(session, prompt_id))


@router.patch("/prompts/{prompt_id}", response_model=PromptRead)
def update_prompt(session: SessionDep, actor: Editor, prompt_id: int, body: PromptUpdate) -> PromptRead:
    prompt = load_prompt(session, prompt_id)
    data = body.model_dump(exclude_unset=True)
    return prompt_read(prompts.update(session, actor=actor, prompt=prompt, data=data))


@router.put("/prompts/{prompt_id}/audio", response_model=PromptRead)
def replace_audio(
    session: SessionDep, actor: Editor, prompt_id: int, file: Annotated[UploadFile, File()]
) -> PromptRead:
    """Upload or replace the prompt's audio file (multipart `file`)."""
    prompt = load_prompt(session, prompt_id)
    upload = _upload(file) or prompts.Upload(filename="", content_type=None, stream=file.file)
    return prompt_read(prompts.update(session, actor=actor, prompt=prompt, data={}, upload=upload))


@router.delete("/prompts/{prompt_id}/audio", response_model=PromptRead)
def remove_audio(session: SessionDep, actor: Editor, prompt_id: int) -> PromptRead:
    """Drop the audio file: the PBX speaks the prompt's text."""
    return prompt_read(prompts.remove_file(session, actor=actor, prompt=load_prompt(session, prompt_id)))


@router.delete("/prompts/{prompt_id}", status_code=204)
def delete_prompt(session: SessionDep, actor: Editor, prompt_id: int) -> Response:
    """Delete a prompt; 409 naming the menu while a menu still needs its code."""
    prompts.delete(session, actor=actor, prompt=load_prompt(session, prompt_id))
    return Response(status_code=204)


@router.get("/prompts/{prompt_id}/audio")
def prompt_audio(
    session: SessionDep, actor: Requires(CONFIG_VIEW, CONFIG_EDIT, REPORT), prompt_id: int
) -> StreamingResponse:
    """The prompt's audio, for the page's player and for the PBX (its CTI integration token)."""
    prompt = load_prompt(session, prompt_id)
    if not prompt.file_key:
        raise NotFound()
    handle = storage.get_storage().open(prompt.file_key)
    return StreamingResponse(
        handle,
        media_type=prompt.content_type or "application/octet-stream",
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(prompt.file_name, safe='')}",
            "Content-Length": str(prompt.size),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=300",
            "ETag": f'"{prompt.sha256}"',
        },
    )


# --- IVR menus -------------------------------------------------------------------------------------


def menu_read(session: Session, menu: IvrMenu) -> MenuRead:
    read = MenuRead.model_validate(menu)
    read.options = [OptionRead.model_validate(o) for o in ivr.options_of(session, menu)]
    return read


def load_menu(session: Session, menu_id: int) -> IvrMenu:
    menu = session.get(IvrMenu, menu_id)
    if menu is None:
        raise NotFound()
    return menu


@router.get("/ivr/menus", response_model=list[MenuRead])
def list_menus(session: SessionDep, actor: Reader) -> list[MenuRead]:
    """Every menu with its options."""
    menus = list(session.scalars(select(IvrMenu).order_by(IvrMenu.code)))
    by_menu = ivr.options_by_menu(session, [m.id for m in menus])
    result = []
    for menu in menus:
        read = MenuRead.model_validate(menu)
        read.options = [OptionRead.model_validate(o) for o in by_menu.get(menu.id, [])]
        result.append(read)
    return result


@router.post("/ivr/menus", response_model=MenuRead, status_code=201)
def create_menu(session: SessionDep, actor: Editor, body: MenuIn) -> MenuRead:
    """A new menu with its options (422 naming the field, e.g. `options.2.params.queue`)."""
    return menu_read(session, ivr.create(session, actor=actor, data=body.model_dump()))


@router.get("/ivr/menus/{menu_id}", response_model=MenuRead)
def get_menu(session: SessionDep, actor: Reader, menu_id: int) -> MenuRead:
    return menu_read(session, load_menu(session, menu_id))


@router.put("/ivr/menus/{menu_id}", response_model=MenuRead)
def update_menu(session: SessionDep, actor: Editor, menu_id: int, body: MenuIn) -> MenuRead:
    """Replace the menu and its options."""
    menu = load_menu(session, menu_id)
    return menu_read(session, ivr.update(session, actor=actor, menu=menu, data=body.model_dump()))


@router.delete("/ivr/menus/{menu_id}", status_code=204)
def delete_menu(session: SessionDep, actor: Editor, menu_id: int) -> Response:
    """Delete a menu; 409 naming the menu that still leads to it."""
    ivr.delete(session, actor=actor, menu=load_menu(session, menu_id))
    return Response(status_code=204)


# --- the PBX's step ---------------------------------------------------------------------------------


@router.post("/ivr/step", response_model=StepAnswer)
def ivr_step(session: SessionDep, actor: Requires(REPORT), body: StepRequest) -> StepAnswer:
    """The next IVR action of a call (see `seq` for replays). `digits` null: the start, or no key
    pressed in time; `recording_url`: the message recorded after a `record` answer."""
    request = ivr_engine.StepIn(
        call_id=body.call_id,
        from_number=body.from_,
        to_number=body.to,
        digits=body.digits,
        recording_url=body.recording_url,
        language=body.language,
        seq=body.seq,
    )
    return StepAnswer.model_validate(ivr_engine.step(session, request))
