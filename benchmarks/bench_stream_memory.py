"""The worker's memory (RSS) while twelve slow readers stream the largest pass, and after.

    python -m benchmarks.bench_stream_memory
    python -m benchmarks.bench_stream_memory --write benchmarks/SERVICE_RESULTS.md
    python -m benchmarks.bench_stream_memory --readers 12   # one row

One uvicorn worker in a subprocess (fresh data directory, default settings). The largest pass the
default bounds allow an LSTM of one input and one output: T = 1000, H = 384 (B·T·(3Q + 10H) =
3.84 million numbers of the 4 million `max_answer_elements`), forward and backward, float64.
*Start*: the worker's VmRSS after one such pass was streamed to a fast reader (the model loaded,
the engine's buffers warm). Then `--readers` sockets send the same `run` command and read one
frame every `--interval` seconds for `--hold` seconds: *peak* is the highest VmRSS sampled every
0.1 s meanwhile. Then every socket closes: *after* is VmRSS once it has been steady for 3 s (at
most `--settle` seconds later). The ratio
after ÷ start is the issue's measure (within 1.2×). A run the memory budget
(`RNN_EXPLORER_STREAM_MEMORY_BYTES`) refuses gets an error frame on a socket that stays open: its
reader counts it as refused and closes; a socket the server closes is counted with its code.
"""

import argparse
import datetime
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from benchmarks.bench_service import _write_section, create_model, machine, owner_headers, serve
from tests.servers import rss_bytes, settled_rss

T, H = 1000, 384
MODEL = {"cell": "lstm", "input_size": 1, "hidden_size": H, "output_size": 1}


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
    frames read, the error frame's detail if the run was refused (the memory budget's: the
    socket stays open for another command, so the reader closes it at once) and the close code
    if the server closed first. Every wait has a timeout: a reader blocked for ever in `recv`
    would keep its socket open until the server's shutdown closed it (uvicorn's 1012)."""
    result["frames"], result["code"], result["refused"] = 0, None, None
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
                try:
                    frame = ws.recv(timeout=1.0)
                except TimeoutError:
                    continue
                result["frames"] += 1
                message = json.loads(frame)
                if message["type"] == "error":
                    result["refused"] = message["detail"]
                    return
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
        if any(thread.is_alive() for thread in threads):
            raise RuntimeError("a reader did not close within 60 s")
        closed_at = time.monotonic()
        after, settled, _ = settled_rss(pid, settle, poll=0.5)
        settled -= closed_at
    codes = [r["code"] for r in results if r["code"] is not None]
    refused = [r["refused"] for r in results if r["refused"] is not None]
    return {
        "frames": frames,
        "start": start,
        "peak": peak,
        "after": after,
        "settled": settled,
        "readers": readers,
        "refused": len(refused),
        "closed": len(codes),
        "codes": sorted(set(codes)),
        "read": sum(r["frames"] for r in results),
    }


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    mib = 2**20
    lines = [
        f"Slow readers of the largest pass, one worker, {datetime.date.today()}, {machine()}:",
        "",
        "| LSTM T, H | frames a pass | readers | refused by the memory budget "
        "| closed by the server (codes) | frames read "
        "| RSS start | RSS peak | RSS after close | after ÷ start | steady after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {T}, {H} | {r['frames']} | {r['readers']} | {r['refused']} "
            f"| {r['closed']} {r['codes']} | "
            f"{r['read']} | {r['start'] / mib:.0f} MiB | {r['peak'] / mib:.0f} MiB | "
            f"{r['after'] / mib:.0f} MiB | **{r['after'] / r['start']:.2f}×** "
            f"| {r['settled']:.1f} s |"
        )
    lines += [
        "",
        f"(one frame read every {args.interval} s per reader for {args.hold} s, a fresh worker "
        "per row; *steady after*: from when *after* held, counted from the last socket's close; "
        f"load average {os.getloadavg()[0]:.1f} at the end)",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, nargs="+", default=[12, 4])
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--hold", type=float, default=15.0)
    parser.add_argument("--settle", type=float, default=60.0, help="longest wait for *after*")
    parser.add_argument("--write", metavar="PATH", help="also write the report to this file")
    args = parser.parse_args()
    rows = [measure(readers, args.interval, args.hold, args.settle) for readers in args.readers]
    text = report(rows, args)
    print(text)
    if args.write:
        _write_section(Path(args.write), "## Memory with slow readers", text)


if __name__ == "__main__":
    main()
