"""Deployment settings, read from `KEFU_*` environment variables and an optional `.env` file."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Documents, images, archives, audio and video (amr: phone voice notes), saved e-mails.
DEFAULT_ATTACHMENT_TYPES = frozenset(
    {
        *("pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "csv"),
        *("jpg", "jpeg", "png", "gif", "webp", "bmp"),
        *("zip", "rar", "7z", "mp3", "wav", "amr", "mp4", "eml", "msg"),
    }
)


class Settings(BaseSettings):
    """Everything that differs between deployments. Run-time business settings live in system parameters."""

    model_config = SettingsConfigDict(env_prefix="KEFU_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Where the embedded database and job store live.")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means SQLite under data_dir.")
    redis_url: str = Field(default="", description="Redis URL; empty means embedded events and jobs.")
    secret_key: str = Field(default="", description="Signs cookies; generated into data_dir when empty.")
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh_CN"
    # Jobs run in-process (embedded) unless a separate `kefu worker` consumes them.
    jobs_in_process: bool = True
    # Tests run jobs synchronously at enqueue time.
    jobs_immediate: bool = False
    cookie_secure: bool = False
    # Trust X-Forwarded-For from these proxies (comma-separated IPs) to learn the client IP.
    trusted_proxies: str = "127.0.0.1"
    sql_echo: bool = False
    cti_adapter: str = Field(
        default="simulated",
        description="Where the agent desk's call controls go: `simulated` (demos, tests) or `none`.",
    )
    storage_dir: Path | None = Field(
        default=None, description="Where uploaded files are stored; empty means data_dir/files."
    )
    attachment_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0, description="Largest upload.")
    # Allowed file extensions, comma-separated in the environment: `KEFU_ATTACHMENT_TYPES=pdf,png`.
    attachment_types: Annotated[frozenset[str], NoDecode] = DEFAULT_ATTACHMENT_TYPES

    @field_validator("storage_dir", mode="before")
    @classmethod
    def _empty_storage_dir(cls, value: object) -> object:
        return None if value == "" else value  # an empty variable means the default, not "."

    @field_validator("attachment_types", mode="before")
    @classmethod
    def _split_attachment_types(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.replace(";", ",").replace(" ", ",").split(",")
        if isinstance(value, list | tuple | set | frozenset):
            return frozenset(str(ext).strip().lstrip(".").lower() for ext in value if str(ext).strip())
        return value

    @property
    def server_mode(self) -> bool:
        return bool(self.redis_url)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'kefu.db').resolve()}"

    def resolved_storage_dir(self) -> Path:
        return self.storage_dir if self.storage_dir is not None else self.data_dir / "files"

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
