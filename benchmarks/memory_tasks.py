"""Where each cell gives out: the copy task and the adding problem at growing lengths.

    python -m benchmarks.memory_tasks                      # T = 10 20 50 100, writes no file
    python -m benchmarks.memory_tasks --write benchmarks/MEMORY_RESULTS.md
    python -m benchmarks.memory_tasks --lengths 10 20 --steps 500 --cells rnn lstm

Every cell (vanilla tanh RNN, GRU, LSTM) gets the same training budget on every task and length:
the same hidden size, optimiser, learning rate, clipping, batch size, seed and at most `--steps`
updates, through the same `TrainingSession` the explorer uses. A run stops early once the task
counts as solved (copy: every recalled symbol right on ≥ 99 % of the validation sequences;
adding: validation MSE ≤ 1 % of the targets' variance), so the table also says how many steps
that took. Validation uses 512 sequences from a generator seeded apart from the training one.
"""

import argparse
import os
import sys

# BLAS reads its thread count when it loads: one thread, set before numpy is imported.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import datetime  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402

from app.rnn import ModelConfig, Network  # noqa: E402
from app.tasks import TASKS  # noqa: E402
from app.training import TrainingConfig, TrainingSession  # noqa: E402

NOTES_MARKER = "<!-- notes: kept when the tables are rewritten -->"
CELL_NAMES = {"rnn": "vanilla tanh RNN", "gru": "GRU", "lstm": "LSTM"}
SOLVED = {
    "copy": {"metric": "sequence_accuracy", "target": 0.99, "mode": "max"},
    "adding": {"metric": "relative_mse", "target": 0.01, "mode": "min"},
}


@dataclass
class Cell:
    task: str
    length: int
    cell: str
    metrics: dict[str, float]
    steps: int
    solved: bool
    seconds: float


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["copy", "adding"])
    parser.add_argument("--lengths", nargs="+", type=int, default=[10, 20, 50, 100])
    parser.add_argument("--cells", nargs="+", default=["rnn", "gru", "lstm"])
    parser.add_argument("--steps", type=int, default=2500, help="the budget: updates per run")
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--lstm-forget-bias",
        type=float,
        default=None,
        help="start the LSTM's forget-gate bias at this value (default: PyTorch's init)",
    )
    parser.add_argument("--write", metavar="PATH", help="also write the report to this file")
    return parser.parse_args(argv)


def train_one(task: str, length: int, cell: str, args: argparse.Namespace) -> Cell:
    params = {"length": length}
    config = TrainingConfig.for_task(
        task,
        params,
        optimizer="adam",
        lr=args.lr,
        batch_size=args.batch_size,
        clip=args.clip,
        steps=args.steps,
        report_every=100,
        seed=args.seed,
        early_stop=SOLVED[task],
    )
    model = {
        **TASKS[task].model_config(params),
        "cell": cell,
        "hidden_size": args.hidden,
        "nonlinearity": "tanh",
        "seed": args.seed,
    }
    weights = None
    if cell == "lstm" and args.lstm_forget_bias is not None:
        # Gate order i, f, g, o: the forget gate's bias is the second block of b_h.
        weights = Network(ModelConfig.from_dict(model)).params
        weights["layer0.b_h"][args.hidden : 2 * args.hidden] = args.lstm_forget_bias
    session = TrainingSession(config, model, params=weights)
    started = time.perf_counter()
    session.run()
    seconds = time.perf_counter() - started
    metrics = session.latest["metrics"] if session.latest else {}
    scalars = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
    solved = config.early_stop is not None and config.early_stop.reached(scalars)
    return Cell(task, length, cell, scalars, session.step_count, solved, seconds)


def _score(result: Cell) -> str:
    m = result.metrics
    if result.task == "copy":
        value = f"{m['accuracy']:.2f} / {m['sequence_accuracy']:.2f}"
    else:
        value = f"{m['relative_mse']:.3f}"
    if result.solved:
        return f"**{value}** (solved at {result.steps})"
    return value


