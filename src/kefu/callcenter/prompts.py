"""Voice prompts (语音提示, CC-10): what the IVR and campaigns play, by category and language.

One row per code and language. A prompt is an uploaded audio file (WAV, MP3 or Ogg; its type is
read from the bytes, not from the name) or just its text, which the PBX speaks by text-to-speech.
The IVR picks a code's row in the caller's language, else the default language's, else any.

A prompt a menu (or a campaign) still uses cannot be deleted while it is the last row of its code.
"""

from __future__ import annotations

import re
import struct
import wave
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.callcenter.models import Campaign, IvrMenu, IvrOption, VoicePrompt
from kefu.callcenter.permissions import CONFIG_EDIT
from kefu.core import clock, storage
from kefu.core.errors import Conflict, FieldError, FieldErrors, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor

FUNCTION = "callcenter.config"
DEFAULT_LANGUAGE = "zh_CN"
MAX_BYTES = 10 * 1024 * 1024
EXTENSIONS = ("wav", "mp3", "ogg")
HEAD_BYTES = 16

CATEGORIES = {
    "welcome": lazy("Welcome"),
    "menu": lazy("Menu"),
    "queue": lazy("Queue"),
    "self_service": lazy("Self-service"),
    "error": lazy("Error"),
    "holiday": lazy("Holiday"),
    "goodbye": lazy("Goodbye"),
    "campaign": lazy("Campaign"),
}
LANGUAGES = {
    "zh_CN": lazy("Mandarin"),
    "en": lazy("English"),
    "yue": lazy("Cantonese"),
}
FIELDS = ("code", "name", "category", "language", "text", "enabled", "file_name", "sha256")

CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,59}")
BAD_CODE = lazy("Use letters, digits, dots, hyphens and underscores (at most 60)")
REQUIRED = lazy("This field is required")
CHOOSE_OFFERED = lazy("Choose one of the offered values")
MAX_CHARS = lazy("At most %(max)s characters")
TAKEN = lazy("A prompt with this code exists in this language already")
TEXT_OR_FILE = lazy("Enter the text or upload an audio file")
NOT_AUDIO = lazy("The file is not a WAV, MP3 or Ogg audio file")
BAD_WAV = lazy("The WAV file cannot be read")
IN_USE = lazy("The IVR menu %(name)s still uses this prompt")
IN_USE_CAMPAIGN = lazy("The campaign %(name)s still uses this prompt")


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str | None
    stream: BinaryIO


def audio_type(head: bytes) -> tuple[str, str] | None:
    """(extension, content type) of audio bytes by their header, or None: RIFF/WAVE, an ID3 tag or an
    MPEG audio frame sync, an Ogg page."""
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav", "audio/wav"
    if head[:3] == b"ID3":
        return "mp3", "audio/mpeg"
    # An MPEG audio frame: 11 sync bits, a layer other than "reserved", a bitrate other than "bad".
    if (
        len(head) >= 3
        and head[0] == 0xFF
        and head[1] & 0xE0 == 0xE0
        and head[1] & 0x06
        and head[2] >> 4 != 0xF
    ):
        return "mp3", "audio/mpeg"
    if head[:4] == b"OggS":
        return "ogg", "audio/ogg"
    return None


def _inspect(stream: BinaryIO) -> tuple[str, float | None]:
    """The content type of an uploaded audio stream and, for WAV, its duration; FieldError on `file`."""
    stream.seek(0)
    kind = audio_type(stream.read(HEAD_BYTES))
    stream.seek(0)
    if kind is None:
        raise FieldError("file", NOT_AUDIO)
    duration = None
    if kind[0] == "wav":
        try:
            with wave.open(stream, "rb") as wav:
                rate = wav.getframerate()
                duration = round(wav.getnframes() / rate, 2) if rate else None
        except (wave.Error, EOFError, RuntimeError, ValueError, struct.error):
            raise FieldError("file", BAD_WAV) from None
        stream.seek(0)
    return kind[1], duration


