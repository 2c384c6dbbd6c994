"""Learning-rate schedules with PyTorch's exact rules (torch.optim.lr_scheduler).

A schedule is stepped once after every optimiser update, as `scheduler.step()` follows
`optimizer.step()` in a PyTorch loop: `next_lr(lr, base_lr, epoch)` gives the rate of the next
update from the current one, the optimiser's initial rate and the number of updates made so
far (PyTorch's `last_epoch` after its increment). Both rules are PyTorch's recursive forms, so
a run gives PyTorch's rates to the last bit, not merely their closed forms.
"""

import math
from dataclasses import dataclass
from typing import Literal, get_args

from app.rnn.errors import ConfigError

ScheduleName = Literal["step", "cosine"]
SCHEDULES: tuple[str, ...] = get_args(ScheduleName)
MAX_PERIOD = 10**9  # the largest step_size / t_max


@dataclass(frozen=True)
class StepLR:
    """torch.optim.lr_scheduler.StepLR: lr ← lr · gamma after every `step_size` updates."""

    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        _whole("schedule.step_size", self.step_size)
        if isinstance(self.gamma, bool) or not isinstance(self.gamma, int | float):
            raise ConfigError(f"schedule.gamma must be a number, got {self.gamma!r}")
        if not (0 < self.gamma <= 1):
            raise ConfigError(f"schedule.gamma must lie in (0, 1], got {self.gamma!r}")

    def next_lr(self, lr: float, base_lr: float, epoch: int) -> float:
        if epoch == 0 or epoch % self.step_size != 0:
            return lr
        return lr * self.gamma


@dataclass(frozen=True)
class CosineAnnealingLR:
    """torch.optim.lr_scheduler.CosineAnnealingLR: from base_lr down to eta_min over `t_max`
    updates along half a cosine, lr_e = eta_min + (base_lr − eta_min)(1 + cos(π e / t_max)) / 2;
    as in PyTorch, past t_max the rate climbs back (period 2 · t_max)."""

    t_max: int
    eta_min: float = 0.0

    def __post_init__(self) -> None:
        _whole("schedule.t_max", self.t_max)
        if isinstance(self.eta_min, bool) or not isinstance(self.eta_min, int | float):
            raise ConfigError(f"schedule.eta_min must be a number, got {self.eta_min!r}")
        if not (0 <= self.eta_min <= 100):
            raise ConfigError(f"schedule.eta_min must lie in [0, 100], got {self.eta_min!r}")

    def next_lr(self, lr: float, base_lr: float, epoch: int) -> float:
        T, eta_min = self.t_max, self.eta_min
        if epoch == 0:
            return lr
        if (epoch - 1 - T) % (2 * T) == 0:
            return lr + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
        return (1 + math.cos(math.pi * epoch / T)) / (1 + math.cos(math.pi * (epoch - 1) / T)) * (
            lr - eta_min
        ) + eta_min


Schedule = StepLR | CosineAnnealingLR


def make_schedule(name: str, **options: float) -> Schedule:
    """A schedule by name ("step": step_size, gamma; "cosine": t_max, eta_min)."""
    allowed = {"step": ("step_size", "gamma"), "cosine": ("t_max", "eta_min")}.get(name, ())
    unknown = sorted(set(options) - set(allowed))
    if allowed and unknown:
        raise ConfigError(
            f"schedule {name!r} takes {', '.join(allowed)}; unknown: {', '.join(unknown)}"
        )
    if allowed and allowed[0] not in options:
        raise ConfigError(f"schedule.{allowed[0]} is required for the {name!r} schedule")
    if name == "step":
        return StepLR(**options)  # type: ignore[arg-type]
    if name == "cosine":
        return CosineAnnealingLR(**options)  # type: ignore[arg-type]
    raise ConfigError(f"schedule.name must be one of {', '.join(SCHEDULES)}; got {name!r}")


def _whole(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if not (1 <= value <= MAX_PERIOD):
        raise ConfigError(f"{name} must lie in [1, {MAX_PERIOD}], got {value}")
