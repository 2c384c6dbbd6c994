"""NumPy's BLAS against PyTorch's on the matrix products of the engine benchmark's batched rows.

    python -m benchmarks.bench_blas

One thread each; each product timed by CPU time in turn with the other library's (interleaved),
median of the runs. The shapes are the S4 and S6 rows' recurrent, input and weight-gradient
products (benchmarks/bench_engine.py), in float32 and float64.
"""

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

# (M, K, N): the products of one pass at S6 (B = 64, T = 50, D = 128, H = 512, Q = 128) and S4
# (B = 32, T = 100, D = 32, H = 128): a step's H_{t-1} W_hh, the LSTM's four gates of a step,
# dW_hh = Hᵀ dA over all steps, the input projection and the head over all steps.
SHAPES = [
    (64, 512, 512),
    (64, 512, 2048),
    (512, 3200, 512),
    (3200, 128, 512),
    (3200, 512, 128),
    (32, 128, 128),
    (32, 128, 512),
    (128, 3200, 512),
]


def ratio(dtype: str, M: int, K: int, N: int, rng: np.random.Generator) -> tuple[float, float]:
    """Median CPU µs of one (M, K)·(K, N) product: NumPy's, PyTorch's (interleaved)."""
    A = rng.standard_normal((M, K)).astype(dtype)
    B = rng.standard_normal((K, N)).astype(dtype)
    C = np.empty((M, N), dtype)
    A_t, B_t, C_t = torch.from_numpy(A), torch.from_numpy(B), torch.from_numpy(C.copy())
    runs = {
        "numpy": lambda: np.matmul(A, B, out=C),
        "torch": lambda: torch.mm(A_t, B_t, out=C_t),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(max(21, int(4e8 / (M * K * N)))):
        for name, run in runs.items():
            begin = time.process_time()
            run()
            times[name].append(time.process_time() - begin)
    return 1e6 * statistics.median(times["numpy"][1:]), 1e6 * statistics.median(times["torch"][1:])


def main() -> None:
    torch.set_num_threads(1)
    print("| dtype | M×K×N | NumPy µs | PyTorch µs | NumPy/PyTorch |")
    print("|---|---|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for dtype in ("float32", "float64"):
        for M, K, N in SHAPES:
            numpy_us, torch_us = ratio(dtype, M, K, N, rng)
            shape = f"{M}×{K}×{N}"
            share = numpy_us / torch_us
            print(f"| {dtype} | {shape} | {numpy_us:.0f} | {torch_us:.0f} | {share:.2f}× |")


if __name__ == "__main__":
    main()
