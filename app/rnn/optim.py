"""Optimisers and gradient clipping, with PyTorch's update rules and default hyper-parameters.

Each optimiser updates a dict of parameters in place from a dict of gradients with the same
names, and keeps its state as a dict of arrays (`state_dict` / `load_state_dict`), so a session
can be saved as safetensors and resumed exactly.

weight_decay λ is PyTorch's: L2 added to the gradient (dW + λW) before the rule, except for
AdamW, whose decay is decoupled (W ← W(1 − lr·λ), then Adam on dW). A schedule
(app.rnn.schedules) sets the rate of the next update after every step, as `scheduler.step()`
after `optimizer.step()` does.
"""

from collections.abc import Mapping
from typing import Any, Literal, get_args

import numpy as np

from app.rnn.arrays import Array
from app.rnn.errors import ConfigError
from app.rnn.schedules import Schedule

OptimizerName = Literal["sgd", "momentum", "adagrad", "rmsprop", "adam", "adamw"]
OPTIMISERS: tuple[str, ...] = get_args(OptimizerName)


class Optimizer:
    """Base: `step(params, grads)` updates `params` in place; state is per parameter name."""

    decoupled = False  # AdamW: the decay shrinks W directly instead of joining the gradient

    def __init__(
        self, lr: float, weight_decay: float = 0.0, schedule: Schedule | None = None
    ) -> None:
        if not (0 < lr < float("inf")):
            raise ConfigError(f"learning rate must be a positive finite number, got {lr!r}")
        if not (0 <= weight_decay < float("inf")):
            raise ConfigError(f"weight_decay must be a finite number ≥ 0, got {weight_decay!r}")
        self.lr = self.base_lr = lr
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.steps = 0
        self.state: dict[str, dict[str, Array]] = {}

    def step(self, params: Mapping[str, Array], grads: Mapping[str, Array]) -> None:
        """One update of every parameter with the current rate, then the schedule's next rate."""
        self.steps += 1
        decay = self.weight_decay
        for name, W in params.items():
            dW = grads[name]
            if decay and self.decoupled:
                W *= 1.0 - self.lr * decay
            elif decay:
                dW = dW + decay * W
            self._update(name, W, dW)
        if self.schedule is not None:
            self.lr = self.schedule.next_lr(self.lr, self.base_lr, self.steps)

    def _update(self, name: str, W: Array, dW: Array) -> None:
        raise NotImplementedError

    def _slot(self, name: str, slot: str, like: Array) -> Array:
        slots = self.state.setdefault(name, {})
        if slot not in slots:
            slots[slot] = np.zeros_like(like)
        return slots[slot]

    def state_dict(self) -> dict[str, Array]:
        """Flat arrays: "{param}.{slot}" plus the step count under "steps" and the current
        (scheduled) rate under "lr"."""
        flat = {
            f"{name}.{slot}": v for name, slots in self.state.items() for slot, v in slots.items()
        }
        flat["steps"] = np.array([self.steps], dtype=np.int64)
        flat["lr"] = np.array([self.lr], dtype=np.float64)
        return flat

    def load_state_dict(self, flat: Mapping[str, Array]) -> None:
        self.steps = int(np.asarray(flat["steps"]).reshape(-1)[0])
        if "lr" in flat:  # snapshots older than schedules ran at a constant rate
            self.lr = float(np.asarray(flat["lr"]).reshape(-1)[0])
        self.state = {}
        for key, value in flat.items():
            if key in ("steps", "lr"):
                continue
            name, slot = key.rsplit(".", 1)
            self.state.setdefault(name, {})[slot] = np.array(value)


class SGD(Optimizer):
    """W ← W − lr · dW."""

    def _update(self, name: str, W: Array, dW: Array) -> None:
        W -= self.lr * dW


class Momentum(Optimizer):
    """PyTorch's SGD with momentum μ: v ← μ v + dW (v = dW at the first step); W ← W − lr · v."""

    def __init__(self, lr: float, momentum: float = 0.9, **options: Any) -> None:
        super().__init__(lr, **options)
        self.momentum = momentum

    def _update(self, name: str, W: Array, dW: Array) -> None:
        first = name not in self.state
        v = self._slot(name, "velocity", W)
        if first:
            v[...] = dW
        else:
            v *= self.momentum
            v += dW
        W -= self.lr * v


