"""The WebSocket protocol (v1): commands in, per-timestep frames out.

One `StreamConnection` per socket runs three things: a receiver that reads commands, at most one
job (a run, or following a training session) that makes frames, and a sender that writes them.
Between job and sender sits a bounded queue (`stream_queue_frames`); the sender waits while the
transport is paused (uvicorn stops it above its write buffer's high-water mark), so a slow reader
fills the queue and the job then waits for room: the server holds at most that many frames plus
one transport buffer per socket, never a backlog. JSON frames are made lazily, one at a time,
from the pass's arrays; a binary run's messages are all made with its pass, in the pool's thread
(app.web.columns: a run's bytes at a time), and counted with it in the memory budget. When the
socket closes, the receiver or the sender ends and the job is cancelled at once.
"""

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Awaitable, Iterable
from typing import Any

import numpy as np
from fastapi import WebSocket
from starlette.concurrency import run_in_threadpool

from app.services.errors import InputError, LimitError, NotFoundError
from app.services.models import ModelService, Pass
from app.services.training import TrainingService
from app.settings import Settings
from app.web.commands import Sampler, parse_command, run_pass
from app.web.errors import DOMAIN_ERRORS
from app.web.following import session_frames
from app.web.frames import binary_messages, encode_frame, step_frames, summary_frame
from app.web.owners import Caller, can_manage, can_read, refuse_shared
from app.web.schemas.common import STREAM_PROTOCOL_VERSION
from app.web.schemas.stream import (
    FollowCommand,
    PauseCommand,
    ResumeCommand,
    RunCommand,
    StepCommand,
    StopCommand,
    TrainCommand,
)
from app.web.sessions import start_session
from app.web.stream_slots import StreamSlots, held_bytes
from app.web.stream_socket import CLOSED, STALLED_CODE, StalledReaderError, StreamSocket

__all__ = ["STALLED_CODE", "Sampler", "StreamConnection"]

logger = logging.getLogger(__name__)

MAX_PENDING_STEPS = 1000
# Above this many bytes a command is parsed in a worker thread, so that one large command does
# not hold the event loop (every other connection of the worker) for the whole parse.
THREAD_PARSE_BYTES = 64 * 1024


