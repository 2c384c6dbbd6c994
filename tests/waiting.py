"""Waiting in tests: until a condition holds, with a deadline; never a fixed sleep."""

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["stays", "wait_until"]

Value = TypeVar("Value")


def wait_until(
    condition: Callable[[], Value], timeout: float = 30.0, message: str = "", poll: float = 0.02
) -> Value:
    """Call `condition` until it returns something truthy, which is returned; AssertionError
    naming `message` once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, message or f"not true within {timeout} s"
        time.sleep(poll)


def stays(condition: Callable[[], object], seconds: float, message: str = "") -> None:
    """A property that must keep holding (a paused run makes no step): `condition` is checked
    all through `seconds`, and the test fails the moment it breaks."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert condition(), message or "the condition stopped holding"
        time.sleep(0.01)
    assert condition(), message or "the condition stopped holding"
