"""Time to first frame and frames per second of the WebSocket stream over loopback.

    python -m benchmarks.bench_stream
    python -m benchmarks.bench_stream --write benchmarks/SERVICE_RESULTS.md

One uvicorn worker in a subprocess (fresh data directory); the client (websockets, with the
permessage-deflate a browser negotiates, and without it) opens a socket, sends one `run` command
with inputs and targets, and reads the start frame, T forward frames, T backward frames and the
summary as fast as the server sends them (rate 0). Time to first frame: from sending the command
to receiving the frame of t = 0 (it includes parsing the request, the forward and backward
passes of the whole batch, and the start frame). Frames per second: the 2T step frames over the
time from that first frame to the summary. Sizes (vanilla tanh RNN, float64):
S1: B=1, T=50, D=1, H=100, Q=1;  S4: B=32, T=100, D=32, H=128, Q=10 (frames show sequence 0).
Medians over `--repeats` runs after one warm-up.

The reference column: the very frames one run of the service sent, captured and replayed by a bare
FastAPI WebSocket (`benchmarks/bare_stream.py`, its own uvicorn process) to the same client, the
two measured in alternation in one run; *service ÷ bare* is the ratio of their frames/s.
The format column: JSON text frames (the default), or binary frames (`"format": "binary"`, the
binary trace layout, rows in the model's float64), replayed by the bare WebSocket as the same
binary messages.

A JSON frame is encoded as it is sent, so its cost is inside frames/s; a binary run's messages
are all made with its pass, before the start frame (app.web.columns), so their cost is inside
the time to first frame instead. *Encoding* is that cost a frame, measured in this process on a
pass of the same size (median of 20); *÷ bare, encoding in the stream* charges it to the binary
frames as if each were encoded as it is sent: 1 / (1 / frames/s + encoding).
"""

import argparse
import base64
import datetime
import json
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np
from websockets.sync.client import connect

from app.rnn import ModelConfig, Network
from app.web.frames import binary_messages, encode_frame, step_frames
from benchmarks.bench_service import _write_section, create_model, machine, owner_headers, serve
from rnn_explorer import decode_trace

FORMATS = ("json", "binary")
SIZES = {
    "S1": {"B": 1, "T": 50, "D": 1, "H": 100, "Q": 1},
    "S4": {"B": 32, "T": 100, "D": 32, "H": 128, "Q": 10},
}


def one_run(ws_url: str, command: str, T: int, compression: str | None) -> dict:
    with connect(
        ws_url, max_size=None, compression=compression, additional_headers=owner_headers()
    ) as ws:
        sent = time.perf_counter()
        ws.send(command)
        start = json.loads(ws.recv())
        assert start["type"] == "start", start
        start_at = time.perf_counter()
        message = ws.recv()
        first_at = time.perf_counter()
        first = decode_trace(message) if isinstance(message, bytes) else json.loads(message)
        assert first["type"] == "forward" and first["t"] == 0, first
        frames, size = 1, len(message)
        while True:
            message = ws.recv()
            if isinstance(message, str) and json.loads(message)["type"] == "summary":
                break
            frames += 1
            size += len(message)
        done_at = time.perf_counter()
    assert frames == 2 * T, frames
    return {
        "start_ms": 1000 * (start_at - sent),
        "first_ms": 1000 * (first_at - sent),
        "fps": (frames - 1) / (done_at - first_at),
        "frame_bytes": size / frames,
    }


def capture(ws_url: str, command: str) -> list[str]:
    """Every message the service sends for `command`, start to summary, one line each: a text
    as it is, a binary message as "b64:" and its base64 (benchmarks/bare_stream.py)."""
    lines = []
    with connect(ws_url, max_size=None, compression=None, additional_headers=owner_headers()) as ws:
        ws.send(command)
        while True:
            message = ws.recv()
            if isinstance(message, bytes):
                lines.append("b64:" + base64.b64encode(message).decode())
                continue
            lines.append(message)
            if json.loads(message)["type"] == "summary":
                return lines