def report(results: list[Cell], args: argparse.Namespace, wall: float) -> str:
    lengths = sorted({r.length for r in results})
    by_key = {(r.task, r.length, r.cell): r for r in results}
    lines = [
        "# Memory tasks: where each cell gives out",
        "",
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC with "
        "`python -m benchmarks.memory_tasks --write benchmarks/MEMORY_RESULTS.md` on "
        f"{platform.machine()} / Python {platform.python_version()} / NumPy {np.__version__}, "
        f"one BLAS thread; {wall / 60:.1f} minutes in all.",
        "",
        f"Same budget for every cell: hidden size {args.hidden}, Adam at lr {args.lr}, gradient "
        f"norm clipped to {args.clip}, batches of {args.batch_size} fresh sequences, at most "
        f"{args.steps} updates, seed {args.seed}; full BPTT. A run stops early once solved "
        "(bold, with the step it was solved at). Scores are on 512 validation sequences drawn "
        "apart from the training stream. "
        + (
            "Initial weights: PyTorch's defaults."
            if args.lstm_forget_bias is None
            else f"The LSTM's forget-gate bias starts at {args.lstm_forget_bias:g}."
        ),
        "",
    ]
    for task in [t for t in args.tasks if any(r.task == t for r in results)]:
        if task == "copy":
            lines += [
                "## Copy task: accuracy of the recalled symbols / of whole sequences",
                "",
                "3 symbols from an alphabet of 4, then T blank steps (the last one the recall "
                "marker), then 3 steps to write them back. Chance: 0.25 per symbol, 0.016 per "
                "sequence.",
                "",
            ]
        else:
            lines += [
                "## Adding problem: validation MSE relative to the targets' variance",
                "",
                "T steps of (value, mark); the target is the sum of the two marked values. "
                "Always answering the mean gives 1.0; solved means ≤ 0.01.",
                "",
            ]
        lines.append("| cell | " + " | ".join(f"T = {T}" for T in lengths) + " |")
        lines.append("|---|" + "---|" * len(lengths))
        for cell in args.cells:
            row = [
                _score(by_key[(task, T, cell)]) if (task, T, cell) in by_key else ""
                for T in lengths
            ]
            lines.append(f"| {CELL_NAMES[cell]} | " + " | ".join(row) + " |")
        lines.append("")
    lines += [
        "Seconds per run:",
        "",
        "| task | cell | " + " | ".join(f"T = {T}" for T in lengths) + " |",
        "|---|---|" + "---|" * len(lengths),
    ]
    for task in args.tasks:
        for cell in args.cells:
            row = [
                f"{by_key[(task, T, cell)].seconds:.0f}" if (task, T, cell) in by_key else ""
                for T in lengths
            ]
            lines.append(f"| {task} | {CELL_NAMES[cell]} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    args = _parse_args(argv)
    results: list[Cell] = []
    started = time.perf_counter()
    for task in args.tasks:
        for length in args.lengths:
            for cell in args.cells:
                result = train_one(task, length, cell, args)
                results.append(result)
                print(
                    f"{task:7s} T={length:4d} {cell:5s} steps={result.steps:5d} "
                    f"solved={result.solved!s:5s} {result.seconds:6.1f}s {_score(result)}",
                    flush=True,
                )
    text = report(results, args, time.perf_counter() - started)
    print(text)
    if args.write:
        _write_keeping_notes(args.write, text)


def _write_keeping_notes(path: str, text: str) -> None:
    """Write the report; hand-written notes after NOTES_MARKER in an existing file are kept."""
    notes = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            old = handle.read()
        if NOTES_MARKER in old:
            notes = "\n" + old[old.index(NOTES_MARKER) :]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text + notes)


if __name__ == "__main__":
    main(sys.argv[1:])