class StreamConnection(StreamSocket):
    """One socket's protocol: its commands, its job (a run, following or training)."""

    def __init__(
        self,
        websocket: WebSocket,
        model_id: str,
        models: ModelService,
        settings: Settings,
        slots: StreamSlots,
        sampler: Sampler,
        training: TrainingService,
        caller: Caller,
    ) -> None:
        super().__init__(websocket, settings, slots)
        self.model_id = model_id
        self.models = models
        self.sampler = sampler
        self.training = training
        self.caller = caller
        self.manages = False  # may the caller train this model (known once the model is read)
        self.job: asyncio.Task[None] | None = None
        # A run's pacing: paused (frames only on step), or playing at `interval` seconds.
        self.paused = False
        self.pending_steps = 0
        self.interval = 0.0
        self.wake = asyncio.Event()

    def idle_since(self) -> float | None:
        """When this socket last made progress, if it is idle now (no job, or a paused run
        waiting for a step); None while a job makes frames."""
        running = self.job is not None and not self.job.done()
        if running and not (self.paused and self.pending_steps == 0):
            return None
        return self.progress_at

    async def serve(self) -> None:
        await self.websocket.accept()
        # Checked and taken with no await in between: a burst cannot pass the limits.
        refused = self.slots.take(self, self.caller.owner)
        if refused is not None:
            await self._close_with_error(refused, code=1013)
            return
        try:
            record = await run_in_threadpool(self.models.get, self.model_id)
            # another owner's model is no model at all (the same close as an unknown id)
            if not can_read(self.caller, self.model_id, record.owner_id):
                raise NotFoundError(f"no model with id {self.model_id!r}")
            self.manages = can_manage(self.caller, record.owner_id)
            self._tasks = (
                asyncio.create_task(self._receive_commands()),
                asyncio.create_task(self._send_frames()),
            )
            await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
        except NotFoundError as error:
            await self._close_with_error(error, code=4404)
        finally:
            self.slots.give_back(self)
            await self._cancel_job()
            for task in self._tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, *CLOSED):
                    await task

    async def _receive_commands(self) -> None:
        idle = self.settings.stream_idle_seconds
        while True:
            # Commands that make no progress (a pause on a paused run…) do not hold the place.
            wait = max(self.progress_at + idle - time.monotonic(), 0.0)
            try:
                message = await asyncio.wait_for(self.websocket.receive(), wait)
            except TimeoutError:
                if self.idle_since() is None:
                    self.progress_at = time.monotonic()
                    continue  # frames are still flowing: the socket is not idle
                # A silent socket holds one of the max_streams places: give it back.
                error = InputError(
                    "stream", f"no command and no progress for {idle:g} s; the stream is closed"
                )
                await self._close_with_error(error, code=1001)
                return
            except CLOSED:
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", errors="replace")
            try:
                limit = self.settings.max_request_bytes
                if len(text) > limit:
                    raise LimitError(
                        "message", "the size in bytes", "max_request_bytes", limit, len(text)
                    )
                if len(text) > THREAD_PARSE_BYTES:
                    command = await run_in_threadpool(parse_command, text)
                else:
                    command = parse_command(text)
            except InputError as error:
                await self._send_error(error)
                continue
            await self._obey(command)

    async def _obey(self, command: Any) -> None:
        if not isinstance(command, PauseCommand):
            self.progress_at = time.monotonic()
        if isinstance(command, StepCommand):
            self.paused = True
            self.pending_steps = min(self.pending_steps + 1, MAX_PENDING_STEPS)
            self.wake.set()
        elif isinstance(command, PauseCommand):
            self.paused = True
        elif isinstance(command, ResumeCommand):
            try:
                if command.rate is not None:
                    self.interval = self._interval(command.rate)
            except LimitError as error:
                await self._send_error(error)
                return
            self.paused = False
            self.wake.set()
        elif isinstance(command, StopCommand):
            await self._cancel_job()
            await self._send({"type": "end", "v": STREAM_PROTOCOL_VERSION, "status": "stopped"})
        elif isinstance(command, RunCommand):
            await self._start(self._run(command))
        elif isinstance(command, FollowCommand):
            await self._start(self._follow(command.session, command.after_step))
        elif isinstance(command, TrainCommand):
            await self._start(self._train(command))

    async def _start(self, work: Awaitable[None]) -> None:
        await self._cancel_job()
        self.paused, self.pending_steps, self.interval = False, 0, 0.0
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
        except DOMAIN_ERRORS as error:
            await self._send_error(error)
        except StalledReaderError:
            self.stats.stalled += 1
            bound = self.settings.stream_stall_seconds
            stalled = InputError("stream", f"the reader took no frame for {bound:g} s")
            await self._end(stalled, code=STALLED_CODE)
        except TimeoutError:
            idle = self.settings.stream_idle_seconds
            await self._send_error(InputError("step", f"no step command for {idle:g} s; stopped"))
        except Exception as error:  # a bug: say so on the socket, which stays usable
            logger.exception("stream job failed")
            message = {"type": "error", "v": STREAM_PROTOCOL_VERSION, "field": None}
            await self._send({**message, "detail": f"internal error: {type(error).__name__}"})
        except BaseException as error:  # cancelled: the job's finished frames let go of its pass
            traceback.clear_frames(error.__traceback__)
            raise
        finally:
            self.stats.jobs -= 1
            if self.stats.jobs == 0:
                self.slots.settled()

    # A run ----------------------------------------------------------------------------------

    def _interval(self, rate: float) -> float:
        if rate > self.settings.max_fps:
            raise LimitError("rate", "frames per second", "max_fps", self.settings.max_fps, rate)
        return 1.0 / rate if rate > 0 else 0.0

    async def _run(self, command: RunCommand) -> None:
        self.interval = self._interval(command.rate)
        self.paused = command.manual
        run, messages, size = await run_in_threadpool(self._compute, command)
        try:
            self.slots.reserve(size)
        except LimitError:
            # The traceback the handler keeps refers to this frame: without `run` in it, the
            # refused pass goes now, not whenever the cyclic collector runs (measured: five
            # refused passes of the largest size, 306 MiB, outlived their sockets).
            del run, messages
            raise
        try:
            await self._play(run, messages, command)
        finally:
            self.slots.release(size)

    def _compute(self, command: RunCommand) -> tuple[Pass, list[bytes] | None, int]:
        """The run's pass, its binary messages when the command asks for them (all made here:
        a binary run's frames are its columns' bytes), and the bytes they hold (in a thread of
        the pool)."""
        run = run_pass(self.models, self.sampler, self.model_id, command)
        messages = None
        if command.format == "binary":
            messages = binary_messages(run.trace, run.result)
        size = held_bytes(run) + sum(map(len, messages or ()))
        self.slots.computed(size)
        return run, messages, size

    async def _play(self, run: Pass, messages: list[bytes] | None, command: RunCommand) -> None:
        trace, result = run.trace, run.result
        start = {
            "type": "start",
            "v": STREAM_PROTOCOL_VERSION,
            "T": int(trace.X.shape[1]),
            "layers": trace.config.num_layers,
            "cell": trace.config.cell,
            "batch": int(trace.X.shape[0]),
            "phases": ["forward"] if result is None else ["forward", "backward"],
        }
        if trace.config.bidirectional:
            start["bidirectional"] = True
        if command.lengths is not None:  # as given (all T when every sequence is whole)
            start["lengths"] = [int(n) for n in np.asarray(command.lengths).reshape(-1)]
        if messages is not None:
            start["format"] = "binary"
        await self._send(start)
        encoded: Iterable[str | bytes] = (
            map(encode_frame, step_frames(trace, result)) if messages is None else messages
        )
        count = 0
        next_time = time.monotonic()
        for message in encoded:
            next_time = await self._pace(next_time)
            await self._queue(message)
            count += 1
        await self._send(summary_frame(trace, result, count))

    async def _pace(self, next_time: float) -> float:
        """Wait until the next frame is due: a step command while paused, else the rate's
        next tick. Returns the tick after that."""
        while self.paused and self.pending_steps == 0:
            self.wake.clear()
            await asyncio.wait_for(self.wake.wait(), self.settings.stream_idle_seconds)
            next_time = time.monotonic()
        if self.paused:
            self.pending_steps -= 1
            return time.monotonic()
        if self.interval:
            delay = next_time - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            # Late frames do not make up for lost time in a burst.
            return max(next_time + self.interval, time.monotonic())
        return next_time

    # Training -------------------------------------------------------------------------------

    async def _train(self, command: TrainCommand) -> None:
        if not self.manages:  # a share link's holder reads, never trains
            raise refuse_shared(self.model_id)
        info = await run_in_threadpool(start_session, self.training, self.model_id, command)
        await self._send(
            {
                "type": "session",
                "v": STREAM_PROTOCOL_VERSION,
                "session": info.id,
                "status": info.status,
            }
        )
        await self._follow(info.id, -1)

    async def _follow(self, session_id: str, after: int) -> None:
        """Metric frames from the store's history (written by whichever worker trains)."""
        session = await run_in_threadpool(self.training.status, session_id)
        if session.model_id != self.model_id:
            raise InputError(
                "session", f"session {session_id!r} trains model {session.model_id!r}, not this one"
            )
        async for frame in session_frames(self.training, session_id, after):
            await self._send(frame)
