"""The worker's memory (RSS) while twelve slow readers stream the largest pass, and after.

    python -m benchmarks.bench_stream_memory
    python -m benchmarks.bench_stream_memory --write benchmarks/SERVICE_RESULTS.md

One uvicorn worker in a subprocess (fresh data directory, default settings). The largest pass the
default bounds allow an LSTM of one input and one output: T = 1000, H = 384 (B·T·(3Q + 10H) =
3.84 million numbers of the 4 million `max_answer_elements`), forward and backward, float64.
*Start*: the worker's VmRSS after one such pass was streamed to a fast reader (the model loaded,
the engine's buffers warm). Then `--readers` sockets send the same `run` command and read one
frame every `--interval` seconds for `--hold` seconds: *peak* is the highest VmRSS sampled every
0.1 s meanwhile. Then every socket closes: *after* is VmRSS once it has been steady for 3 s (at
most `--settle` seconds later). The ratio
after ÷ start is the issue's measure (within 1.2×); a socket the memory budget
(`RNN_EXPLORER_STREAM_MEMORY_BYTES`) refuses is counted with the close code it got.
"""

import argparse
import datetime
import json
import threading
import time
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from benchmarks.bench_service import _write_section, create_model, machine, owner_headers, serve

T, H = 1000, 384
MODEL = {"cell": "lstm", "input_size": 1, "hidden_size": H, "output_size": 1}


def rss_bytes(pid: int) -> int:
    """The process's resident set, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def settled_rss(pid: int, timeout: float) -> tuple[int, float]:
    """The process's RSS once it has stayed within 1 % for 3 s (the passes of closed sockets
    may still be finishing in the thread pool), or after `timeout` → (RSS, when)."""
    deadline = time.monotonic() + timeout
    value, since = rss_bytes(pid), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = rss_bytes(pid)
        if abs(now - value) > 0.01 * value:
            value, since = now, time.monotonic()
        elif time.monotonic() - since >= 3.0:
            break
    return value, since


def command() -> str:
    inputs = [[0.001 * t] for t in range(T)]
    return json.dumps({"type": "run", "inputs": inputs, "targets": [[0.0]] * T})


def read_all(ws_url: str) -> int:
    """One fast reader of the whole pass → the frames it got."""
    with connect(ws_url, max_size=None, additional_headers=owner_headers()) as ws:
        ws.send(command())
        frames = 0
        while (frame := json.loads(ws.recv()))["type"] != "summary":
            if frame["type"] == "error":
                raise RuntimeError(frame)
            frames += 1
        return frames


def slow_reader(ws_url: str, interval: float, stop: threading.Event, result: dict) -> None:
    """Reads one frame every `interval` seconds until `stop`, then closes; `result` gets the
    frames read and the close code if the server closed first."""
    result["frames"], result["code"] = 0, None
    try:
        # close_timeout: the server's close frame waits behind the unread frames
        with connect(
            ws_url,
            max_size=None,
            max_queue=1,
            close_timeout=1,
            additional_headers=owner_headers(),
        ) as ws:
            ws.send(command())
            while not stop.wait(interval):
                ws.recv()
                result["frames"] += 1
    except ConnectionClosed as closed:
        result["code"] = closed.rcvd.code if closed.rcvd else None


def measure(readers: int, interval: float, hold: float, settle: float) -> dict[str, Any]:
    started: list[Any] = []
    with serve(1, started=started) as url:
        pid = started[0].pid
        model_id = create_model(url, MODEL)
        ws_url = url.replace("http", "ws", 1) + f"/api/v1/models/{model_id}/stream"
        frames = read_all(ws_url)
        time.sleep(1.0)
        start = rss_bytes(pid)
        stop = threading.Event()
        results: list[dict] = [{} for _ in range(readers)]
        threads = [
            threading.Thread(target=slow_reader, args=(ws_url, interval, stop, result))
            for result in results
        ]
        for thread in threads:
            thread.start()
        peak, until = start, time.monotonic() + hold
        while time.monotonic() < until:
            peak = max(peak, rss_bytes(pid))
            time.sleep(0.1)
        stop.set()
        for thread in threads:
            thread.join(60)
        closed_at = time.monotonic()
        after, settled = settled_rss(pid, settle)
        settled -= closed_at
    codes = [r["code"] for r in results if r["code"] is not None]
    return {
        "frames": frames,
        "start": start,
        "peak": peak,
        "after": after,
        "settled": settled,
        "readers": readers,
        "refused": len(codes),
        "codes": sorted(set(codes)),
        "read": sum(r["frames"] for r in results),
    }


def report(r: dict[str, Any], args: argparse.Namespace) -> str:
    mib = 2**20
    return "\n".join(
        [
            f"Slow readers of the largest pass, one worker, {datetime.date.today()}, {machine()}:",
            "",
            "| LSTM T, H | frames a pass | readers | closed by the server (codes) | frames read "
            "| RSS start | RSS peak | RSS after close | after ÷ start |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {T}, {H} | {r['frames']} | {r['readers']} | {r['refused']} {r['codes']} | "
            f"{r['read']} | {r['start'] / mib:.0f} MiB | {r['peak'] / mib:.0f} MiB | "
            f"{r['after'] / mib:.0f} MiB | **{r['after'] / r['start']:.2f}×** |",
            "",
            f"(one frame read every {args.interval} s per reader for {args.hold} s; *after*: "
            f"steady from {r['settled']:.1f} s after the last socket closed)",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=12)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--hold", type=float, default=15.0)
    parser.add_argument("--settle", type=float, default=60.0, help="longest wait for *after*")
    parser.add_argument("--write", metavar="PATH", help="also write the report to this file")
    args = parser.parse_args()
    text = report(measure(args.readers, args.interval, args.hold, args.settle), args)
    print(text)
    if args.write:
        _write_section(Path(args.write), "## Memory with slow readers", text)


if __name__ == "__main__":
    main()
