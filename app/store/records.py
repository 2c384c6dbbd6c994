"""What the store keeps and the interface the services use: models, sessions, their records."""

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

from app.store.faults import StorageError

__all__ = [
    "ACTIVE",
    "ENDED",
    "FINAL",
    "ModelRecord",
    "NotFoundError",
    "SessionRecord",
    "SessionStatus",
    "Store",
    "new_id",
    "snapshot_key",
]

SessionStatus = Literal[
    "running", "paused", "stopped", "finished", "early_stopped", "failed", "interrupted"
]
ACTIVE: tuple[SessionStatus, ...] = ("running", "paused")
FINAL: tuple[SessionStatus, ...] = ("stopped", "finished", "early_stopped", "failed")
# A session whose worker ended is "interrupted" until someone resumes it.
ENDED: tuple[SessionStatus, ...] = (*FINAL, "interrupted")
assert set(get_args(SessionStatus)) == {*ACTIVE, *ENDED}


class NotFoundError(LookupError):
    """An id that names no stored model or session; the message says which."""


@dataclass
class ModelRecord:
    id: str
    name: str
    config: dict[str, Any]
    created_at: float
    updated_at: float
    weights_version: int = 1
    # who may see and manage it: an owner id; "" (rows older than owners) is nobody but the
    # instructor's
    owner_id: str = ""


@dataclass
class SessionRecord:
    """A training session as every worker sees it.

    status: "running" | "paused" | "stopped" | "finished" | "failed" | "interrupted".
    control: the last command written by any worker ("run" | "pause" | "stop"), read by the
    worker that runs the session. latest: the last progress record.
    """

    id: str
    model_id: str
    status: str
    config: dict[str, Any]
    step: int = 0
    total_steps: int = 0
    control: str = "run"
    owner: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    latest: dict[str, Any] | None = None
    error: str | None = None
    owner_id: str = ""  # the model's owner (`owner` above is the worker running the session)


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def snapshot_key(session_id: str) -> str:
    """The blob key of a training session's snapshot (deleted with the session's model)."""
    return f"session-{session_id}-snapshot"


class Store(Protocol):
    """What the service needs from persistence (`SQLStore`: SQLite or PostgreSQL)."""

    def close(self) -> None: ...

    @property
    def fault(self) -> StorageError | None: ...
    def check_writable(self) -> None: ...
    def release_reserve(self) -> None: ...
    def collect_orphans(self, grace_seconds: float = 60.0) -> list[Path]: ...

    def create_model(self, record: ModelRecord, weights: bytes) -> None: ...
    def get_model(self, model_id: str) -> ModelRecord: ...
    def list_models(self) -> list[ModelRecord]: ...
    def count_models(self) -> int: ...
    def delete_model(self, model_id: str) -> None: ...
    def read_weights(self, model_id: str) -> bytes: ...
    def write_weights(self, model_id: str, weights: bytes) -> int: ...

    def write_blob(self, key: str, data: bytes) -> None: ...
    def read_blob(self, key: str) -> bytes | None: ...

    def create_token(self, token_hash: str, owner_id: str) -> None: ...
    def token_owner(self, token_hash: str) -> str | None: ...
    def get_session(self, session_id: str) -> SessionRecord: ...
    def list_sessions(self, model_id: str | None = None) -> list[SessionRecord]: ...
    def update_session(self, session_id: str, **changes: Any) -> None: ...
    def count_active_sessions(
        self, alive_after: float = 0.0, owner_id: str | None = None
    ) -> int: ...

    def owner_usage(self, owner_id: str) -> tuple[int, int]: ...
    def create_session_if_room(
        self, record: SessionRecord, max_active: int, alive_after: float
    ) -> int: ...
    def claim_session(
        self, session_id: str, owner: str, from_statuses: tuple[str, ...], control: str
    ) -> bool: ...
    def mark_interrupted_if_silent(self, session_id: str, alive_after: float) -> bool: ...
    def set_control(self, session_id: str, control: str) -> None: ...
    def take_control(self, session_id: str) -> str: ...
    def truncate_history(self, session_id: str, after_step: int) -> None: ...
    def append_history(self, session_id: str, records: list[dict[str, Any]]) -> None: ...
    def history(
        self, session_id: str, after_step: int = -1, limit: int = 10_000
    ) -> list[dict[str, Any]]: ...
    def wait_for_history(
        self,
        session_id: str,
        after_step: int,
        timeout: float,
        status: str | None = None,
        limit: int = 10_000,
    ) -> list[dict[str, Any]]: ...
