"""Wall time to solve binary addition and sine: this engine next to PyTorch, trained the same way.

    python -m benchmarks.train_tasks                       # prints the table
    python -m benchmarks.train_tasks --write benchmarks/TRAIN_RESULTS.md --repeats 5

Both sides train each task's default model with its default training config (optimiser, lr,
batch size, clipping, report interval, early-stop target): the engine through `TrainingSession`,
exactly as the explorer runs it; PyTorch as nn.RNN + nn.Linear with torch.optim and
clip_grad_norm_, started from the same initial weights, fed the very same batches (drawn from the
task's data with the same seeded generator) and scored on the same validation data with the same
metric code at the same steps. Both in float64 (the engine's default), one thread each. The clock
runs from the first update to the early stop, evaluations included; the runs alternate so that
machine noise hits both alike, and the table quotes medians.
"""

import argparse
import os
import sys

# BLAS and OpenMP read their thread counts when they load: one thread for both sides.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import datetime  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from types import SimpleNamespace  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from app.rnn import ModelConfig, Network  # noqa: E402
from app.rnn.weights import to_pytorch  # noqa: E402
from app.tasks import TASKS  # noqa: E402
from app.training import TrainingConfig, TrainingSession  # noqa: E402

TASK_NAMES = ("binary_addition", "sine")


@dataclass
class Run:
    seconds: float
    steps: int
    solved: bool
    metric: float
    evaluating: float  # of `seconds`, spent scoring the validation data


def _timed(evaluate: Callable[[Any], dict[str, Any]], spent: list[float]) -> Callable:
    """`evaluate`, adding the seconds of every call to spent[0]."""

    def timed(net: Any) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            return evaluate(net)
        finally:
            spent[0] += time.perf_counter() - started

    return timed


class _TorchModel(torch.nn.Module):
    """nn.RNN/LSTM/GRU + nn.Linear: the same network as `ModelConfig` describes."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        recurrent = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[config.cell]
        options = {"nonlinearity": config.nonlinearity} if config.cell == "rnn" else {}
        self.rnn = recurrent(
            config.input_size,
            config.hidden_size,
            num_layers=config.num_layers,
            batch_first=True,
            **options,
        )
        self.head = torch.nn.Linear(config.hidden_size, config.output_size)
        self.config = config
        # The engine has one bias b_h = bias_ih + bias_hh; training both of torch's would move
        # their sum twice as fast. bias_hh stays at zero, except the GRU's b_hn part.
        for name, value in self.rnn.named_parameters():
            if name.startswith("bias_hh"):
                if config.cell == "gru":
                    value.register_hook(_keep_only_b_hn(config.hidden_size))
                else:
                    value.requires_grad_(False)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """X (B, T, D) → logits O, (B, T, Q) or (B, Q) for output_mode "last"."""
        H, _ = self.rnn(X)
        if self.config.output_mode == "last":
            H = H[:, -1]
        return self.head(H)


def _keep_only_b_hn(hidden_size: int) -> Callable[[torch.Tensor], torch.Tensor]:
    def hook(grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        grad[: 2 * hidden_size] = 0.0
        return grad

    return hook


def _torch_loss(config: ModelConfig, O: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    if config.loss == "bce":
        return torch.nn.functional.binary_cross_entropy_with_logits(O, targets)
    if config.loss == "cross_entropy":
        return torch.nn.functional.cross_entropy(O.reshape(-1, O.shape[-1]), targets.reshape(-1))
    Y = torch.sigmoid(O) if config.head == "sigmoid" else O
    return torch.nn.functional.mse_loss(Y, targets)


def _head(config: ModelConfig, O: torch.Tensor) -> torch.Tensor:
    if config.head == "sigmoid":
        return torch.sigmoid(O)
    if config.head == "softmax":
        return torch.softmax(O, dim=-1)
    return O


class _Evaluated:
    """Lets the task's own `evaluate(net)` score the torch model: `forward(X).Y`."""

    def __init__(self, model: _TorchModel) -> None:
        self.model = model

    def forward(self, X: np.ndarray) -> SimpleNamespace:
        with torch.no_grad():
            O = self.model(torch.from_numpy(np.ascontiguousarray(X)))
            return SimpleNamespace(Y=_head(self.model.config, O).numpy())


def _torch_optimizer(
    name: str, params: list[torch.nn.Parameter], lr: float
) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.Adagrad(params, lr=lr)


def run_engine(task: str) -> Run:
    config = TrainingConfig.for_task(task)
    session = TrainingSession(config)
    spent = [0.0]
    session.data.evaluate = _timed(session.data.evaluate, spent)  # type: ignore[method-assign]
    started = time.perf_counter()
    status = session.run()
    seconds = time.perf_counter() - started
    assert config.early_stop is not None and session.latest is not None
    metric = float(session.latest["metrics"][config.early_stop.metric])
    return Run(seconds, session.step_count, status == "early_stopped", metric, spent[0])


