"""A long trace answered over REST: the server's work from the pass to the last byte, old and new.

For a T = 1000, H = 128 LSTM (D = Q = 1, float64, one sequence), the forward and the backward
answer are built twice per round, in one process, from the same pass:

- reference (the app before `app.web.responses`): the arrays as nested Python lists (`tolist`),
  validated and dumped by the route's pydantic response model, written by the standard `json`
  module (what FastAPI's JSONResponse does), uncompressed;
- now: the arrays handed to orjson natively (`app.web.responses`), as sent to a client that does
  not take gzip, and gzip-compressed at level 1 (the app's GZipMiddleware, for a browser).

Both answers decode to the same JSON (checked each round). The pass itself (the engine's work,
identical in both) is timed apart. Medians over `--rounds`.

    python -m benchmarks.bench_rest_trace            # writes benchmarks/REST_RESULTS.md
    python -m benchmarks.bench_rest_trace --no-write
"""

import argparse
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

import numpy as np
from pydantic import BaseModel

from app.rnn import ModelConfig
from app.services.limits import Limits
from app.services.models import ModelService
from app.settings import Settings
from app.store import SQLStore
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


def now(payload: dict[str, Any]) -> bytes:
    return bytes(FastJSONResponse(payload).body)


def now_gzip(payload: dict[str, Any]) -> bytes:
    return gzip.compress(FastJSONResponse(payload).body, compresslevel=1)


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
        times: dict[str, list[float]] = {"pass": [], "reference": [], "now": [], "gzip": []}
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
            took_gzip, packed = _timed(lambda p=payload: now_gzip(p))
            times["reference"].append(took_ref)
            times["now"].append(took_now)
            times["gzip"].append(took_gzip)
            assert json.loads(old) == json.loads(new) == json.loads(gzip.decompress(packed))
            sizes = {"json_bytes": len(new), "gzip_bytes": len(packed)}
        medians = {key: statistics.median(values) for key, values in times.items()}
        rows.append({"answer": name, **medians, **sizes})
    return rows


def report(rows: list[dict[str, Any]], rounds: int, length: int, hidden: int) -> str:
    load = os.getloadavg()[0]
    lines = [
        "# A long trace over REST: the server's work to the last byte",
        "",
        f"T = {length}, H = {hidden} LSTM, one sequence, float64; {os.cpu_count()} shared cores, "
        f"{platform.machine()}, Python {platform.python_version()}, load average {load:.1f}; "
        f"median of {rounds} rounds. *Reference* (before): nested lists → pydantic response "
        "model → `json`; *now*: arrays → orjson (`app.web.responses`), and the same gzip-"
        "compressed at level 1 (the app's GZipMiddleware, for a browser). All decode to the same "
        "JSON. *Pass*: the engine's work, the same for all.",
        "",
        "| answer | JSON | gzip | pass (s) | reference encode (s) | now encode (s) "
        "| now + gzip (s) | pass + encode, reference ÷ now | … ÷ now + gzip |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        plain = (r["pass"] + r["reference"]) / (r["pass"] + r["now"])
        packed = (r["pass"] + r["reference"]) / (r["pass"] + r["gzip"])
        lines.append(
            f"| {r['answer']} | {r['json_bytes'] / 1e6:.1f} MB | {r['gzip_bytes'] / 1e6:.1f} MB "
            f"| {r['pass']:.3f} | {r['reference']:.3f} | {r['now']:.3f} | {r['gzip']:.3f} "
            f"| {plain:.1f}× | {packed:.1f}× |"
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