def encoding_seconds(size: dict, inputs: np.ndarray, targets: np.ndarray, form: str) -> float:
    """What encoding one step frame of such a pass costs in this process (s), median of 20."""
    config = ModelConfig(
        cell="rnn", input_size=size["D"], hidden_size=size["H"], output_size=size["Q"]
    )
    network = Network(config)
    trace = network.forward(inputs)
    result = network.backward(trace, targets)
    frames = 2 * size["T"]
    times = []
    for _ in range(20):
        started = time.perf_counter()
        if form == "binary":
            count = len(binary_messages(trace, result))
        else:
            count = len([encode_frame(frame) for frame in step_frames(trace, result)])
        times.append((time.perf_counter() - started) / frames)
        assert count == frames
    return statistics.median(times)


def measure(
    url: str, name: str, repeats: int, compression: str | None, form: str, stack: ExitStack
) -> dict:
    size = SIZES[name]
    B, T, D, H, Q = (size[k] for k in ("B", "T", "D", "H", "Q"))
    model_id = create_model(
        url, {"cell": "rnn", "input_size": D, "hidden_size": H, "output_size": Q}
    )
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(B, T, D)) if B > 1 else rng.normal(size=(T, D))
    targets = rng.normal(size=(*inputs.shape[:-1], Q))
    run = {"type": "run", "inputs": inputs.tolist(), "targets": targets.tolist()}
    command = json.dumps(run if form == "json" else {**run, "format": form})
    ws_url = url.replace("http://", "ws://") + f"/api/v1/models/{model_id}/stream"
    frames = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "frames.jsonl"
    frames.write_text("\n".join(capture(ws_url, command)) + "\n")
    bare = stack.enter_context(
        serve(1, "benchmarks.bare_stream:app", {"BARE_STREAM_FRAMES": str(frames)})
    )
    bare_url = bare.replace("http://", "ws://") + "/stream"
    one_run(ws_url, command, T, compression)  # warm-up: the model cache, the code paths
    one_run(bare_url, command, T, compression)
    runs, bare_runs = [], []
    for _ in range(repeats):
        runs.append(one_run(ws_url, command, T, compression))
        bare_runs.append(one_run(bare_url, command, T, compression))
    bare_fps = statistics.median(r["fps"] for r in bare_runs)
    fps = statistics.median(r["fps"] for r in runs)
    return {
        "name": name,
        "compression": compression or "none",
        "format": form,
        "size": size,
        "command_kb": len(command) / 1024,
        "start_ms": statistics.median(r["start_ms"] for r in runs),
        "first_ms": statistics.median(r["first_ms"] for r in runs),
        "fps": fps,
        "bare_fps": bare_fps,
        "frame_bytes": statistics.median(r["frame_bytes"] for r in runs),
        "encoding_s": encoding_seconds(size, inputs, targets, form),
        "runs": len(runs),
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| size | B, T, D, H, Q | compression | format | command | time to first frame (t = 0) | "
        "start frame | frames/s | bare FastAPI frames/s | service ÷ bare | encoding (µs/frame) | "
        "÷ bare, encoding in the stream | bytes/frame | runs |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        s = r["size"]
        streamed = r["fps"]
        if r["format"] == "binary":  # encoded before the start frame: charge it to each frame
            streamed = 1 / (1 / r["fps"] + r["encoding_s"])
        lines.append(
            f"| {r['name']} | {s['B']}, {s['T']}, {s['D']}, {s['H']}, {s['Q']} | "
            f"{r['compression']} | {r['format']} | {r['command_kb']:.0f} KiB | "
            f"**{r['first_ms']:.1f} ms** | {r['start_ms']:.1f} ms | "
            f"**{r['fps']:.0f}** | {r['bare_fps']:.0f} | **{r['fps'] / r['bare_fps']:.2f}×** | "
            f"{1e6 * r['encoding_s']:.1f} | **{streamed / r['bare_fps']:.2f}×** | "
            f"{r['frame_bytes']:.0f} | {r['runs']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--formats", nargs="+", default=["json", "binary"], choices=FORMATS)
    parser.add_argument("--write", metavar="PATH", help="also write the report to this file")
    args = parser.parse_args()
    header = machine()
    with serve(1) as url, ExitStack() as stack:
        rows = [
            measure(url, name, args.repeats, compression, form, stack)
            for name in args.sizes
            for compression in ("deflate", None)
            for form in args.formats
        ]
    report = "\n".join(
        [f"WebSocket run, one worker, {datetime.date.today()}, {header}:", "", table(rows)]
    )
    print(report)
    if args.write:
        _write_section(Path(args.write), "## WebSocket stream", report)


if __name__ == "__main__":
    main()
