"""Following a training session over the stream: its history's records as metrics frames, as
they are written (by whichever worker trains it), then one end frame that says why it ended."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool

from app.services.training import ENDED, TrainingService
from app.web.schemas.common import STREAM_PROTOCOL_VERSION
from app.web.sessions import session_info

__all__ = ["FOLLOW_BATCH", "FOLLOW_POLL_SECONDS", "session_frames"]

FOLLOW_POLL_SECONDS = 0.2
FOLLOW_BATCH = 500


async def session_frames(
    training: TrainingService, session_id: str, after: int
) -> AsyncIterator[dict[str, Any]]:
    """The session's records after step `after` as metrics frames, until it has ended and every
    record is sent; then its end frame (status, and the reason and error its REST answer has)."""
    while True:
        status = (await run_in_threadpool(training.status, session_id)).status
        records = await run_in_threadpool(training.history, session_id, after, FOLLOW_BATCH)
        for record in records:
            yield {**record, "type": "metrics", "v": STREAM_PROTOCOL_VERSION, "session": session_id}
            after = int(record["step"])
        if not records and status in ENDED:
            break
        if len(records) < FOLLOW_BATCH:
            await asyncio.sleep(FOLLOW_POLL_SECONDS)
    ended = session_info(await run_in_threadpool(training.status, session_id), training)
    yield {
        "type": "end",
        "v": STREAM_PROTOCOL_VERSION,
        "session": session_id,
        "status": ended.status,
        "reason": ended.reason,
        "error": ended.error,
    }
