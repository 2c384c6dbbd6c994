"""A worker's stream places and the memory its streams hold, counted without a race.

A place is checked and taken in one step of the event loop (no `await` between the count and the
take), so a burst of connections gets exactly `max_streams` places and the rest a 1013 close. The
places are counted per worker and per owner (`max_streams_per_owner`), so one visitor's sockets
cannot lock the others out; when the worker is full, a newcomer takes the place of the socket that
has made no progress (no frame of a job, no command that starts one) for longest, once that is at
least `stream_evict_seconds`. The passes that streams hold for their readers count against
`stream_memory_bytes`: a run that would pass it is refused with an error frame naming the setting.
When no stream job runs any more and the passes made since the last time add up to
`GIVE_BACK_AFTER_BYTES` or more, the freed memory goes back to the kernel (off the event loop): the
engine keeps freed memory for the next pass (app/rnn/malloc.py), which a burst of readers of
large passes would otherwise leave with the worker.
"""

import asyncio
import dataclasses
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from app.rnn.malloc import give_back_freed_memory
from app.services.errors import LimitError
from app.settings import Settings

__all__ = ["GIVE_BACK_AFTER_BYTES", "StreamSlots", "StreamStats", "held_bytes"]

GIVE_BACK_AFTER_BYTES = 64 * 2**20


@dataclass
class StreamStats:
    """This worker's streams, for limits, tests and benchmarks: open sockets, running jobs,
    frames made and sent, the most frames ever waiting in one socket's queue, the bytes of the
    passes held for streams, the sockets closed to make room or for a stalled reader, and the
    times freed memory was given back to the kernel."""

    open: int = 0
    jobs: int = 0
    frames_made: int = 0
    frames: int = 0
    queue_high_water: int = 0
    held_bytes: int = 0
    evicted: int = 0
    stalled: int = 0
    given_back: int = 0


class Occupant(Protocol):
    """A socket holding a place: whether and since when it has been idle, and how to evict it."""

    def idle_since(self) -> float | None:
        """The monotonic time of its last progress while no job runs; None while one runs."""
        ...

    def evict(self, reason: str) -> None:
        """Close the socket (from the event loop, soon) saying `reason`."""
        ...


class StreamSlots:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stats = StreamStats()
        self._owners: dict[Occupant, str] = {}
        self._lock = threading.Lock()
        self._made_bytes = 0  # bytes of the passes made since memory was last given back

    def take(self, occupant: Occupant, owner: str) -> LimitError | None:
        """Give `occupant` a place for `owner` (evicting an idle socket if that makes room), or
        the limit that refuses it."""
        mine = [other for other, who in self._owners.items() if who == owner]
        per_owner = self.settings.max_streams_per_owner
        if len(mine) >= per_owner and not self._evict_idlest(mine):
            return LimitError(
                "stream",
                "the number of streams one owner has open",
                "max_streams_per_owner",
                per_owner,
                len(mine) + 1,
            )
        limit = self.settings.max_streams
        if len(self._owners) >= limit and not self._evict_idlest(self._owners):
            return LimitError(
                "stream", "the number of open streams", "max_streams", limit, len(self._owners) + 1
            )
        self._owners[occupant] = owner
        self.stats.open = len(self._owners)
        return None

    def give_back(self, occupant: Occupant) -> None:
        self._owners.pop(occupant, None)
        self.stats.open = len(self._owners)

    def _evict_idlest(self, candidates: Iterable[Occupant]) -> bool:
        now = time.monotonic()
        idle = [
            (since, index, occupant)
            for index, occupant in enumerate(candidates)
            if (since := occupant.idle_since()) is not None
            and now - since >= self.settings.stream_evict_seconds
        ]
        if not idle:
            return False
        since, _, occupant = min(idle, key=lambda entry: entry[:2])
        self.give_back(occupant)
        self.stats.evicted += 1
        occupant.evict(
            f"closed to make room for another stream after {now - since:.0f} s without progress"
        )
        return True

    def reserve(self, size: int) -> None:
        """Count `size` bytes of a pass held for a stream; raises the LimitError that refuses
        them. Raised here, not returned: an error kept in a local of the frame that raises it
        makes a cycle (frame → error → traceback → frame) that holds the frame's pass until the
        cyclic garbage collector happens to run (app.web.stream, `_run`)."""
        budget = self.settings.stream_memory_bytes
        if self.stats.held_bytes + size > budget:
            raise LimitError(
                "stream",
                "bytes of passes held for this worker's streams",
                "stream_memory_bytes",
                budget,
                self.stats.held_bytes + size,
            )
        self.stats.held_bytes += size

    def release(self, size: int) -> None:
        self.stats.held_bytes -= size

    def computed(self, size: int) -> None:
        """Note a pass of `size` bytes made for a stream (in the thread that made it)."""
        with self._lock:
            self._made_bytes += size

    def settled(self) -> None:
        """No stream job runs any more (on the event loop; every job's pass is done and dropped,
        the thread pool having finished it even for a cancelled job): give the freed memory
        back if the passes made since the last time add up to GIVE_BACK_AFTER_BYTES."""
        with self._lock:
            if self._made_bytes < GIVE_BACK_AFTER_BYTES:
                return
            self._made_bytes = 0
        self.stats.given_back += 1
        asyncio.get_running_loop().run_in_executor(None, give_back_freed_memory)


def held_bytes(*values: Any) -> int:
    """The bytes of the NumPy arrays reachable from `values` through dataclass fields, lists,
    tuples and dicts, each buffer counted once (a view counts as its base)."""
    seen: set[int] = set()
    total = 0
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, np.ndarray):
            base = value
            while isinstance(base.base, np.ndarray):
                base = base.base
            if id(base) not in seen:
                seen.add(id(base))
                total += base.nbytes
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            stack.extend(getattr(value, field.name) for field in dataclasses.fields(value))
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
    return total