def _store(session: Session, prompt: VoicePrompt, upload: Upload) -> None:
    name = storage.check_upload(upload.filename, upload.content_type, allowed=EXTENSIONS)
    content_type, duration = _inspect(upload.stream)
    stored = storage.get_storage().put(upload.stream, max_bytes=MAX_BYTES)
    storage.delete_on_rollback(session, stored.key)
    old = prompt.file_key
    prompt.file_key, prompt.file_name, prompt.content_type = stored.key, name, content_type
    prompt.size, prompt.sha256, prompt.duration_seconds = stored.size, stored.sha256, duration
    if old:
        _delete_after_commit(session, old)


def _delete_after_commit(session: Session, key: str) -> None:
    """The replaced file goes when the change commits (a rolled-back request keeps it)."""
    backend = storage.get_storage()
    sa_event.listen(session, "after_commit", lambda _s: backend.delete(key), once=True)


def _clean(session: Session, data: dict[str, Any], prompt: VoicePrompt | None) -> dict[str, Any]:
    errors: list[FieldError] = []
    cleaned: dict[str, Any] = {}

    def text(field: str, max_len: int, *, required: bool = False) -> None:
        if field not in data and prompt is not None:
            return
        value = data.get(field)
        value = value.strip() if isinstance(value, str) else ("" if value is None else None)
        if value is None or (required and not value):
            errors.append(FieldError(field, REQUIRED))
        elif len(value) > max_len:
            errors.append(FieldError(field, MAX_CHARS, max=max_len))
        else:
            cleaned[field] = value

    text("code", 60, required=True)
    if "code" in cleaned and not CODE_PATTERN.fullmatch(cleaned["code"]):
        errors.append(FieldError("code", BAD_CODE))
        cleaned.pop("code")
    text("name", 100, required=True)
    text("text", 2000)
    for field, table, default in (
        ("category", CATEGORIES, "menu"),
        ("language", LANGUAGES, DEFAULT_LANGUAGE),
    ):
        if field not in data and prompt is not None:
            continue
        value = data.get(field) or default
        if value not in table:
            errors.append(FieldError(field, CHOOSE_OFFERED))
        else:
            cleaned[field] = value
    if "enabled" in data or prompt is None:
        cleaned["enabled"] = bool(data.get("enabled", True))
    if errors:
        raise FieldErrors(errors)
    code = cleaned.get("code", prompt.code if prompt else "")
    language = cleaned.get("language", prompt.language if prompt else DEFAULT_LANGUAGE)
    clash = session.scalar(
        select(VoicePrompt.id).where(VoicePrompt.code == code, VoicePrompt.language == language)
    )
    if clash is not None and (prompt is None or clash != prompt.id):
        raise FieldError("code", TAKEN)
    return cleaned


def _require_edit(actor: Actor) -> None:
    if not actor.can(CONFIG_EDIT):
        raise PermissionDenied()


def _record(session: Session, actor: Actor, prompt: VoicePrompt, action: str, **kw: Any) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"callcenter.prompt.{action}",
        function=FUNCTION,
        target=prompt,
        target_label=f"{prompt.code} ({prompt.language})",
        **kw,
    )


def create(
    session: Session, *, actor: Actor, data: dict[str, Any], upload: Upload | None = None
) -> VoicePrompt:
    """A new prompt from its fields and, optionally, its audio file."""
    _require_edit(actor)
    cleaned = _clean(session, data, None)
    prompt = VoicePrompt(
        **cleaned, created_by_id=actor.user.id, created_at=clock.now(), updated_at=clock.now()
    )
    if upload is not None:
        _store(session, prompt, upload)
    if not prompt.text and not prompt.file_key:
        raise FieldError("text", TEXT_OR_FILE)
    session.add(prompt)
    session.flush()
    _record(session, actor, prompt, "create", after=audit.snapshot(prompt, FIELDS))
    return prompt


