"""Ray actors as trainers: one detached actor per session, on the cluster `ray_address` names.

Imported only when `RNN_EXPLORER_RAY_ADDRESS` is set (Ray is the optional extra `cluster`). Each
web worker is a Ray driver in the namespace "rnn-explorer". Starting or resuming a session
creates the actor `session-<id>` (Ray places it on a node with `ray_trainer_cpus` free); the actor
runs the same loop as a local trainer process (`app.services.trainer_child.SessionTrainer`)
against the same store, and exits when the session ends. Controls travel through the store's
control column; `nudge` is an actor call that makes the loop read it at once. Actors are
detached: they outlive the web worker that made them (any worker steers them through the store).
An actor whose node died leaves its row naming a process that is gone (on this host) or falling
silent (elsewhere): the session is reported "interrupted", and resuming it creates a new actor
wherever Ray finds room.
"""

import contextlib
import logging
import time
from functools import lru_cache
from typing import Any

from app.services.trainer_child import SessionTrainer
from app.settings import Settings
from app.store import Store

__all__ = ["NAMESPACE", "RayTrainers", "SessionActor", "actor_name"]

logger = logging.getLogger(__name__)

NAMESPACE = "rnn-explorer"


def actor_name(session_id: str) -> str:
    return f"session-{session_id}"


class SessionActor:
    """One session's loop as a Ray actor; `run` blocks in one of its threads, the other calls
    come in others (the actor is made with `max_concurrency`)."""

    def __init__(
        self, values: dict[str, Any], session_id: str, model_id: str, control: str, launcher: str
    ) -> None:
        settings = Settings(**values)
        self.trainer = SessionTrainer(settings, session_id, model_id, control, launcher)

    def run(self) -> None:
        import ray

        try:
            self.trainer.run()
        finally:
            ray.actor.exit_actor()

    def nudge(self) -> None:
        self.trainer.nudge()

    def interrupt(self) -> None:
        self.trainer.interrupt()

    def node_id(self) -> str:
        import ray

        return str(ray.get_runtime_context().get_node_id())


@lru_cache(maxsize=1)
def _actor_class() -> Any:
    import ray

    remote: Any = ray.remote  # its overloads type functions, not a class made into an actor
    return remote(max_restarts=0, max_concurrency=4)(SessionActor)


class RayTrainers:
    """The sessions this web worker launched as Ray actors (`owner` in the rows it creates)."""

    def __init__(self, store: Store, settings: Settings, owner: str) -> None:
        import ray

        self.store = store
        self.settings = settings
        self.owner = owner
        if not ray.is_initialized():
            try:
                ray.init(
                    address=settings.ray_address,
                    namespace=NAMESPACE,
                    log_to_driver=False,
                    configure_logging=False,
                )
            except Exception as error:  # the operator's setting, named with the cause
                raise RuntimeError(
                    f"RNN_EXPLORER_RAY_ADDRESS={settings.ray_address}: no Ray cluster answers "
                    f"there ({type(error).__name__}: {error})"
                ) from error
        self._launched: dict[str, float] = {}

    def launch(self, session_id: str, model_id: str, control: str) -> None:
        """Create the session's actor (its row names this worker until the actor claims it)."""
        import ray

        name = actor_name(session_id)
        # a previous actor of this session is dead or taken for dead: the name is needed
        with contextlib.suppress(ValueError):
            ray.kill(ray.get_actor(name, namespace=NAMESPACE), no_restart=True)
        values = self.settings.model_dump()
        actor = (
            _actor_class()
            .options(
                name=name,
                namespace=NAMESPACE,
                lifetime="detached",
                num_cpus=self.settings.ray_trainer_cpus,
            )
            .remote(values, session_id, model_id, control, self.owner)
        )
        actor.run.remote()
        self._launched[session_id] = time.monotonic()

    def is_running(self, session_id: str) -> bool:
        """Whether a session whose row still names this worker is one its actor has yet to
        claim (an actor not placed within `stale_seconds` is taken for lost)."""
        launched = self._launched.get(session_id)
        return launched is not None and time.monotonic() - launched < self.settings.stale_seconds

    def _call(self, session_id: str, method: str) -> None:
        import ray

        try:
            actor = ray.get_actor(actor_name(session_id), namespace=NAMESPACE)
        except ValueError:  # ended, or not placed yet: it reads the store when it begins
            return
        getattr(actor, method).remote()

    def nudge(self, session_id: str) -> None:
        self._call(session_id, "nudge")

    def shutdown(self, timeout: float = 10.0) -> None:
        """Nothing to stop: the actors train on, steered through the store by any worker."""
