"""A session's progress: the records it reports and the short history it keeps.

A progress record is {"step", "steps", "status", "loss" (mean since the last report),
"loss_batch", "metrics" (the task's, on validation data), "grad_norm" (global, before clipping),
"grad_norms" (per parameter), "layer_grad_norms" (‖dW_xh‖ of each layer, bottom first: how much
gradient reaches each layer), "dH_norm" (‖dL/dH_t‖ per step of the latest batch, top layer),
"elapsed", "reason" (why the session ended, in words; null while it goes on)}; a failure's
record has "error" instead of the batch's figures and the error as its reason. The history keeps
the scalars and "layer_grad_norms".
"""

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from app.rnn.arrays import Array

__all__ = ["MAX_HISTORY", "Progress", "ProgressHook"]

ProgressHook = Callable[[dict[str, Any]], None]

# The history keeps scalar metrics only and is thinned past this length (every other record
# dropped), so a long session's snapshot stays small.
MAX_HISTORY = 4000


def _layer_norms(grad_norms: Mapping[str, float] | None) -> list[float] | None:
    """‖dW_xh‖ of layer 0, 1, … from the per-parameter norms (named layer<k>.W_xh; a
    bidirectional layer's forward direction, not its layer<k>_reverse.W_xh)."""
    if not grad_norms:
        return None
    layers = sorted(
        (int(name[5 : -len(".W_xh")]), norm)
        for name, norm in grad_norms.items()
        if name.startswith("layer") and name.endswith(".W_xh") and "_reverse" not in name
    )
    return [norm for _, norm in layers]


class Progress:
    """What a session has reported: `latest` (the last record), `history` (scalar records,
    thinned when long), and the batches since the last report. `on_progress(record)` receives
    every record."""

    def __init__(self, on_progress: ProgressHook | None = None) -> None:
        self.on_progress = on_progress
        self.history: list[dict[str, Any]] = []
        self.latest: dict[str, Any] | None = None
        self._losses: list[float] = []
        self._last_batch: dict[str, Any] = {}

    def add_batch(
        self, loss: float, grad_norm: float, grad_norms: dict[str, float], dH_norm: Array
    ) -> None:
        """One update's figures: its loss, the gradient's norms, ‖dL/dH_t‖ (T,) of the top layer."""
        self._losses.append(loss)
        self._last_batch = {
            "loss": loss,
            "grad_norm": grad_norm,
            "grad_norms": grad_norms,
            "dH_norm": [float(v) for v in dH_norm],
        }

    def report(
        self,
        step: int,
        steps: int,
        status: str,
        metrics: dict[str, Any],
        elapsed: float,
        reason: str | None = None,
    ) -> None:
        last = self._last_batch
        self._emit(
            {
                "step": step,
                "steps": steps,
                "status": status,
                "loss": float(np.mean(self._losses)) if self._losses else None,
                "loss_batch": last.get("loss"),
                "metrics": metrics,
                "grad_norm": last.get("grad_norm"),
                "grad_norms": last.get("grad_norms"),
                "layer_grad_norms": _layer_norms(last.get("grad_norms")),
                "dH_norm": last.get("dH_norm"),
                "elapsed": elapsed,
                "reason": reason,
            }
        )
        self._losses = []

    def fail(self, step: int, steps: int, error: str, elapsed: float) -> None:
        self._emit(
            {
                "step": step,
                "steps": steps,
                "status": "failed",
                "error": error,
                "loss": None,
                "metrics": {},
                "elapsed": elapsed,
                "reason": f"failed: {error}",
            }
        )

    def _emit(self, record: dict[str, Any]) -> None:
        self.latest = record
        scalars = {k: v for k, v in record["metrics"].items() if isinstance(v, int | float)}
        self.history.append(
            {
                "step": record["step"],
                "loss": record["loss"],
                "grad_norm": record.get("grad_norm"),
                "layer_grad_norms": record.get("layer_grad_norms"),
                "elapsed": record["elapsed"],
                "metrics": scalars,
            }
        )
        if len(self.history) > MAX_HISTORY:
            self.history = self.history[::2]
        if self.on_progress is not None:
            self.on_progress(record)

    def state(self) -> dict[str, Any]:
        """JSON-able, for a snapshot's meta."""
        return {
            "losses_since_report": list(self._losses),
            "history": list(self.history),
            "latest": self.latest,
        }

    def load_state(self, meta: Mapping[str, Any]) -> None:
        self._losses = list(meta.get("losses_since_report", []))
        self.history = list(meta["history"])
        self.latest = meta.get("latest")
