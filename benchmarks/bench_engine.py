"""Speed of the engine against PyTorch (CPU) and a naive per-timestep NumPy implementation.

    python -m benchmarks.bench_engine                 # all rows, 1 thread, writes no file
    python -m benchmarks.bench_engine --write benchmarks/RESULTS.md
    python -m benchmarks.bench_engine --threads 2 --cells lstm --configs S4 S6 --dtypes float32

The measured operation is one training step's gradient: forward + loss + backward. The engine
runs `Network.forward` + `Network.backward` with its per-timestep trace (step_grads="norms", the
default); PyTorch runs nn.RNN/LSTM/GRU + nn.Linear, the loss and `loss.backward()`; the naive
column runs benchmarks/naive.py. All three run in one process on the same weights and data, one
call of each in turn (in a rotating order) so that machine noise hits them alike; the table
quotes medians with the warm-up excluded.
"""

import argparse
import contextlib
import os
import sys

# The BLAS libraries read their thread counts when they are loaded, so the environment is set
# from the command line before numpy and torch are imported.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads for both")
    parser.add_argument("--cells", nargs="+", default=["rnn", "lstm", "gru"])
    parser.add_argument("--configs", nargs="+", default=["S1", "S2", "S3", "S4", "S5", "S6"])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument(
        "--budget", type=float, default=1.5, help="seconds of timed runs per row (all columns)"
    )
    parser.add_argument("--min-runs", type=int, default=7)
    parser.add_argument("--no-naive", action="store_true", help="skip the naive column")
    parser.add_argument(
        "--products",
        action="store_true",
        help="also time the engine's matrix products alone (its np.dot and np.matmul calls), "
        "in extra engine runs of the same rotation",
    )
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall: elapsed time; cpu: this process's CPU time, steadier on a shared machine "
        "(only with --threads 1, where the two measure the same work)",
    )
    parser.add_argument(
        "--faults",
        action="store_true",
        help="also print the engine's page faults per call (ru_minflt) after each row",
    )
    parser.add_argument("--write", metavar="PATH", help="also write the report to this file")
    return parser.parse_args(argv)


ARGS = _parse_args(sys.argv[1:]) if __name__ == "__main__" else None
if ARGS is not None:
    for _variable in _THREAD_VARIABLES:
        os.environ[_variable] = str(ARGS.threads)

import datetime  # noqa: E402
import gc  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from app.rnn import weights  # noqa: E402
from app.rnn.config import ModelConfig  # noqa: E402
from app.rnn.network import Network  # noqa: E402
from benchmarks import naive  # noqa: E402


@dataclass(frozen=True)
class Workload:
    """One benchmark configuration: sizes, and the task's head and loss."""

    name: str
    task: str
    B: int
    T: int
    D: int
    H: int
    Q: int
    head: str
    loss: str
    output_mode: str = "sequence"


WORKLOADS = {
    w.name: w
    for w in (
        Workload("S1", "sine", 1, 50, 1, 100, 1, "identity", "mse"),
        Workload("S2", "binary add", 1, 8, 2, 16, 1, "sigmoid", "bce"),
        Workload("S3", "char LM", 1, 25, 65, 100, 65, "softmax", "cross_entropy"),
        Workload("S4", "classify", 32, 100, 32, 128, 10, "softmax", "cross_entropy", "last"),
        Workload("S5", "long seq", 1, 1000, 8, 256, 1, "identity", "mse"),
        Workload("S6", "batch LM", 64, 50, 128, 512, 128, "softmax", "cross_entropy"),
    )
}


def target_ratio(cell: str, workload: str, dtype: str) -> float:
    """The engine/PyTorch ratio each row must stay at or under."""
    if cell == "lstm":
        if dtype == "float64":
            return 1.0
        return {"S4": 2.0, "S5": 2.0, "S6": 1.5}.get(workload, 1.0)
    return 1.0 if workload in ("S4", "S6") else 0.5


@dataclass
class Row:
    cell: str
    workload: Workload
    dtype: str
    engine_ms: float
    torch_ms: float
    naive_ms: float | None
    runs: int
    engine_faults: float
    products_ms: float | None = None

    @property
    def ratio(self) -> float:
        return self.engine_ms / self.torch_ms

    @property
    def target(self) -> float:
        return target_ratio(self.cell, self.workload.name, self.dtype)


