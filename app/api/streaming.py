"""The WebSocket protocol (v1): commands in, per-timestep frames out.

One `StreamConnection` per socket. A receiver reads commands while at most one job (a run or a
follow) produces frames. Frames are made one at a time and each send waits until the transport
can take it, so a slow reader only slows the job down: the server holds the pass's arrays
(bounded by the settings) and never a backlog of frames. A disconnect cancels the job at once.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from app.api.errors import DOMAIN_ERRORS, InputError, LimitError, error_body
from app.api.schemas import (
    STREAM_PROTOCOL_VERSION,
    FollowCommand,
    RunCommand,
    StreamCommand,
)
from app.api.service import ModelService
from app.api.strictjson import strict_loads
from app.api.traces import backward_frames, forward_frames, summary_frame
from app.config import Settings
from app.store import NotFoundError, Store

__all__ = ["Sampler", "StreamConnection", "StreamStats"]

logger = logging.getLogger(__name__)

_COMMANDS: TypeAdapter[Any] = TypeAdapter(StreamCommand)
_FINISHED = ("stopped", "finished", "failed", "interrupted")
FOLLOW_POLL_SECONDS = 0.2

# (task, seed, params) → (inputs, targets) as nested lists: a sample of a built-in task.
Sampler = Callable[[str, int, dict[str, Any]], tuple[Any, Any]]


@dataclass
class StreamStats:
    """This worker's streams, for limits and tests: open sockets, running jobs, frames sent."""

    open: int = 0
    jobs: int = 0
    frames: int = 0


