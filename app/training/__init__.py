"""Live training: the validated training config and the training session.

config = TrainingConfig.for_task("binary_addition", steps=2000)
session = TrainingSession(config, on_progress=print)  # the task's default model
session.run()           # or session.step() one update at a time; pause()/stop() from a thread
snapshot = session.snapshot()                         # resume later, bit for bit:
session = TrainingSession.from_snapshot(snapshot)
"""

from app.training.config import EarlyStop, TrainingConfig, TrainingError
from app.training.session import STATUSES, Snapshot, TrainingSession

__all__ = [
    "STATUSES",
    "EarlyStop",
    "Snapshot",
    "TrainingConfig",
    "TrainingError",
    "TrainingSession",
]
