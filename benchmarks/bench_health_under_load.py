"""/health while the largest allowed request runs: the liveness answer must not wait behind it.

A real `python -m app` (one worker, default settings) on a fresh data directory. A T-step LSTM
(D = Q = 1, H = 128, L = 2) gets the largest forward and the largest backward that
`max_answer_elements` allows (B = 2, T = max_answer_elements // (B·(3Q + L·(2G + 2)·H)), capped
at `max_steps`); while each runs, a client asks /health every 10 ms. The same client's /health
latencies with the server idle are the baseline; the results are ratios to it.

    python -m benchmarks.bench_health_under_load          # writes benchmarks/HEALTH_RESULTS.md
    python -m benchmarks.bench_health_under_load --no-write
"""

import argparse
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

import httpx2
import numpy as np

from app.settings import Settings
from app.web.binary import TRACE_MEDIA_TYPE
from tests.servers import LiveServer

RESULTS = Path(__file__).with_name("HEALTH_RESULTS.md")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def poll_health(http: httpx2.Client, until: threading.Event, into: list[float]) -> None:
    while not until.is_set():
        sent = time.perf_counter()
        assert http.get("/api/v1/health").status_code == 200
        into.append((time.perf_counter() - sent) * 1000)
        time.sleep(0.01)


def measure(
    http: httpx2.Client, url: str, body: dict[str, object], encoding: str
) -> tuple[list[float], float, int]:
    """/health latencies (ms) while `body` is posted to `url` asking for `encoding` (identity,
    gzip as a browser asks, or the binary trace); the request's seconds and bytes on the wire."""
    done = threading.Event()
    latencies: list[float] = []
    poller = threading.Thread(target=poll_health, args=(http, done, latencies))
    poller.start()
    started = time.perf_counter()
    headers = (
        {"Accept": TRACE_MEDIA_TYPE, "Accept-Encoding": "identity"}
        if encoding == "binary"
        else {"Accept-Encoding": encoding}
    )
    with (
        httpx2.Client(base_url=str(http.base_url), cookies=http.cookies, timeout=300) as big,
        big.stream("POST", url, json=body, headers=headers) as reply,
    ):
        size = sum(len(chunk) for chunk in reply.iter_raw())
    took = time.perf_counter() - started
    done.set()
    poller.join()
    assert reply.status_code == 200, reply.status_code
    return latencies, took, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    H, L, G, Q = 128, 2, 4, 1
    B = 2  # two sequences: at T = max_steps one alone stays under the bound
    per_step = 3 * Q + L * (2 * G + 2) * H
    T = min(settings.max_answer_elements // (B * per_step), settings.max_steps)
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(B, T, 1)).round(4).tolist()
    targets = rng.normal(size=(B, T, 1)).round(4).tolist()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        server = LiveServer(Path(folder) / "data")
        with server, httpx2.Client(base_url=server.base_url, timeout=60) as http:
            config = {
                "input_size": 1,
                "hidden_size": H,
                "output_size": Q,
                "num_layers": L,
                "cell": "lstm",
            }
            model = http.post("/api/v1/models", json={"config": config}).json()["id"]
            idle: list[float] = []
            done = threading.Event()
            timer = threading.Timer(3.0, done.set)
            timer.start()
            poll_health(http, done, idle)
            base_p50, base_p99 = percentile(idle, 50), percentile(idle, 99)
            for route, body in (
                ("forward", {"inputs": inputs}),
                ("backward", {"inputs": inputs, "targets": targets}),
            ):
                for encoding in ("identity", "gzip", "binary"):
                    for _ in range(3):
                        busy, took, size = measure(
                            http, f"/api/v1/models/{model}/{route}", body, encoding
                        )
                        rows.append(
                            (
                                route,
                                encoding,
                                took,
                                size,
                                percentile(busy, 50),
                                percentile(busy, 99),
                                max(busy),
                                len(busy),
                            )
                        )
    lines = [
        "# /health while the largest allowed request runs",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with",
        "",
        "    python -m benchmarks.bench_health_under_load",
        "",
        f"on {platform.machine()} with {os.cpu_count()} cores shared with other work (load "
        f"average {os.getloadavg()[0]:.1f}); one `python -m app` worker, default settings. The "
        f"request: an LSTM with D = Q = 1, H = {H}, L = {L}, B = {B}, T = {T} (the largest T "
        "that "
        f"max_answer_elements = {settings.max_answer_elements:,} allows: {B * T * per_step:,} "
        "numbers), the JSON answer asked for without compression (identity), as a browser "
        "asks (gzip: bytes on the wire) and as the binary trace (binary). /health is asked "
        "every 10 ms while it runs; the idle baseline "
        f"(3 s, same client) is p50 {base_p50:.2f} ms, p99 {base_p99:.2f} ms.",
        "",
        "| request | encoding | seconds | answer MB | health p50 / idle p50 "
        "| health p99 / idle p99 | health p99 ms | health max ms | health calls |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for route, encoding, took, size, p50, p99, worst, calls in rows:
        lines.append(
            f"| {route} | {encoding} | {took:.2f} | {size / 1e6:.1f} | {p50 / base_p50:.1f}× "
            f"| {p99 / base_p99:.1f}× | {p99:.1f} | {worst:.1f} | {calls} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
