"""Text from a character model: one generate request against one /forward request per character.

The char_lm task's default model (GRU, H = 128, V = 53, float64, untrained weights) continues a
64-character prefix (the text the page shows) by N characters, two ways, in one process through
the app's ASGI interface (starlette's TestClient: no network, so the per-request cost measured is
the server's own; over a real connection each request also pays a round trip):

- per character (the page before `POST .../generate`): one /forward over the prefix, then one
  /forward per character with the one-hot input and the previous answer's final state as h0,
  the next character drawn in the client from the logits;
- one request: `POST /api/v1/models/{id}/generate` with the same prefix and length.

Medians over `--rounds`. The rate limits are raised for the run: by default an owner may make
600 requests a minute, and the per-character way spends N + 1 of them on one continuation.

    python -m benchmarks.bench_generate            # writes benchmarks/GENERATE_RESULTS.md
    python -m benchmarks.bench_generate --no-write
"""

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.tasks import TASKS
from app.tasks.char_lm import vocabulary

RESULTS = Path(__file__).with_name("GENERATE_RESULTS.md")
PREFIX_LENGTH = 64


def per_character(client: TestClient, model_id: str, prefix: str, n: int, chars: list[str]) -> str:
    rng = np.random.default_rng(0)
    eye = np.eye(len(chars))
    url = f"/api/v1/models/{model_id}/forward"
    inputs = eye[[chars.index(c) for c in prefix]].tolist()
    answer = client.post(url, json={"inputs": inputs}).json()
    text = ""
    for _ in range(n):
        logits = np.array(answer["logits"][-1])
        p = np.exp(logits - logits.max())
        k = int(rng.choice(len(chars), p=p / p.sum()))
        text += chars[k]
        body = {"inputs": [eye[k].tolist()], "h0": answer["trace"]["final_state"]["h"]}
        answer = client.post(url, json=body).json()
    return text


def one_request(client: TestClient, model_id: str, prefix: str, n: int) -> str:
    body = {"prefix": prefix, "length": n, "seed": 0}
    answer = client.post(f"/api/v1/models/{model_id}/generate", json=body).json()
    return str(answer["continuation"])


def settings(data_dir: Path) -> Settings:
    """The defaults, but rate limits that the per-character way does not hit (600 requests a
    minute per owner by default: a 200-character continuation took a third of it)."""
    return Settings(
        data_dir=data_dir,
        allowed_hosts="testserver",
        rate_limit="1000000/minute",
        rate_limit_per_address="1000000/minute",
    )


def timed(call: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", default="50,200,1000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    chars = vocabulary().chars
    prefix = ("The ferryman rowed across the harbour at dawn, " * 3)[:PREFIX_LENGTH]
    assert all(c in chars for c in prefix)
    rows = []
    with (
        tempfile.TemporaryDirectory() as data,
        TestClient(create_app(settings(Path(data)))) as client,
    ):
        config = TASKS["char_lm"].default_config
        model_id = client.post("/api/v1/models", json={"config": config}).json()["id"]
        for n in (int(x) for x in args.lengths.split(",")):
            assert len(one_request(client, model_id, prefix, n)) == n
            old = timed(partial(per_character, client, model_id, prefix, n, chars), args.rounds)
            new = timed(partial(one_request, client, model_id, prefix, n), args.rounds)
            rows.append(f"| {n} | {n + 1} | {old:.3f} | {new:.3f} | {old / new:.1f}× |")
            print(rows[-1], flush=True)
    load = os.getloadavg()[0]
    report = "\n".join(
        [
            "# Text generation: one request against one /forward per character",
            "",
            f"char_lm's default model (GRU, H = 128, V = {len(chars)}, float64), a "
            f"{PREFIX_LENGTH}-character prefix; in one process through the ASGI app (no network: "
            f"over a real connection every request also pays a round trip); {os.cpu_count()} "
            f"shared cores, {platform.machine()}, Python {platform.python_version()}, load "
            f"average {load:.1f}; median of {args.rounds} rounds.",
            "",
            "| characters N | requests before | per character (s) | one generate (s) | ratio |",
            "|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "Reproduce: `python -m benchmarks.bench_generate`.",
            "",
        ]
    )
    if not args.no_write:
        RESULTS.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
