"""Service settings, read from environment variables prefixed RNN_EXPLORER_."""

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """The user's data directory: $XDG_DATA_HOME/rnn-explorer, else ~/.local/share/rnn-explorer."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rnn-explorer"


class Settings(BaseSettings):
    """Everything configurable about the service; every size a client controls has a bound here."""

    model_config = SettingsConfigDict(env_prefix="RNN_EXPLORER_")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    data_dir: Path = Field(default_factory=default_data_dir)


@lru_cache
def get_settings() -> Settings:
    return Settings()
