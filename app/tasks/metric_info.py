"""What a task's reported metric means: its range and its chance level, served with the task."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MetricInfo:
    """What a reported metric means. fraction: the value lies in [0, 1] (an accuracy);
    chance(params): its value for a network that guesses (uniformly among the classes, or a
    fair coin per bit), None where guessing has no agreed value; better: "max" or "min"."""

    meaning: str
    fraction: bool = False
    chance: Callable[[Mapping[str, Any]], float] | None = None
    better: str = "max"

    def describe(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """JSON-able: {meaning, range ([0, 1] or null), chance (a number or null), better}."""
        return {
            "meaning": self.meaning,
            "range": [0.0, 1.0] if self.fraction else None,
            "chance": None if self.chance is None else float(self.chance(params)),
            "better": self.better,
        }
