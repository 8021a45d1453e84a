"""API shapes of IVR menus, voice prompts and the IVR step the PBX asks for."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class PromptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    category: str
    language: str
    text: str
    file_name: str
    content_type: str
    size: int
    sha256: str
    duration_seconds: float | None
    enabled: bool
    audio_url: str | None = None
    created_at: datetime
    updated_at: datetime


class PromptUpdate(BaseModel):
    """The fields to change; the audio file is replaced with PUT …/audio."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = None
    name: str | None = None
    category: str | None = None
    language: str | None = None
    text: str | None = None
    enabled: bool | None = None


class Action(BaseModel):
    action: str = ""
    params: dict[str, Any] = Field(default_factory=dict)


class OptionIn(Action):
    digit: str = ""
    label: str = ""


class MenuIn(BaseModel):
    """A whole menu: saving it replaces its options. `params` per action: `menu` {menu}, `queue`
    {queue}, `query` {kind: fee|installation|ticket, max_digits, queue, prompt}, `knowledge`
    {article_id}, `record` {max_seconds, prompt}, `hangup` {prompt}; `back` and `repeat` none."""

    code: Any = None
    name: Any = None
    prompt_code: Any = ""
    entry_numbers: Any = Field(default_factory=list, description="Dialled numbers that start in this menu.")
    timeout_seconds: Any = 5
    max_retries: Any = 3
    invalid_prompt_code: Any = ""
    fallback: Any = Field(
        default_factory=dict, description="An action like an option's (menu, queue, hangup)."
    )
    enabled: bool = True
    options: Any = Field(default_factory=list)


class OptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    digit: str
    label: str
    action: str
    params: dict[str, Any]


class MenuRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    prompt_code: str
    entry_numbers: list[str]
    timeout_seconds: int
    max_retries: int
    invalid_prompt_code: str
    fallback: dict[str, Any]
    enabled: bool
    options: list[OptionRead] = Field(default_factory=list)
    updated_at: datetime


class StepRequest(BaseModel):
    """What the PBX reports at each IVR step. `seq` echoes the `seq` of the answer being responded
    to (absent or 0 for the first step of a call): a replay gets the same answer again."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    call_id: str = Field(min_length=1, max_length=250)
    from_: str = Field(default="", alias="from", max_length=80)
    to: str = Field(default="", max_length=80, description="The dialled (service) number.")
    digits: str | None = Field(default=None, max_length=40, pattern=r"^[0-9*#]*$")
    recording_url: str = Field(default="", max_length=500, pattern=r"^(https?://\S+)?$")
    language: Literal["zh_CN", "en", "yue"] | None = None
    seq: int | None = Field(default=None, ge=0)


class PromptItem(BaseModel):
    code: str
    text: str
    url: str | None = Field(
        description="Where to fetch the audio (relative to kefu's address); none: speak `text`."
    )


class StepAnswer(BaseModel):
    action: Literal["play_collect", "play", "record", "queue", "hangup"]
    prompts: list[PromptItem]
    seq: int
    session_id: int
    language: str
    max_digits: int | None = None
    timeout: int | None = None
    terminator: str | None = None
    queue: str | None = None
    max_seconds: int | None = None
    beep: bool | None = None
