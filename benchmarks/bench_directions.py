"""What a reverse direction and per-sequence lengths cost: forward + loss + backward of a
bidirectional model, and of a batch with `lengths`, each ÷ the same unidirectional full-length
pass, interleaved in one process (CPU time, medians).

    python -m benchmarks.bench_directions

`--uni-only` times the unidirectional full-length pass alone, with any version of the engine
(one without bidirectional models too): run it from this checkout as a script with PYTHONPATH
set to each version's tree, in turn, to compare two versions (benchmarks/DIRECTIONS_RESULTS.md).
"""

import sys
import time

import numpy as np

from app.rnn import ModelConfig, Network

SIZES = [(1, 50, 1, 100, 1), (1, 8, 2, 16, 1), (8, 30, 4, 32, 3)]  # B, T, D, H, Q


def median_ms(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return float(np.median(times)) * 1e3


def uni_only() -> None:
    rng = np.random.default_rng(0)
    for cell in ("rnn", "lstm", "gru"):
        for B, T, D, H, Q in SIZES:
            net = Network(ModelConfig(input_size=D, hidden_size=H, output_size=Q, cell=cell))
            X, Y = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, Q))
            for _ in range(20):
                net.backward(net.forward(X), Y)
            ms = median_ms(lambda: net.backward(net.forward(X), Y), 300)  # noqa: B023
            print(f"{cell} {B}×{T}×{D}→{H}→{Q} {ms:.4f} ms")


def main() -> None:
    if "--uni-only" in sys.argv:
        uni_only()
        return
    rng = np.random.default_rng(0)
    print("| cell | B×T×D→H→Q | unidirectional ms | bidirectional ÷ uni | lengths ÷ uni |")
    print("|---|---|---:|---:|---:|")
    for cell in ("rnn", "lstm", "gru"):
        for B, T, D, H, Q in SIZES:
            sizes = {"input_size": D, "hidden_size": H, "output_size": Q, "cell": cell}
            uni = Network(ModelConfig(**sizes))
            bi = Network(ModelConfig(**sizes, bidirectional=True))
            X, Y = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, Q))
            lengths = np.maximum(1, T - np.arange(B) % T)
            lengths[0] = max(1, T - 1)  # at least one sequence shorter than T: masked
            # each run is called within this iteration only
            runs = {
                "uni": lambda: uni.backward(uni.forward(X), Y),  # noqa: B023
                "bi": lambda: bi.backward(bi.forward(X), Y),  # noqa: B023
                "lengths": lambda: uni.backward(uni.forward(X, lengths=lengths), Y),  # noqa: B023
            }
            for run in runs.values():
                for _ in range(10):
                    run()
            found: dict[str, list[float]] = {name: [] for name in runs}
            for _ in range(15):
                for name, run in runs.items():
                    found[name].append(median_ms(run, 10))
            ms = {name: float(np.median(values)) for name, values in found.items()}
            print(
                f"| {cell} | {B}×{T}×{D}→{H}→{Q} | {ms['uni']:.3f} | "
                f"{ms['bi'] / ms['uni']:.2f}× | {ms['lengths'] / ms['uni']:.2f}× |"
            )


if __name__ == "__main__":
    main()
