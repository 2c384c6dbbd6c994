"""Where sessions train: the trainer interface and the choice the settings make.

A web worker never runs a training loop. It saves a new session's first snapshot (or claims an
interrupted one) and hands the session to its trainers: local trainer processes (the embedded
default, `app.services.trainer_processes`) or, when `ray_address` is set, Ray actors
(`app.services.trainer_ray`, Ray imported only then). Both run the same loop
(`app.services.trainer_child`), steered through the store's control column, so any worker can
pause, resume, step or stop any session; `nudge` only makes the loop read its control at once.
"""

from typing import Protocol

from app.settings import Settings
from app.store import Store

__all__ = ["Trainers", "open_trainers"]


class Trainers(Protocol):
    def launch(self, session_id: str, model_id: str, control: str) -> None:
        """Train the session whose row names this worker and whose snapshot is saved."""

    def is_running(self, session_id: str) -> bool:
        """Whether a session whose row still names this worker is being trained for it."""

    def nudge(self, session_id: str) -> None:
        """A control was written for the session: its loop reads it before its next update."""

    def shutdown(self, timeout: float = 10.0) -> None:
        """This worker stops: what it alone keeps alive is checkpointed as "interrupted"."""


def open_trainers(store: Store, settings: Settings, owner: str) -> Trainers:
    """Ray actors when `settings.ray_address` is set, else local trainer processes."""
    if settings.ray_address:
        from app.services.trainer_ray import RayTrainers

        return RayTrainers(store, settings, owner)
    from app.services.trainer_processes import ProcessTrainers

    return ProcessTrainers(store, settings, owner)