def run_torch(task: str) -> Run:
    config = TrainingConfig.for_task(task)
    model_config = ModelConfig.from_dict(TASKS[task].model_config(config.task_params))
    model = _TorchModel(model_config).to(torch.float64)
    initial = to_pytorch(model_config, Network(model_config).params)  # the engine's first weights
    model.load_state_dict({name: torch.from_numpy(value) for name, value in initial.items()})
    trainable = [value for value in model.parameters() if value.requires_grad]
    optimizer = _torch_optimizer(config.optimizer, trainable, config.lr)
    data = TASKS[task].make_data(config.task_params, config.seed, config.validation_fraction)
    rng = np.random.default_rng(config.seed)  # the session's batch order
    early = config.early_stop
    assert early is not None
    evaluated = _Evaluated(model)
    spent = [0.0]
    evaluate = _timed(data.evaluate, spent)
    metrics: dict[str, float] = {}
    started = time.perf_counter()
    step = 0
    while step < config.steps:
        batch = data.batch(rng, config.batch_size)
        X, targets = torch.from_numpy(batch.inputs), torch.from_numpy(batch.targets)
        optimizer.zero_grad(set_to_none=True)
        loss = _torch_loss(model_config, model(X), targets)
        loss.backward()
        if config.clip is not None:
            torch.nn.utils.clip_grad_norm_(trainable, config.clip)
        optimizer.step()
        step += 1
        if step % config.report_every == 0 or step == config.steps:
            metrics = evaluate(evaluated)
            if early.reached(metrics):
                break
    seconds = time.perf_counter() - started
    return Run(seconds, step, early.reached(metrics), float(metrics[early.metric]), spent[0])


def report(results: dict[str, dict[str, list[Run]]], repeats: int) -> str:
    lines = [
        "# Training to solve a task: this engine next to PyTorch",
        "",
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC with "
        f"`python -m benchmarks.train_tasks --repeats {repeats} --write "
        "benchmarks/TRAIN_RESULTS.md` on "
        f"{platform.machine()} / Python {platform.python_version()} / NumPy {np.__version__} / "
        f"PyTorch {torch.__version__}, float64, one thread each; medians of {repeats} "
        f"alternating runs; 1-minute load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores (a shared machine: compare the ratios, not the seconds).",
        "",
        "Each task's default model and training config (see `app/tasks`), the same initial "
        "weights, batches, validation data and early-stop test on both sides; the clock covers "
        "every update and every evaluation until the early stop.",
        "",
        "| task | model | solved when | steps (engine / PyTorch) | engine s | PyTorch s "
        "| engine / PyTorch | updates only: engine s | PyTorch s | engine / PyTorch |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for task, runs in results.items():
        config = TrainingConfig.for_task(task)
        model = TASKS[task].model_config()
        early = config.early_stop
        assert early is not None
        sign = "≥" if early.mode == "max" else "≤"
        engine_s = statistics.median(r.seconds for r in runs["engine"])
        torch_s = statistics.median(r.seconds for r in runs["torch"])
        engine_u = statistics.median(r.seconds - r.evaluating for r in runs["engine"])
        torch_u = statistics.median(r.seconds - r.evaluating for r in runs["torch"])
        engine_steps = sorted({r.steps for r in runs["engine"]})
        torch_steps = sorted({r.steps for r in runs["torch"]})
        solved = all(r.solved for side in runs.values() for r in side)
        lines.append(
            f"| {TASKS[task].title} | {model['cell']} {model['input_size']}→"
            f"{model['hidden_size']}→{model['output_size']}, {config.optimizer} lr {config.lr}, "
            f"batch {config.batch_size} | validation {early.metric} {sign} {early.target:g}"
            f"{'' if solved else ' (NOT reached)'} | {'/'.join(map(str, engine_steps))} / "
            f"{'/'.join(map(str, torch_steps))} | {engine_s:.2f} | {torch_s:.2f} | "
            f"{engine_s / torch_s:.2f} | {engine_u:.2f} | {torch_u:.2f} | "
            f"{engine_u / torch_u:.2f} |"
        )
    lines += [
        "",
        "Both sides compute the same float64 arithmetic from the same start, so they stop at "
        'the same step with the same metric; the ratios compare cost alone. "Updates only" '
        "leaves out the time spent scoring the validation data (batches, forward, backward, "
        "clipping and the optimiser step remain).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASK_NAMES))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", metavar="PATH", help="also write the report to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    results: dict[str, dict[str, list[Run]]] = {}
    for task in args.tasks:
        runs: dict[str, list[Run]] = {"engine": [], "torch": []}
        run_torch(task), run_engine(task)  # warm-up: imports, allocator, caches
        for repeat in range(args.repeats):
            order = ("engine", "torch") if repeat % 2 == 0 else ("torch", "engine")
            for side in order:
                run = run_engine(task) if side == "engine" else run_torch(task)
                runs[side].append(run)
                print(
                    f"{task:16s} {side:6s} steps={run.steps:5d} solved={run.solved!s:5s} "
                    f"{run.seconds:7.3f}s {run.metric:.3g}",
                    flush=True,
                )
        results[task] = runs
    text = report(results, args.repeats)
    print(text)
    if args.write:
        with open(args.write, "w", encoding="utf-8") as handle:
            handle.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
