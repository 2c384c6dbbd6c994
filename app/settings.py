"""Service settings, read from environment variables prefixed RNN_EXPLORER_.

Every size a client controls has a bound here; the API checks requests against these bounds
before any computation and names the setting in its 4xx answer.
"""

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import exc, make_url


def default_data_dir() -> Path:
    """The user's data directory: $XDG_DATA_HOME/rnn-explorer, else ~/.local/share/rnn-explorer."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rnn-explorer"


class Settings(BaseSettings):
    """Everything configurable about the service; every size a client controls has a bound here."""

    # hide_input_in_errors: a refused setting is named with its rule, never its value (the
    # database URL holds a password)
    model_config = SettingsConfigDict(env_prefix="RNN_EXPLORER_", hide_input_in_errors=True)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: SecretStr = Field(
        SecretStr(""),
        max_length=2048,
        description="the shared database, postgresql://user:password@host:port/name (processes "
        "on any hosts on one database share models, sessions and owners); empty: the embedded "
        "SQLite file data_dir/rnn-explorer.sqlite3",
    )

    @field_validator("database_url")
    @classmethod
    def _a_postgresql_url(cls, secret: SecretStr) -> SecretStr:
        """Empty, or a postgresql:// URL (a secret: its password is never shown)."""
        url = secret.get_secret_value()
        if not url:
            return secret
        try:
            backend = make_url(url).get_backend_name()
        except exc.ArgumentError:
            raise ValueError("not a database URL (postgresql://user:password@host/name)") from None
        if backend != "postgresql":
            raise ValueError(f"only postgresql:// URLs are supported, not {backend}://")
        return secret

    # Owners (docs/api.md, "Owners, tokens and share links").
    secret_key: str | None = Field(
        None,
        min_length=16,
        description="signs owner cookies and share links; unset: a random key kept in "
        "data_dir/secret.key (every worker on one data directory shares it)",
    )
    instructor_token: str | None = Field(
        None,
        min_length=16,
        description="`Authorization: Bearer <it>` sees and manages every model and session",
    )

    # Quotas and rate limits per owner (the instructor has none); answered 429 + Retry-After.
    quota_models: int = Field(100, ge=1, description="models one owner may keep")
    quota_bytes: int = Field(
        512 * 2**20, ge=1, description="bytes one owner's weights and snapshots may take"
    )
    quota_sessions: int = Field(
        4, ge=1, description="training sessions one owner may have running or paused"
    )
    rate_limit: str = Field(
        "600/minute", description="API requests per owner, in the `limits` notation"
    )
    rate_limit_per_address: str = Field(
        "3000/minute", description="API requests per client address (all its owners together)"
    )

    # Cross-site safety (see the README's hardening section).
    allowed_hosts: str = Field(
        "",
        description="comma list of the Host names served (DNS rebinding); empty: localhost, "
        "127.0.0.1 and [::1] on a loopback bind, any host (with a warning) otherwise",
    )
    allowed_origins: str = Field(
        "",
        description="comma list of origins (scheme://host:port) allowed besides the page's own, "
        "for the WebSocket stream and for requests that change state",
    )

    # Model sizes (a created or imported model's config).
    max_input_size: int = Field(256, ge=1, description="D: inputs per step")
    max_hidden_size: int = Field(512, ge=1, description="H: hidden units per layer")
    max_output_size: int = Field(256, ge=1, description="Q: outputs per step")
    max_layers: int = Field(4, ge=1, description="L: stacked recurrent layers")
    max_models: int = Field(1000, ge=1, description="models kept in the store")

    # Data sizes (forward, backward, stream, training data).
    max_steps: int = Field(1000, ge=1, description="T: timesteps of one sequence")
    max_batch: int = Field(1024, ge=1, description="B: sequences in one request or batch")
    max_answer_elements: int = Field(
        4_000_000,
        ge=1,
        description="B·T·(3·Q + L·(2G + 2)·H): the numbers a forward or backward answer holds, "
        "bounded before the pass runs",
    )
    max_elements: int = Field(
        2_000_000, ge=1, description="B·T·max(D, G·H): the largest array one request may produce"
    )
    max_step_grads_elements: int = Field(
        4_000_000, ge=1, description="T·(D + H)·G·H: full per-step weight gradients"
    )
    jacobian_auto_elements: int = Field(
        1_000_000, ge=1, description="T·G·H²: ‖∂H_T/∂H_t‖ is computed unasked below this cost"
    )
    max_jacobian_elements: int = Field(
        20_000_000, ge=1, description="T·G·H²: the largest ‖∂H_T/∂H_t‖ computation on request"
    )
    max_request_bytes: int = Field(32 * 2**20, ge=1024, description="a JSON request body")
    max_array_request_bytes: int = Field(
        4 * 2**20,
        ge=1024,
        description="a JSON body of an array route (forward, backward, connectivity)",
    )
    body_timeout_seconds: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="a request body of which no part comes for this long is answered 408",
    )
    max_upload_bytes: int = Field(64 * 2**20, ge=1024, description="an uploaded weights file")
    max_text_length: int = Field(
        100_000, ge=1, description="bytes (UTF-8) of a text task parameter: a corpus, a CSV"
    )
    max_generate_length: int = Field(
        2000, ge=1, description="characters one generate request may ask a character model for"
    )

    # Training and streaming.
    max_training_steps: int = Field(100_000, ge=1, description="steps of one training session")
    max_sessions: int = Field(4, ge=1, description="training sessions running at once")
    max_fps: float = Field(1000.0, gt=0, description="frames per second a stream may ask for")
    max_streams: int = Field(64, ge=1, description="WebSocket streams open at once per worker")
    max_streams_per_owner: int = Field(
        16, ge=1, description="WebSocket streams one owner may have open at once per worker"
    )
    stream_evict_seconds: float = Field(
        5.0,
        gt=0,
        description="a full worker closes a stream idle this long to make room for a newcomer",
    )
    stream_memory_bytes: int = Field(
        512 * 2**20, ge=1, description="bytes of passes a worker holds for its streams' readers"
    )
    stream_stall_seconds: float = Field(
        30.0, gt=0, description="a stream whose reader takes no frame for this long is closed"
    )
    stream_idle_seconds: float = Field(
        600.0,
        gt=0,
        description="a stream with no command (and a manual run with no step) is closed after this",
    )
    stream_queue_frames: int = Field(
        8, ge=1, description="frames made ahead of a slow reader before the pass waits"
    )

    # Training sessions' bookkeeping in the store (shared by every worker).
    snapshot_seconds: float = Field(
        5.0, gt=0, description="a running session saves a resumable snapshot this often"
    )
    heartbeat_seconds: float = Field(
        1.0, gt=0, description="a running session touches its row in the store this often"
    )
    stale_seconds: float = Field(
        15.0, gt=0, description="a session silent this long is reported interrupted"
    )
    control_poll_seconds: float = Field(
        0.1,
        gt=0,
        le=3600,
        description="a running session reads its control (pause, step, stop) from the store "
        "this often when no nudge comes first",
    )

    # Where training runs (docs/design.md, "Trainers").
    ray_address: str | None = Field(
        None,
        description="a Ray cluster (host:port of its head, or ray://host:10001) whose actors "
        "train the sessions, one actor per session; unset: a local trainer process per session",
    )
    trainer_nice: int = Field(
        10,
        ge=0,
        le=19,
        description="the scheduling niceness of local trainer processes: on shared cores the "
        "web workers (a student's step) go first, training takes what is left",
    )
    ray_trainer_cpus: float = Field(
        1.0, gt=0, le=64, description="the CPUs a session's Ray actor reserves on its node"
    )
    sweep_seconds: float = Field(
        300.0,
        gt=0,
        le=86_400,
        description="how often each worker removes orphan files (temp files of unfinished "
        "writes, weights and snapshots without a row) and retries a read-only store",
    )
    orphan_grace_seconds: float = Field(
        60.0,
        ge=1,
        le=86_400,
        description="an orphan file is removed only once unmodified this long (a write another "
        "worker is making now is never touched)",
    )


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def is_loopback(host: str) -> bool:
    """Whether a bind address is reachable from this machine only."""
    return host in ("localhost", "::1", "[::1]") or host.startswith("127.")


def trusted_hosts(settings: Settings) -> list[str]:
    """The Host names served: the setting, else the loopback names on a loopback bind, else any
    ("*"; the start-up log warns)."""
    listed = _comma_list(settings.allowed_hosts)
    if listed:
        return listed
    return list(LOOPBACK_HOSTS) if is_loopback(settings.host) else ["*"]


def extra_origins(settings: Settings) -> frozenset[str]:
    """The origins allowed besides the page's own, lower-cased, without a trailing slash."""
    return frozenset(item.lower().rstrip("/") for item in _comma_list(settings.allowed_origins))


@lru_cache
def get_settings() -> Settings:
    return Settings()
