"""A long trace answered over REST: the server's work from the pass to the last byte, old and new.

For a T = 1000, H = 128 LSTM (D = Q = 1, float64, one sequence), the forward and the backward
answer are built twice per round, in one process, from the same pass:

- reference (the app before `app.web.responses`): the arrays as nested Python lists (`tolist`),
  validated and dumped by the route's pydantic response model, written by the standard `json`
  module (what FastAPI's JSONResponse does), uncompressed;
- now: the arrays handed to orjson natively (`app.web.responses`), as sent to a client that does
  not take a compressed answer, and as the app's compression middleware sends it (its settings,
  `app.web.compression`) to a client that takes zstd (a current browser), brotli or
  gzip: the response run through the middleware as ASGI, its body chunks collected.

Every answer decodes to the same JSON, which says all the reference's answer said (checked each
round; the reference also wrote optional fields as null, and left out the backward pass's
per-step gradient norms, which the answer now carries). The pass itself (the engine's work,
identical in all) is timed apart.
Medians over `--rounds`.

    python -m benchmarks.bench_rest_trace            # writes benchmarks/REST_RESULTS.md
    python -m benchmarks.bench_rest_trace --no-write
"""

import argparse
import asyncio
import gzip
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import brotli
import numpy as np
import zstandard
from pydantic import BaseModel

from app.rnn import ModelConfig
from app.services.limits import Limits
from app.services.models import ModelService
from app.settings import Settings
from app.store import SQLStore
from app.web.compression import COMPRESSION, AnswerCompression
from app.web.responses import FastJSONResponse
from app.web.schemas.models import BackwardResponse, ForwardResponse
from app.web.traces import backward_payload, forward_payload

RESULTS = Path(__file__).with_name("REST_RESULTS.md")


def _lists(value: Any) -> Any:
    """The payload as the reference built it: every array as nested lists."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {key: _lists(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_lists(item) for item in value]
    return value


def reference(payload: dict[str, Any], model: type[BaseModel]) -> bytes:
    content = model.model_validate(_lists(payload)).model_dump(mode="json")
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _holds(answer: Any, reference: Any) -> bool:
    """Whether `answer` says everything `reference` says, the same: the reference's response
    models wrote every optional field (`"C": null` for a cell without a cell state) and dropped
    the layers' `step_grads`, which the answer now leaves out and keeps."""
    if isinstance(reference, dict):
        return isinstance(answer, dict) and all(
            (item is None and key not in answer) or (key in answer and _holds(answer[key], item))
            for key, item in reference.items()
        )
    if isinstance(reference, list):
        return (
            isinstance(answer, list)
            and len(answer) == len(reference)
            and all(map(_holds, answer, reference))
        )
    return bool(answer == reference)


def now(payload: dict[str, Any]) -> bytes:
    """The uncompressed answer: its chunks as the response sends them, joined here to check."""
    return b"".join(FastJSONResponse(payload).chunks)


CODINGS = ("zstd", "br", "gzip")


def decompress(coding: str, body: bytes) -> bytes:
    if coding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if coding == "br":
        return bytes(brotli.decompress(body))
    return gzip.decompress(body)


def now_compressed(payload: dict[str, Any], coding: str) -> bytes:
    """The answer as the app's compression middleware sends it to a client that accepts `coding`."""
    chunks: list[bytes] = []
    app = AnswerCompression(FastJSONResponse(payload), **COMPRESSION)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"accept-encoding", coding.encode())],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = dict(message["headers"])
            assert headers[b"content-encoding"] == coding.encode(), headers
        else:
            chunks.append(message.get("body", b""))

    asyncio.run(app(scope, receive, send))
    return b"".join(chunks)


def _timed(work: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = work()
    return time.perf_counter() - start, value


def run(rounds: int, length: int, hidden: int) -> list[dict[str, Any]]:
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="rnn-explorer-bench-")))
    models = ModelService(
        SQLStore(settings.data_dir, settings.database_url.get_secret_value()),
        settings,
        Limits(settings),
    )
    config = ModelConfig(cell="lstm", input_size=1, hidden_size=hidden, output_size=1)
    model_id = models.create(config, "bench").id
    X = np.sin(np.arange(length) / 10.0)[:, None]
    rows = []
    for name, model in (("forward", ForwardResponse), ("backward", BackwardResponse)):
        keys = ("pass", "reference", "identity", *CODINGS)
        times: dict[str, list[float]] = {key: [] for key in keys}
        sizes: dict[str, int] = {}
        for _ in range(rounds):
            if name == "forward":
                took, run_ = _timed(lambda: models.forward(model_id, X, None, None))
                payload = forward_payload(run_)
            else:
                took, run_ = _timed(lambda: models.backward(model_id, X, X))
                payload = backward_payload(run_)
            times["pass"].append(took)
            took_ref, old = _timed(lambda p=payload, m=model: reference(p, m))
            took_now, new = _timed(lambda p=payload: now(p))
            times["reference"].append(took_ref)
            times["identity"].append(took_now)
            expected = json.loads(new)
            assert _holds(expected, json.loads(old))
            sizes = {"identity": len(new)}
            for coding in CODINGS:
                took_coded, packed = _timed(lambda p=payload, c=coding: now_compressed(p, c))
                times[coding].append(took_coded)
                assert json.loads(decompress(coding, packed)) == expected
                sizes[coding] = len(packed)
        medians = {key: statistics.median(values) for key, values in times.items()}
        rows.append({"answer": name, **medians, "bytes": sizes})
    return rows


def report(rows: list[dict[str, Any]], rounds: int, length: int, hidden: int) -> str:
    load = os.getloadavg()[0]
    lines = [
        "# A long trace over REST: the server's work to the last byte",
        "",
        f"T = {length}, H = {hidden} LSTM, one sequence, float64; {os.cpu_count()} shared cores, "
        f"{platform.machine()}, Python {platform.python_version()}, load average {load:.1f}; "
        f"median of {rounds} rounds. *Reference* (before): nested lists → pydantic response "
        "model → `json`, uncompressed; *now*: arrays → orjson (`app.web.responses`), as sent "
        "uncompressed and through the app's compression middleware to a client that takes zstd (a "
        "current browser), brotli or gzip, each at its fastest level. All decode to the same "
        "JSON, holding all the reference's (which dropped the per-step gradient norms). "
        "*Pass*: the engine's work, the same for all. *Server time*: pass + encoding "
        "(+ compression; gzip by ISA-L, `isal`); the ratios are the reference's ÷ now's.",
        "",
        "| answer | coding | bytes | pass (s) | reference encode (s) | now encode (s) "
        "| server time, reference ÷ now |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        before = r["pass"] + r["reference"]
        for coding in ("identity", *CODINGS):
            took = r[coding]
            lines.append(
                f"| {r['answer']} | {coding} | {r['bytes'][coding] / 1e6:.1f} MB | {r['pass']:.3f} "
                f"| {r['reference']:.3f} | {took:.3f} | **{before / (r['pass'] + took):.1f}×** |"
            )
    lines += ["", "Reproduce: `python -m benchmarks.bench_rest_trace`.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    text = report(run(args.rounds, args.length, args.hidden), args.rounds, args.length, args.hidden)
    print(text)
    if not args.no_write:
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
