"""A training session's snapshot: what to persist to resume it bit-for-bit, and the restore.

`take(session)` copies the parameters, the optimiser's state, the carried hidden state, the
user's arrays and the JSON-able rest (configs, step, status, RNG, data cursor, history);
`restore(session, snapshot)` puts a freshly built session (same configs and parameters) back
where the snapshot was taken. `TrainingSession.snapshot` and `from_snapshot` call them.
"""

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from app.rnn import ModelConfig, Network, Optimizer
from app.rnn.arrays import Array
from app.training.config import TrainingConfig, TrainingError
from app.training.progress import Progress

SNAPSHOT_VERSION = 1


@dataclass
class Snapshot:
    """What to persist: `arrays` (for safetensors: "param.<name>", "optimizer.<key>", "state.H",
    "state.C", and for user data "data.inputs", "data.targets") and `meta` (JSON-able: configs,
    step, status, elapsed seconds, RNG state, data cursor, history, latest record)."""

    arrays: dict[str, Array]
    meta: dict[str, Any]


class Resumable(Protocol):
    """What a snapshot reads from and writes to a session (TrainingSession has it)."""

    net: Network
    optimizer: Optimizer
    model: ModelConfig
    training: TrainingConfig
    rng: np.random.Generator
    data: Any
    progress: Progress
    step_count: int
    status: str
    error: str | None
    reason: str | None
    elapsed: float

    @property
    def carried_state(self) -> tuple[Array | None, Array | None]: ...

    @carried_state.setter
    def carried_state(self, state: tuple[Array | None, Array | None]) -> None: ...

    @property
    def user_arrays(self) -> tuple[Array, Array] | None: ...


def take(session: Resumable) -> Snapshot:
    """Everything needed to resume exactly; arrays are copies, meta is JSON-able. The caller
    holds the session's lock."""
    arrays = {f"param.{k}": v.copy() for k, v in session.net.params.items()}
    for key, value in session.optimizer.state_dict().items():
        arrays[f"optimizer.{key}"] = np.array(value, copy=True)
    H, C = session.carried_state
    if H is not None:
        arrays["state.H"] = H.copy()
    if C is not None:
        arrays["state.C"] = C.copy()
    user_arrays = session.user_arrays
    if user_arrays is not None:
        arrays["data.inputs"], arrays["data.targets"] = user_arrays
    meta = {
        "version": SNAPSHOT_VERSION,
        "model_config": session.model.to_dict(),
        "training_config": session.training.to_dict(),
        "step": session.step_count,
        "status": session.status,
        "error": session.error,
        "elapsed": session.elapsed,
        "rng": _jsonable(session.rng.bit_generator.state),
        "data_state": session.data.state_dict(),
        **session.progress.state(),
    }
    return Snapshot(arrays, meta)


def check_version(snapshot: Snapshot) -> None:
    version = snapshot.meta.get("version")
    if version != SNAPSHOT_VERSION:
        raise TrainingError(f"unsupported snapshot version {version!r}")


def params_of(snapshot: Snapshot) -> dict[str, Array]:
    """The parameters (our names) the snapshot holds."""
    arrays = snapshot.arrays
    return {k[len("param.") :]: v for k, v in arrays.items() if k.startswith("param.")}


def restore(session: Resumable, snapshot: Snapshot) -> None:
    """The rest of the state of a session built from the snapshot's configs and parameters
    (status "paused" if it was running, so the service decides when to go on)."""
    meta, arrays = snapshot.meta, snapshot.arrays
    optimizer_state = {
        k[len("optimizer.") :]: v for k, v in arrays.items() if k.startswith("optimizer.")
    }
    session.optimizer.load_state_dict(optimizer_state)
    session.rng.bit_generator.state = meta["rng"]
    session.data.load_state_dict(meta["data_state"])
    session.carried_state = (arrays.get("state.H"), arrays.get("state.C"))
    session.step_count = int(meta["step"])
    status = meta["status"]
    session.status = "paused" if status in ("running", "created") else status
    session.error = meta.get("error")
    session.reason = (meta.get("latest") or {}).get("reason")
    session.elapsed = float(meta["elapsed"])
    session.progress.load_state(meta)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.integer):
        return int(value)
    return value
