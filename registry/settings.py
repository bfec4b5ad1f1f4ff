"""Settings shared by every process: where data lives and which database to use.

Read from the environment with the `LIENTHONG_` prefix (pydantic-settings), so a
deployment configures the hub, the CLI and the nodes the same way.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SUPPORTED_DATABASES = ("sqlite", "sqlite+aiosqlite", "postgresql", "postgres", "postgresql+asyncpg")


class StorageSettings(BaseSettings):
    """Where the embedded data lives and which database the hub uses."""

    model_config = SettingsConfigDict(env_prefix="LIENTHONG_", extra="ignore")

    data_dir: Path = Path("./var")
    """Directory for the embedded SQLite database, keys and exports; created on first use."""

    database_url: str | None = None
    """SQLAlchemy async URL. Unset: SQLite (WAL) at `{data_dir}/lienthong.db`.
    PostgreSQL: `postgresql+asyncpg://user@host:port/db` (plain `postgresql://` is accepted)."""

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in SUPPORTED_DATABASES:
            raise ValueError(
                f"{scheme or value!r} is not a supported database: use postgresql://user@host/db "
                "or sqlite:///path, or leave it unset for SQLite in the data directory"
            )
        return value

    def resolved_database_url(self) -> str:
        """The database URL with defaults applied and the async driver named."""
        if self.database_url is None:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'lienthong.db').resolve()}"
        url = self.database_url
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+asyncpg://" + url.split("://", 1)[1]
        elif url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
            url = "sqlite+aiosqlite://" + url.split("://", 1)[1]
        return url
