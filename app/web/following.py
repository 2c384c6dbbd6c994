"""Following a training session over the stream: its history's records as metrics frames, as
they are written (by whichever worker, on whichever host, trains it), then one end frame that
says why it ended.

Between records the follower waits in the store (`Store.wait_for_history`): woken by the
database's notification on PostgreSQL, a short poll on SQLite. The waits run on threads of
their own (at most FOLLOW_THREADS at once per worker), so followers never take the threads
requests are served on.
"""

import functools
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool

from app.services.training import ENDED, TrainingService
from app.web.schemas.common import STREAM_PROTOCOL_VERSION
from app.web.sessions import session_info

__all__ = ["FOLLOW_BATCH", "FOLLOW_WAIT_SECONDS", "session_frames"]

FOLLOW_WAIT_SECONDS = 5.0  # a wait's bound: the status is read again at least this often
FOLLOW_BATCH = 500
FOLLOW_THREADS = 256

_limiter: anyio.CapacityLimiter | None = None


def _wait_limiter() -> anyio.CapacityLimiter:
    global _limiter
    if _limiter is None:
        _limiter = anyio.CapacityLimiter(FOLLOW_THREADS)
    return _limiter


async def session_frames(
    training: TrainingService, session_id: str, after: int
) -> AsyncIterator[dict[str, Any]]:
    """The session's records after step `after` as metrics frames, until it has ended and every
    record is sent; then its end frame (status, and the reason and error its REST answer has)."""
    store = training.store
    while True:
        status = (await run_in_threadpool(training.status, session_id)).status
        records = await run_in_threadpool(training.history, session_id, after, FOLLOW_BATCH)
        if not records and status not in ENDED:
            wait = functools.partial(
                store.wait_for_history, session_id, after, FOLLOW_WAIT_SECONDS, status, FOLLOW_BATCH
            )
            records = await anyio.to_thread.run_sync(
                wait, limiter=_wait_limiter(), abandon_on_cancel=True
            )
        for record in records:
            yield {**record, "type": "metrics", "v": STREAM_PROTOCOL_VERSION, "session": session_id}
            after = int(record["step"])
        if not records and status in ENDED:
            final = await run_in_threadpool(training.status, session_id)
            if final.status in ENDED:  # not resumed meanwhile (then it is followed on)
                break
    ended = session_info(final, training)
    yield {
        "type": "end",
        "v": STREAM_PROTOCOL_VERSION,
        "session": session_id,
        "status": ended.status,
        "reason": ended.reason,
        "error": ended.error,
    }
