"""Requests per second of `POST /models/{id}/forward` at S1 size, under real uvicorn workers.

    python -m benchmarks.bench_service                      # 1 and 2 workers, prints a table
    python -m benchmarks.bench_service --workers 2 --write benchmarks/SERVICE_RESULTS.md

The server is `uvicorn app.main:app --workers N` in a subprocess on a free loopback port with a
fresh data directory; the client is one asyncio process (httpx2) keeping `--concurrency` requests
in flight for `--seconds`, on that many keep-alive connections (the kernel spreads connections
over the workers). S1: one sequence, T = 50 steps, D = 1 input, H = 100 hidden units, Q = 1,
a vanilla tanh RNN in float64. Each round is repeated `--rounds` times; the table quotes
medians. Client and server share the machine's cores, so the numbers are a floor.
"""

import argparse
import asyncio
import contextlib
import datetime
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import numpy as np

# The benchmarks' servers have an instructor, who alone learns which worker answered /health.
INSTRUCTOR = "benchmark-instructor-token"
AS_INSTRUCTOR = {"Authorization": f"Bearer {INSTRUCTOR}"}

S1_MODEL = {"cell": "rnn", "input_size": 1, "hidden_size": 100, "output_size": 1}
S1_T = 50


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serve(
    workers: int,
    app: str = "app.main:app",
    env: dict[str, str] | None = None,
    started: list[subprocess.Popen[bytes]] | None = None,
) -> Iterator[str]:
    """`uvicorn app` (the service by default) with `workers` processes on a fresh data
    directory, `env` added to the environment → its URL; the process is appended to `started`
    (with one worker, it is the worker)."""
    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        environment = {
            **os.environ,
            "RNN_EXPLORER_DATA_DIR": data_dir,
            "RNN_EXPLORER_INSTRUCTOR_TOKEN": INSTRUCTOR,
            **(env or {}),
        }
        command = [
            sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--log-level", "warning",
        ]  # fmt: skip
        process = subprocess.Popen(command, env=environment)
        if started is not None:
            started.append(process)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx2.HTTPError):
                    if httpx2.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the server did not start")
                time.sleep(0.1)
            if workers > 1:
                _wait_for_workers(url, workers)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_for_workers(url: str, workers: int) -> None:
    """Every worker has started once each answered a health check on a new connection."""
    seen: set[int] = set()
    deadline = time.monotonic() + 60
    while len(seen) < workers and time.monotonic() < deadline:
        seen.add(
            httpx2.get(f"{url}/api/v1/health", timeout=5, headers=AS_INSTRUCTOR).json()["worker"]
        )


# The benchmark acts as one visitor: its cookie jar carries the owner identity the server gives
# on the first request (app.web.owners), so the models it creates are its own to run.
VISITOR = httpx2.Client(timeout=60)


def owner_headers() -> dict[str, str]:
    """The visitor's cookie as a header, for clients without this jar (a WebSocket, async)."""
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in VISITOR.cookies.items())}


def create_model(url: str, config: dict[str, object]) -> str:
    response = VISITOR.post(f"{url}/api/v1/models", json={"config": config}, timeout=30)
    response.raise_for_status()
    return str(response.json()["id"])


async def _load(url: str, body: dict[str, object], concurrency: int, seconds: float) -> dict:
    latencies: list[float] = []
    workers: set[int] = set()
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(limits=limits, timeout=60, headers=owner_headers()) as client:
        for _ in range(concurrency):  # warm every connection (and the workers' model caches)
            (await client.post(url, json=body)).raise_for_status()
        stop_at = time.perf_counter() + seconds

        async def one_client() -> None:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                response = await client.post(url, json=body)
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
        health = url.split("/api/v1/")[0] + "/api/v1/health"
        for _ in range(4 * concurrency):
            async with httpx2.AsyncClient(timeout=10) as fresh:
                workers.add((await fresh.get(health, headers=AS_INSTRUCTOR)).json()["worker"])
    return {
        "requests_per_second": len(latencies) / elapsed,
        "median_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * float(np.percentile(latencies, 95)),
        "requests": len(latencies),
        "workers_seen": len(workers),
    }


def measure(workers: int, concurrency: int, seconds: float, rounds: int) -> dict:
    inputs = np.random.default_rng(0).normal(size=(S1_T, 1)).tolist()
    with serve(workers) as url:
        model_id = create_model(url, S1_MODEL)
        target = f"{url}/api/v1/models/{model_id}/forward"
        runs = [
            asyncio.run(_load(target, {"inputs": inputs}, concurrency, seconds))
            for _ in range(rounds)
        ]
    return {
        "workers": workers,
        "concurrency": concurrency,
        "requests_per_second": statistics.median(r["requests_per_second"] for r in runs),
        "median_ms": statistics.median(r["median_ms"] for r in runs),
        "p95_ms": statistics.median(r["p95_ms"] for r in runs),
        "requests": sum(r["requests"] for r in runs),
        "workers_seen": max(r["workers_seen"] for r in runs),
        "rounds": [round(r["requests_per_second"], 1) for r in runs],
    }


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load:.1f} at the start"
    )


def table(rows: list[dict]) -> str:
    lines = [
        "| workers | concurrent requests | forward requests/s | median latency | p95 latency | "
        "requests | workers that answered | per round (req/s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['workers']} | {r['concurrency']} | **{r['requests_per_second']:.0f}** | "
            f"{r['median_ms']:.1f} ms | {r['p95_ms']:.1f} ms | {r['requests']} | "
            f"{r['workers_seen']} | {', '.join(str(x) for x in r['rounds'])} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", metavar="PATH", help="also write the report to this file")
    args = parser.parse_args()
    header = machine()
    rows = [measure(n, args.concurrency, args.seconds, args.rounds) for n in args.workers]
    report = "\n".join(
        [
            f"Forward at S1 (B=1, T={S1_T}, D=1, H=100, Q=1, rnn tanh, float64), "
            f"{datetime.date.today()}, {header}:",
            "",
            table(rows),
        ]
    )
    print(report)
    if args.write:
        _write_section(Path(args.write), "## REST forward throughput", report)


def _write_section(path: Path, title: str, body: str) -> None:
    """Replace (or append) the section `title` of a Markdown file with `body`."""
    text = path.read_text() if path.exists() else "# Service benchmarks\n"
    start = text.find(title)
    section = f"{title}\n\n{body}\n"
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(title))
        rest = "" if end < 0 else "\n" + text[end + 1 :]
        text = text[:start] + section + rest
    path.write_text(text)


if __name__ == "__main__":
    main()
