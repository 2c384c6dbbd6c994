"""The ways the tests run the app for real: in a thread of the test process (its state
inspectable), or as `python -m app` in a child process (sockets, signals, workers, restarts)."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx2
import uvicorn
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]

# One visitor's cookie jar for the raw HTTP clients of the servers the tests start: every request
# made through it acts as the same owner (app.web.owners), as a browser's do. A server with
# another secret key answers its cookie with a fresh one, which replaces it.
OWNER = httpx2.Client(timeout=60)


# The instructor of every LiveServer (unless a test names its own): it may learn which worker
# process answered (GET /api/v1/health), which no visitor does.
INSTRUCTOR = "tests-instructor-token"
AS_INSTRUCTOR = {"Authorization": f"Bearer {INSTRUCTOR}"}


def answering_worker(url: str) -> int:
    """The process id of the worker that answers a health check on a new connection."""
    with httpx2.Client(timeout=30) as fresh:
        return int(fresh.get(f"{url}/api/v1/health", headers=AS_INSTRUCTOR).json()["worker"])


def owner_headers() -> dict[str, str]:
    """The visitor's cookie as a header, for a WebSocket client (which has no cookie jar)."""
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in OWNER.cookies.items())}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def is_healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Until `url` answers its health check; AssertionError if the process exits first."""

    def healthy() -> bool:
        assert process.poll() is None, f"the server exited with {process.returncode}"
        return is_healthy(url)

    wait_until(healthy, timeout, "the server did not answer its health check")


@dataclass
class ThreadServer:
    """The app under a real uvicorn in a thread of this process (its state is inspectable)."""

    app: FastAPI
    url: str
    ws_url: str


@contextmanager
def live_server(settings: Settings) -> Iterator[ThreadServer]:
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 20, "the server did not start")
    try:
        yield ThreadServer(app, f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(20)


class LiveServer:
    """`python -m app` on a free loopback port with its own data directory and settings."""

    def __init__(self, data_dir: Path, workers: int = 1, **settings: object) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "RNN_EXPLORER_INSTRUCTOR_TOKEN": INSTRUCTOR,
            "RNN_EXPLORER_DATA_DIR": str(data_dir),
            "RNN_EXPLORER_PORT": str(self.port),
            "RNN_EXPLORER_WORKERS": str(workers),
            **{f"RNN_EXPLORER_{key.upper()}": str(value) for key, value in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, timeout: float = 30.0) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until_healthy(self.base_url, self.process, timeout)
        except AssertionError as error:
            log = self.log()[-2000:]
            self.stop()
            raise RuntimeError(f"{error} ({self.base_url}): {log}") from None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send `sig` (SIGTERM: graceful; SIGKILL: a crash) and wait; returns the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        code = self.process.returncode
        self.process = None
        return code

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def rss_bytes(pid: int) -> int:
    """Process `pid`'s resident set, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def settled_rss(pid: int, timeout: float, poll: float = 0.25) -> tuple[int, float, bool]:
    """Process `pid`'s RSS once it has stayed within 1 % for 3 s (the jobs of closed sockets may
    still be ending in the thread pool), or at `timeout` → (RSS, since when, whether settled)."""
    deadline = time.monotonic() + timeout
    value, since = rss_bytes(pid), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(poll)
        now = rss_bytes(pid)
        if abs(now - value) > 0.01 * value:
            value, since = now, time.monotonic()
        elif time.monotonic() - since >= 3.0:
            return value, since, True
    return value, since, False