def update(
    session: Session, *, actor: Actor, prompt: VoicePrompt, data: dict[str, Any], upload: Upload | None = None
) -> VoicePrompt:
    """Change the fields that `data` names; `upload` replaces the audio file."""
    _require_edit(actor)
    before = audit.snapshot(prompt, FIELDS)
    cleaned = _clean(session, data, prompt)
    if "code" in cleaned and cleaned["code"] != prompt.code:
        _refuse_if_last_in_use(session, prompt)
    for key, value in cleaned.items():
        setattr(prompt, key, value)
    if upload is not None:
        _store(session, prompt, upload)
    if not prompt.text and not prompt.file_key:
        raise FieldError("text", TEXT_OR_FILE)
    prompt.updated_at = clock.now()
    session.flush()
    old, new = audit.diff(before, audit.snapshot(prompt, FIELDS))
    if new:
        _record(session, actor, prompt, "update", before=old, after=new)
    return prompt


def remove_file(session: Session, *, actor: Actor, prompt: VoicePrompt) -> VoicePrompt:
    """Keep the prompt as text only (the PBX speaks its text)."""
    _require_edit(actor)
    if not prompt.text:
        raise FieldError("text", TEXT_OR_FILE)
    if prompt.file_key:
        _delete_after_commit(session, prompt.file_key)
        before = {"file_name": prompt.file_name}
        prompt.file_key = prompt.file_name = prompt.content_type = prompt.sha256 = ""
        prompt.size, prompt.duration_seconds = 0, None
        prompt.updated_at = clock.now()
        session.flush()
        _record(session, actor, prompt, "remove_file", before=before, after={"file_name": ""})
    return prompt


def users_of(session: Session, code: str) -> list[tuple[str, str]]:
    """(kind, name) of the menus and campaigns that play `code`."""
    found: list[tuple[str, str]] = []
    for menu in session.scalars(select(IvrMenu).order_by(IvrMenu.code)):
        codes = {
            menu.prompt_code,
            menu.invalid_prompt_code,
            str((menu.fallback or {}).get("params", {}).get("prompt", "")),
        }
        if code in codes:
            found.append(("menu", menu.name))
    rows = session.execute(
        select(IvrMenu.name, IvrOption.params).join(IvrOption, IvrOption.menu_id == IvrMenu.id)
    )
    for name, params in rows:
        if (params or {}).get("prompt") == code and ("menu", name) not in found:
            found.append(("menu", name))
    for name in session.scalars(select(Campaign.name).where(Campaign.prompt_code == code)):
        found.append(("campaign", name))
    return found


def _refuse_if_last_in_use(session: Session, prompt: VoicePrompt) -> None:
    others = session.scalar(
        select(VoicePrompt.id).where(VoicePrompt.code == prompt.code, VoicePrompt.id != prompt.id).limit(1)
    )
    if others is not None:
        return  # the code stays playable in another language
    users = users_of(session, prompt.code)
    if users:
        kind, name = users[0]
        message = IN_USE if kind == "menu" else IN_USE_CAMPAIGN
        raise Conflict(message, name=name)


def delete(session: Session, *, actor: Actor, prompt: VoicePrompt) -> None:
    """Delete a prompt and its file; refused while a menu or campaign needs its code."""
    _require_edit(actor)
    _refuse_if_last_in_use(session, prompt)
    if prompt.file_key:
        _delete_after_commit(session, prompt.file_key)
    _record(session, actor, prompt, "delete", before=audit.snapshot(prompt, FIELDS))
    session.delete(prompt)
    session.flush()


def resolve(session: Session, code: str, language: str) -> VoicePrompt | None:
    """The enabled prompt of `code` in `language`, else in the default language, else in any."""
    if not code:
        return None
    rows = list(
        session.scalars(select(VoicePrompt).where(VoicePrompt.code == code, VoicePrompt.enabled.is_(True)))
    )
    for wanted in (language, DEFAULT_LANGUAGE):
        for row in rows:
            if row.language == wanted:
                return row
    return rows[0] if rows else None


def audio_path(prompt: VoicePrompt) -> str:
    return f"/api/v1/callcenter/prompts/{prompt.id}/audio"
