"""Passes computed by several threads at once: one malloc arena (app/rnn/malloc.py) against one
arena per thread (glibc's default, up to 8 per core), side by side.

    python -m benchmarks.bench_arenas
    python -m benchmarks.bench_arenas --write benchmarks/SERVICE_RESULTS.md

Each variant runs in a fresh interpreter: `--threads` threads each compute `--passes` LSTM
passes (forward and backward, T = 1000, H = 128, B = 1, float64), as a worker's thread pool does
for concurrent streams and REST runs. The per-thread variant undoes the one-arena setting right
after the engine's import, before any thread allocates. Rounds alternate the variants; the
median of the rounds is reported, and the ratio of the two.
"""

import argparse
import datetime
import json
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.bench_service import _write_section, machine

CHILD = r"""
import ctypes, json, os, sys, threading, time
import numpy as np
from app.rnn import ModelConfig, Network
from app.rnn.malloc import M_ARENA_MAX
variant, threads, passes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if variant == "per-thread":
    ctypes.CDLL(None).mallopt(M_ARENA_MAX, 8 * (os.cpu_count() or 1))
config = ModelConfig(input_size=1, hidden_size=128, output_size=1, cell="lstm")
network = Network(config)
X = np.linspace(0.0, 1.0, 1000).reshape(1, 1000, 1)
targets = np.zeros((1, 1000, 1))

def work():
    for _ in range(passes):
        network.backward(network.forward(X), targets)

work()  # warm
started = time.perf_counter()
pool = [threading.Thread(target=work) for _ in range(threads)]
for thread in pool:
    thread.start()
for thread in pool:
    thread.join()
print(json.dumps(threads * passes / (time.perf_counter() - started)))
"""

VARIANTS = ("one arena", "per-thread")


def run(variant: str, threads: int, passes: int) -> float:
    answer = subprocess.run(
        [sys.executable, "-c", CHILD, variant, str(threads), str(passes)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(json.loads(answer.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--passes", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", metavar="PATH", help="also write the report to this file")
    args = parser.parse_args()
    rates: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    for _ in range(args.rounds):
        for variant in VARIANTS:
            rates[variant].append(run(variant, args.threads, args.passes))
    one, per = (statistics.median(rates[variant]) for variant in VARIANTS)
    text = "\n".join(
        [
            f"{args.threads} threads × {args.passes} LSTM passes (T = 1000, H = 128, forward and "
            f"backward), median of {args.rounds} alternating rounds, {datetime.date.today()}, "
            f"{machine()}:",
            "",
            "| malloc arenas | passes/s | ÷ per-thread |",
            "|---|---:|---:|",
            f"| one (the worker's setting) | {one:.1f} | **{one / per:.2f}×** |",
            f"| one per thread (glibc's default) | {per:.1f} | 1.00× |",
            "",
            "`python -m benchmarks.bench_arenas --write benchmarks/SERVICE_RESULTS.md`",
        ]
    )
    print(text)
    if args.write:
        _write_section(Path(args.write), "## Passes in threads: one malloc arena", text)


if __name__ == "__main__":
    main()
