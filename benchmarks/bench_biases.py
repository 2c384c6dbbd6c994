"""What PyTorch's two biases (and none) cost the engine, against one summed bias.

    python -m benchmarks.bench_biases                  # prints the table
    python -m benchmarks.bench_biases --write benchmarks/BIAS_RESULTS.md

One training step's gradient, forward + loss + backward (step_grads="norms"), of the same
network stored with bias "one", "two" and "none"; the three run in turn, in a rotating order, so
machine noise hits them alike; medians of the process's CPU time, the warm-up excluded. Set
OPENBLAS_NUM_THREADS=1 for steady numbers on a shared machine.
"""

import argparse
import platform
import statistics
import time

import numpy as np

from app.rnn.config import ModelConfig
from app.rnn.network import Network

CONFIGS = {  # name: (B, T, D, H, Q)
    "S1 sine": (1, 50, 1, 100, 1),
    "S3 char LM": (1, 25, 65, 100, 65),
    "S4 classify": (32, 100, 32, 128, 10),
}
BIASES = ("one", "two", "none")


def _measure(cell: str, sizes: tuple[int, ...], runs: int) -> dict[str, float]:
    B, T, D, H, Q = sizes
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, Q))
    nets = {
        bias: Network(
            ModelConfig(input_size=D, hidden_size=H, output_size=Q, cell=cell, bias=bias)  # type: ignore[arg-type]
        )
        for bias in BIASES
    }
    times: dict[str, list[float]] = {bias: [] for bias in BIASES}
    for run in range(runs + 2):
        order = BIASES[run % 3 :] + BIASES[: run % 3]
        for bias in order:
            net = nets[bias]
            started = time.process_time()
            net.backward(net.forward(X), Y)
            if run >= 2:  # warm-up excluded
                times[bias].append(time.process_time() - started)
    return {bias: statistics.median(values) for bias, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=41)
    parser.add_argument("--write", metavar="PATH")
    args = parser.parse_args()
    lines = [
        "# Two biases and none: the engine's cost against one summed bias",
        "",
        f"- CPU: {platform.processor() or platform.machine()}; NumPy {np.__version__}",
        "- Command: `OPENBLAS_NUM_THREADS=1 python -m benchmarks.bench_biases "
        f"--runs {args.runs} --write benchmarks/BIAS_RESULTS.md`",
        "",
        "Forward + loss + backward per call, float64, median CPU time of interleaved runs.",
        "",
        "| cell | config | B×T×D→H→Q | one ms | two / one | none / one |",
        "|---|---|---|---:|---:|---:|",
    ]
    for cell in ("rnn", "lstm", "gru"):
        for name, sizes in CONFIGS.items():
            medians = _measure(cell, sizes, args.runs)
            B, T, D, H, Q = sizes
            one = medians["one"]
            lines.append(
                f"| {cell} | {name} | {B}×{T}×{D}→{H}→{Q} | {one * 1e3:.3g} | "
                f"{medians['two'] / one:.2f}× | {medians['none'] / one:.2f}× |"
            )
            print(lines[-1], flush=True)
    if args.write:
        with open(args.write, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
