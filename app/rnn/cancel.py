"""Giving way part way through a pass: a cheap check between timesteps.

A caller that may need a long pass to stop early (a training loop told to pause) runs it inside
`cancellable(should_stop)`: every cell loop asks `should_stop()` once a timestep (forward and
backward) and raises `Cancelled` when it answers True. The pass then leaves nothing half done
that its caller keeps: its arrays are its own until it returns, and the parameters are only read.
The check lives in a context variable, so a pass in another thread (or outside the block) never
sees it and pays one `None` test a step. `should_stop` must be cheap (an Event's `is_set`).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["Cancelled", "cancellable", "check", "current", "stopped"]

StopCheck = Callable[[], bool]

_should_stop: ContextVar[StopCheck | None] = ContextVar("should_stop", default=None)


class Cancelled(Exception):  # noqa: N818 (not an error: the caller asked for it)
    """A pass gave way part way because its caller's `should_stop()` said so."""


@contextmanager
def cancellable(should_stop: StopCheck | None) -> Iterator[None]:
    """Passes run inside the block ask `should_stop()` between timesteps (None: never)."""
    token = _should_stop.set(should_stop)
    try:
        yield
    finally:
        _should_stop.reset(token)


def current() -> StopCheck | None:
    """The check of the enclosing `cancellable` block, or None: a cell loop reads it once."""
    return _should_stop.get()


def check() -> None:
    """Raise `Cancelled` if the enclosing block's check says stop (between two phases)."""
    should_stop = _should_stop.get()
    if should_stop is not None and should_stop():
        raise Cancelled("the pass was asked to stop")


def stopped() -> Cancelled:
    """The exception a cell loop raises when its check said stop."""
    return Cancelled("the pass was asked to stop between two timesteps")
