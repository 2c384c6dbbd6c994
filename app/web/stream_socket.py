"""A stream socket's sending half: the bounded queue of encoded frames, the sender that writes
them, progress for the idle bounds, and the ways a socket is closed (app.web.stream)."""

import asyncio
import contextlib
import time
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from app.services.errors import InputError
from app.settings import Settings
from app.web.errors import error_body
from app.web.frames import encode_frame
from app.web.schemas.common import STREAM_PROTOCOL_VERSION
from app.web.stream_slots import StreamSlots

__all__ = ["CLOSED", "STALLED_CODE", "StalledReaderError", "StreamSocket"]

CLOSED = (WebSocketDisconnect, RuntimeError, OSError)
# A reader that takes no frame for `stream_stall_seconds` while one is due is closed with this.
STALLED_CODE = 4408


class StalledReaderError(Exception):
    """The socket's reader has taken no frame for the stall bound."""


class StreamSocket:
    """The socket, its place among the worker's streams and its outbox of frames."""

    def __init__(self, websocket: WebSocket, settings: Settings, slots: StreamSlots) -> None:
        self.websocket = websocket
        self.settings = settings
        self.slots = slots
        self.stats = slots.stats
        self.outbox: asyncio.Queue[str | bytes] = asyncio.Queue(
            maxsize=settings.stream_queue_frames
        )
        # The last progress: a job's frame sent, or a command that starts or moves a job.
        self.progress_at = time.monotonic()
        self._closing: asyncio.Task[None] | None = None
        self._tasks: tuple[asyncio.Task[None], ...] = ()

    def evict(self, reason: str) -> None:
        """Close this socket soon (its place is already given to another) with 1001."""
        self._closing = asyncio.get_running_loop().create_task(
            self._end(InputError("stream", reason), code=1001)
        )

    async def _end(self, error: Exception, code: int) -> None:
        """Close with an error frame if the transport takes it within a second (a stalled
        reader's does not), and end the socket's tasks either way."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._close_with_error(error, code=code), 1.0)
        for task in self._tasks:
            task.cancel()

    # Sending --------------------------------------------------------------------------------

    async def _send(self, message: dict[str, Any]) -> None:
        """Queue a frame as JSON text (see `_queue`)."""
        await self._queue(encode_frame(message))

    async def _queue(self, message: str | bytes) -> None:
        """Queue an encoded message; waits while the queue is full (the reader is slower than
        the job), for at most the stall bound."""
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            try:
                await asyncio.wait_for(self.outbox.put(message), self.settings.stream_stall_seconds)
            except TimeoutError:
                raise StalledReaderError from None
        self.stats.frames_made += 1
        self.stats.queue_high_water = max(self.stats.queue_high_water, self.outbox.qsize())

    async def _send_frames(self) -> None:
        while True:
            text = await self.outbox.get()
            try:
                # Waits while uvicorn has paused writing (its buffer is above the high mark).
                if isinstance(text, bytes):
                    await self.websocket.send_bytes(text)
                else:
                    await self.websocket.send_text(text)
            except CLOSED:
                return
            self.stats.frames += 1
            self.progress_at = time.monotonic()

    async def _send_error(self, error: Exception) -> None:
        _, body = error_body(error)
        await self._send(
            {
                "type": "error",
                "v": STREAM_PROTOCOL_VERSION,
                "detail": body["detail"],
                "field": body.get("field"),
            }
        )

    async def _close_with_error(self, error: Exception, code: int) -> None:
        _, body = error_body(error)
        message = {"type": "error", "v": STREAM_PROTOCOL_VERSION, "detail": body["detail"]}
        with contextlib.suppress(*CLOSED):
            await self.websocket.send_text(encode_frame({**message, "field": body.get("field")}))
            await self.websocket.close(code=code)