class StreamConnection:
    def __init__(
        self,
        websocket: WebSocket,
        model_id: str,
        models: ModelService,
        store: Store,
        settings: Settings,
        stats: StreamStats,
        sampler: Sampler | None,
        extra_errors: tuple[type[Exception], ...] = (),
    ) -> None:
        self.websocket = websocket
        self.model_id = model_id
        self.models = models
        self.store = store
        self.settings = settings
        self.stats = stats
        self.sampler = sampler
        self.errors = (*DOMAIN_ERRORS, *extra_errors)
        self.job: asyncio.Task[None] | None = None
        self.steps: asyncio.Queue[None] = asyncio.Queue(maxsize=1)

    async def serve(self) -> None:
        await self.websocket.accept()
        if self.stats.open >= self.settings.max_streams:
            await self._close_with_error(
                LimitError(
                    "stream",
                    "the number of open streams",
                    "max_streams",
                    self.settings.max_streams,
                    self.stats.open + 1,
                ),
                code=1013,
            )
            return
        try:
            self.models.info(self.model_id)
        except NotFoundError as error:
            await self._close_with_error(error, code=4404)
            return
        self.stats.open += 1
        try:
            await self._receive_commands()
        finally:
            self.stats.open -= 1
            await self._cancel_job()

    async def _receive_commands(self) -> None:
        while True:
            try:
                message = await self.websocket.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", errors="replace")
            try:
                command = _parse_command(text)
            except InputError as error:
                await self._send_error(error)
                continue
            if command.type == "step":
                with contextlib.suppress(asyncio.QueueFull):
                    self.steps.put_nowait(None)
            elif command.type == "stop":
                await self._cancel_job()
                await self._send({"type": "end", "v": STREAM_PROTOCOL_VERSION, "status": "stopped"})
            elif isinstance(command, RunCommand):
                await self._start(self._run(command))
            elif isinstance(command, FollowCommand):
                await self._start(self._follow(command))

    async def _start(self, work: Awaitable[None]) -> None:
        await self._cancel_job()
        while not self.steps.empty():
            self.steps.get_nowait()
        self.job = asyncio.create_task(self._guarded(work))

    async def _cancel_job(self) -> None:
        job, self.job = self.job, None
        if job is not None and not job.done():
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job

    async def _guarded(self, work: Awaitable[None]) -> None:
        self.stats.jobs += 1
        try:
            await work
        except self.errors as error:
            await self._send_error(error)
        except TimeoutError:
            idle = self.settings.stream_idle_seconds
            await self._send_error(InputError("step", f"no step command for {idle:g} s; stopped"))
        except (WebSocketDisconnect, RuntimeError, OSError):
            logger.debug("stream to a closed socket ended")
        finally:
            self.stats.jobs -= 1

    # A run ----------------------------------------------------------------------------------

    async def _run(self, command: RunCommand) -> None:
        if command.rate > self.settings.max_fps:
            raise LimitError(
                "rate", "frames per second", "max_fps", self.settings.max_fps, command.rate
            )
        inputs, targets = command.inputs, command.targets
        if command.sample is not None:
            if self.sampler is None:
                raise InputError("sample", "no task registry is available to sample from")
            sample = command.sample
            inputs, targets = await run_in_threadpool(
                self.sampler, sample.task, sample.seed, sample.params
            )
        if inputs is None:
            raise InputError("inputs", "a run needs inputs (or a sample)")
        run = await run_in_threadpool(
            self.models.run,
            self.model_id,
            inputs,
            targets,
            command.h0,
            command.c0,
            command.truncate,
        )
        trace, result = run.trace, run.result
        await self._send(
            {
                "type": "start",
                "v": STREAM_PROTOCOL_VERSION,
                "T": int(trace.X.shape[1]),
                "layers": trace.config.num_layers,
                "cell": trace.config.cell,
                "batch": int(trace.X.shape[0]),
                "phases": ["forward"] if result is None else ["forward", "backward"],
            }
        )
        frames: Iterator[dict[str, Any]] = forward_frames(trace)
        if result is not None:
            frames = chain(frames, backward_frames(trace, result))
        interval = 1.0 / command.rate if command.rate > 0 else 0.0
        count = 0
        next_time = time.monotonic()
        for frame in frames:
            if command.manual:
                await asyncio.wait_for(self.steps.get(), self.settings.stream_idle_seconds)
            elif interval:
                delay = next_time - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_time = max(next_time + interval, time.monotonic() - interval)
            await self._send(frame)
            count += 1
        await self._send(summary_frame(trace, result, count))

    # Following a training session -----------------------------------------------------------

    async def _follow(self, command: FollowCommand) -> None:
        session_id = command.session
        session = await run_in_threadpool(self.store.get_session, session_id)
        if session.model_id != self.model_id:
            raise InputError(
                "session", f"session {session_id!r} trains model {session.model_id!r}, not this one"
            )
        after = command.after_step
        while True:
            session = await run_in_threadpool(self.store.get_session, session_id)
            records = await run_in_threadpool(self.store.history, session_id, after, 500)
            for record in records:
                await self._send(
                    {
                        **record,
                        "type": "metrics",
                        "v": STREAM_PROTOCOL_VERSION,
                        "session": session_id,
                    }
                )
                after = int(record["step"])
            if not records and session.status in _FINISHED:
                break
            if len(records) < 500:
                await asyncio.sleep(FOLLOW_POLL_SECONDS)
        await self._send(
            {
                "type": "end",
                "v": STREAM_PROTOCOL_VERSION,
                "session": session_id,
                "status": session.status,
            }
        )

    # Sending --------------------------------------------------------------------------------

    async def _send(self, message: dict[str, Any]) -> None:
        # Waits while the transport's buffer is full (uvicorn pauses writing): back-pressure.
        await self.websocket.send_text(json.dumps(message))
        self.stats.frames += 1

    async def _send_error(self, error: Exception) -> None:
        if isinstance(error, self.errors) and not isinstance(error, DOMAIN_ERRORS):
            body: dict[str, Any] = {"detail": str(error)}
        else:
            _, body = error_body(error)
        message = {
            "type": "error",
            "v": STREAM_PROTOCOL_VERSION,
            "detail": body["detail"],
            "field": body.get("field"),
        }
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self._send(message)

    async def _close_with_error(self, error: Exception, code: int) -> None:
        await self._send_error(error)
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self.websocket.close(code=code)


def _parse_command(text: str) -> Any:
    """A client message → one of the StreamCommand models; InputError names the bad field."""
    try:
        document = strict_loads(text)
    except ValueError as error:
        raise InputError("message", f"not valid JSON: {error}") from None
    try:
        return _COMMANDS.validate_python(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "message"
        raise InputError(where, f"{where}: {first['msg']}") from None