class Adagrad(Optimizer):
    """G ← G + dW²; W ← W − lr · dW / (√G + ε)."""

    def __init__(self, lr: float, eps: float = 1e-10, **options: Any) -> None:
        super().__init__(lr, **options)
        self.eps = eps

    def _update(self, name: str, W: Array, dW: Array) -> None:
        G = self._slot(name, "sum_sq", W)
        G += dW * dW
        W -= self.lr * dW / (np.sqrt(G) + self.eps)


class RMSProp(Optimizer):
    """S ← α S + (1 − α) dW²; W ← W − lr · dW / (√S + ε)."""

    def __init__(self, lr: float, alpha: float = 0.99, eps: float = 1e-8, **options: Any) -> None:
        super().__init__(lr, **options)
        self.alpha, self.eps = alpha, eps

    def _update(self, name: str, W: Array, dW: Array) -> None:
        S = self._slot(name, "mean_sq", W)
        S *= self.alpha
        S += (1.0 - self.alpha) * dW * dW
        W -= self.lr * dW / (np.sqrt(S) + self.eps)


class Adam(Optimizer):
    """m ← β₁m + (1−β₁)dW; v ← β₂v + (1−β₂)dW²; W ← W − lr · m̂ / (√v̂ + ε), bias-corrected."""

    def __init__(
        self,
        lr: float,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        **options: Any,
    ) -> None:
        super().__init__(lr, **options)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def _update(self, name: str, W: Array, dW: Array) -> None:
        m = self._slot(name, "m", W)
        v = self._slot(name, "v", W)
        m *= self.beta1
        m += (1.0 - self.beta1) * dW
        v *= self.beta2
        v += (1.0 - self.beta2) * dW * dW
        m_hat_scale = 1.0 / (1.0 - self.beta1**self.steps)
        v_hat_scale = 1.0 / (1.0 - self.beta2**self.steps)
        W -= self.lr * (m * m_hat_scale) / (np.sqrt(v * v_hat_scale) + self.eps)


class AdamW(Adam):
    """PyTorch's AdamW: W ← W(1 − lr·λ), then Adam's step on dW (the decay bypasses m and v)."""

    decoupled = True


# PyTorch's default weight decay of each optimiser (AdamW decays by default, the others not).
DEFAULT_WEIGHT_DECAY = {name: 0.01 if name == "adamw" else 0.0 for name in OPTIMISERS}


def make_optimizer(
    name: str, lr: float, weight_decay: float | None = None, schedule: Schedule | None = None
) -> Optimizer:
    """One of OPTIMISERS by name, with PyTorch's default hyper-parameters; weight_decay None
    takes the optimiser's PyTorch default (DEFAULT_WEIGHT_DECAY)."""
    classes: dict[str, type[Optimizer]] = {
        "sgd": SGD,
        "momentum": Momentum,
        "adagrad": Adagrad,
        "rmsprop": RMSProp,
        "adam": Adam,
        "adamw": AdamW,
    }
    if name not in classes:
        raise ConfigError(f"optimizer must be one of {', '.join(OPTIMISERS)}; got {name!r}")
    decay = DEFAULT_WEIGHT_DECAY[name] if weight_decay is None else weight_decay
    return classes[name](lr, weight_decay=decay, schedule=schedule)


def global_norm(grads: Mapping[str, Array]) -> float:
    """‖g‖₂ over all gradients as one vector."""
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))


def clip_grad_norm(grads: Mapping[str, Array], max_norm: float) -> float:
    """Scale all gradients in place so their global norm is at most `max_norm`, as PyTorch's
    clip_grad_norm_ does (factor max_norm / (norm + 1e-6)); returns the norm before clipping."""
    if not (max_norm > 0):
        raise ConfigError(f"max_norm must be positive, got {max_norm!r}")
    norm = global_norm(grads)
    factor = max_norm / (norm + 1e-6)
    if factor < 1.0:
        for g in grads.values():
            g *= factor
    return norm