class _TorchModel(torch.nn.Module):
    """nn.RNN/LSTM/GRU as `rnn` and nn.Linear as `head`: the names the weight files use."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        recurrent = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cfg.cell]
        self.rnn: torch.nn.Module = recurrent(cfg.input_size, cfg.hidden_size, batch_first=True)
        self.head = torch.nn.Linear(cfg.hidden_size, cfg.output_size)


def _torch_model(cfg: ModelConfig, dtype: torch.dtype) -> _TorchModel:
    return _TorchModel(cfg).to(dtype)


def _targets(w: Workload, rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
    steps = (w.B, w.T) if w.output_mode == "sequence" else (w.B,)
    if w.loss == "cross_entropy":
        return rng.integers(0, w.Q, size=steps)
    if w.loss == "bce":
        return rng.integers(0, 2, size=(*steps, w.Q)).astype(dtype)
    return rng.standard_normal((*steps, w.Q)).astype(dtype)


def _torch_loss(w: Workload, O: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    if w.loss == "cross_entropy":
        return torch.nn.functional.cross_entropy(O.reshape(-1, w.Q), targets.reshape(-1))
    if w.loss == "bce":
        return torch.nn.functional.binary_cross_entropy_with_logits(O, targets)
    return torch.nn.functional.mse_loss(O, targets)


def _make_steps(
    cell: str, w: Workload, dtype: str
) -> tuple[dict[str, Callable[[], float]], ModelConfig]:
    """The three timed callables of one row, each returning its loss, on shared weights/data."""
    cfg = ModelConfig(
        input_size=w.D,
        hidden_size=w.H,
        output_size=w.Q,
        cell=cell,  # type: ignore[arg-type]
        head=w.head,  # type: ignore[arg-type]
        loss=w.loss,  # type: ignore[arg-type]
        output_mode=w.output_mode,  # type: ignore[arg-type]
        dtype=dtype,  # type: ignore[arg-type]
    )
    torch.manual_seed(0)
    model = _torch_model(cfg, getattr(torch, dtype))
    state = {name: value.detach().numpy() for name, value in model.state_dict().items()}
    net = Network(cfg, weights.from_pytorch(cfg, state))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((w.B, w.T, w.D)).astype(dtype)
    targets = _targets(w, rng, np.dtype(dtype))
    X_torch, targets_torch = torch.from_numpy(X), torch.from_numpy(targets)

    def engine() -> float:
        trace = net.forward(X)
        return net.backward(trace, targets).loss

    def pytorch() -> float:
        model.zero_grad(set_to_none=True)
        out, _ = model.rnn(X_torch)
        if w.output_mode == "last":
            out = out[:, -1]
        loss = _torch_loss(w, model.head(out), targets_torch)
        loss.backward()
        return float(loss.item())

    def naive_step() -> float:
        value, _ = naive.forward_backward(cell, net.params, X, targets, w.loss, w.output_mode)
        return value

    return {"engine": engine, "torch": pytorch, "naive": naive_step}, cfg


@contextlib.contextmanager
def _products_timed(clock: Callable[[], float]) -> Iterator[list[float]]:
    """np.dot and np.matmul replaced by versions that add the time of each call to the one
    element of the yielded list. The engine's loops bind NumPy's functions to local names at
    each call (app/rnn/fast.py), so they pick these up; its `@` products (the Gram matrices of
    the per-step norms, and one (B, H) product a layer) stay outside the sum."""
    spent = [0.0]
    dot, matmul = np.dot, np.matmul

    def timed(function: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        def call(*args: object, **kwargs: object) -> np.ndarray:
            begin = clock()
            try:
                return function(*args, **kwargs)
            finally:
                spent[0] += clock() - begin

        return call

    np.dot, np.matmul = timed(dot), timed(matmul)  # type: ignore[assignment]
    try:
        yield spent
    finally:
        np.dot, np.matmul = dot, matmul  # type: ignore[assignment]


def measure(
    cell: str,
    w: Workload,
    dtype: str,
    budget: float,
    min_runs: int,
    with_naive: bool,
    clock: Callable[[], float] = time.perf_counter,
    with_products: bool = False,
) -> Row:
    steps, _ = _make_steps(cell, w, dtype)
    if not with_naive:
        del steps["naive"]
    products: list[float] = []  # seconds in np.dot/np.matmul per engine call

    def engine_products() -> float:
        with _products_timed(clock) as spent:
            loss = steps["engine"]()
        products.append(spent[0])
        return loss

    if with_products:
        steps["products"] = engine_products
    losses = {name: step() for name, step in steps.items()}  # warm-up, and a sanity check
    tolerance = 1e-3 if dtype == "float32" else 1e-9
    for name, value in losses.items():
        if abs(value - losses["torch"]) > tolerance * max(1.0, abs(losses["torch"])):
            raise RuntimeError(f"{cell} {w.name} {dtype}: {name} loss {value} ≠ {losses['torch']}")
    times: dict[str, list[float]] = {name: [] for name in steps}
    faults: list[int] = []  # the engine's minor page faults per call
    names = list(steps)
    gc.collect()
    started = time.perf_counter()
    run = 0
    while run < min_runs or time.perf_counter() - started < budget:
        order = names[run % len(names) :] + names[: run % len(names)]
        for name in order:
            faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            begin = clock()
            steps[name]()
            times[name].append(clock() - begin)
            if name == "engine":
                faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before)
        run += 1
        if run >= 1000:
            break

    def median_ms(name: str) -> float:
        return 1e3 * statistics.median(times[name])

    return Row(
        cell,
        w,
        dtype,
        median_ms("engine"),
        median_ms("torch"),
        median_ms("naive") if with_naive else None,
        run,
        statistics.median(faults),
        1e3 * statistics.median(products[1:]) if with_products else None,
    )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _numpy_blas() -> str:
    """The BLAS NumPy was built against (np.show_config) and, when threadpoolctl is installed,
    the kernel set OpenBLAS picked at load time for this CPU (its "architecture")."""
    config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    built = f"{config['name']} {config['version']}"
    try:  # optional: only this report uses it
        import threadpoolctl  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        return built + "; install threadpoolctl to see the kernel in use"
    loaded = [
        f"{info['internal_api']} {info['version']} kernel {info.get('architecture', '?')} "
        f"({info['threading_layer']} threads: {info['num_threads']})"
        for info in threadpoolctl.threadpool_info()
        if info["user_api"] == "blas" and "numpy" in info["filepath"]
    ]
    return built + ("; loaded: " + ", ".join(loaded) if loaded else "")


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    wanted = ("avx", "avx2", "fma", "avx512f")
                    return " ".join(flag for flag in wanted if flag in flags) or "none of AVX"
    except OSError:
        pass
    return "unknown"


def environment(threads: int) -> list[str]:
    return [
        f"- Date: {datetime.date.today().isoformat()}",
        f"- CPU: {_cpu_model()}, {os.cpu_count()} logical CPUs, SIMD: {_cpu_flags()}",
        f"- Python {platform.python_version()}, NumPy {np.__version__} ({_numpy_blas()}), "
        f"PyTorch {torch.__version__} (MKL {torch.backends.mkl.is_available()}, "
        f"oneDNN {torch.backends.mkldnn.is_available()})",
        f"- Threads: {threads} for both (OMP/OPENBLAS/MKL_NUM_THREADS, torch.set_num_threads); "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}",
    ]


def table(rows: list[Row]) -> list[str]:
    with_products = any(r.products_ms is not None for r in rows)
    lines = [
        "| cell | config | B×T×D→H→Q | dtype | engine ms | PyTorch ms | naive ms "
        "| engine/PyTorch | target | met | naive/engine |"
        + (" engine's products ms | products/PyTorch |" if with_products else ""),
        "|---|---|---|---|---:|---:|---:|---:|---:|:-:|---:|"
        + ("---:|---:|" if with_products else ""),
    ]
    for r in rows:
        w = r.workload
        naive_ms = "–" if r.naive_ms is None else f"{r.naive_ms:.3g}"
        speedup = "–" if r.naive_ms is None else f"{r.naive_ms / r.engine_ms:.1f}×"
        line = (
            f"| {r.cell} | {w.name} {w.task} | {w.B}×{w.T}×{w.D}→{w.H}→{w.Q} | {r.dtype} "
            f"| {r.engine_ms:.3g} | {r.torch_ms:.3g} | {naive_ms} | {r.ratio:.2f}× "
            f"| ≤ {r.target:.1f}× | {'yes' if r.ratio <= r.target else 'NO'} | {speedup} |"
        )
        if with_products:
            products = r.products_ms
            line += (
                " – | – |"
                if products is None
                else f" {products:.3g} | {products / r.torch_ms:.2f}× |"
            )
        lines.append(line)
    return lines


def write_report(path: str, lines: list[str]) -> None:
    """Write the measured part of `path`, keeping everything from its "## Notes" heading on."""
    notes = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as old:
            text = old.read()
        if "\n## Notes" in text:
            notes = text[text.index("\n## Notes") :]
    with open(path, "w", encoding="utf-8") as report:
        report.write("\n".join(lines) + "\n" + notes)


def main(args: argparse.Namespace) -> None:
    if args.clock == "cpu" and args.threads != 1:
        raise SystemExit("--clock cpu sums the CPU time of every thread: use it with --threads 1")
    torch.set_num_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    rows = []
    for dtype in args.dtypes:
        for name in args.configs:
            for cell in args.cells:
                row = measure(
                    cell,
                    WORKLOADS[name],
                    dtype,
                    args.budget,
                    args.min_runs,
                    not args.no_naive,
                    clock,
                    args.products,
                )
                rows.append(row)
                print(table([row])[-1], flush=True)
                if args.faults:
                    print(f"  engine page faults per call: {row.engine_faults:.0f}", flush=True)
    command = "python -m benchmarks.bench_engine " + " ".join(sys.argv[1:])
    lines = [
        "# Engine speed: NumPy engine vs PyTorch (CPU) vs a naive NumPy loop",
        "",
        *environment(args.threads),
        f"- Command: `{command.strip()}`",
        "",
        "Forward + loss + backward per call, median of interleaved runs (warm-up excluded), "
        + ("CPU time of the process" if args.clock == "cpu" else "wall-clock time")
        + ". "
        'The engine\'s time includes its per-timestep trace (step_grads="norms"). '
        "S4 classifies from the last step; the others have an output at every step.",
        "",
        *table(rows),
    ]
    print()
    print("\n".join(lines))
    if args.write:
        write_report(args.write, lines)


if __name__ == "__main__":
    assert ARGS is not None
    main(ARGS)
