"""Deployment settings, read from `KEFU_*` environment variables and an optional `.env` file."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    @property
    def server_mode(self) -> bool:
        return bool(self.redis_url)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'kefu.db').resolve()}"

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
