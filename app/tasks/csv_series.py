"""User data: a CSV of numeric columns as a time series to forecast.

Rows are time steps, columns the series (an optional header row names them). The network reads a
`window` of rows (T = window, D = columns) and predicts every column `horizon` rows after the
window's last row (many-to-one, Q = columns, MSE). Each column is normalised with statistics of
the training rows only ("zscore": (x − mean) / std, "minmax": to [0, 1], or "none"); the
validation windows are the last `validation_fraction` of them, in time order (no look-ahead).
"""

import csv
import io
from typing import Any

import numpy as np

from app.rnn.arrays import Array
from app.tasks.base import (
    Param,
    Sample,
    Targets,
    Task,
    TaskError,
    validation_size,
)
from app.tasks.data import ArrayData
from app.tasks.metrics import REGRESSION_INFO, Metrics, regression_metrics


def _example_csv() -> str:
    """Two seasonal series with a trend, 300 rows: the default data for the page."""
    t = np.arange(300)
    first = np.sin(2 * np.pi * t / 24) + 0.01 * t
    second = 0.5 * np.cos(2 * np.pi * t / 50) + 0.3 * np.sin(2 * np.pi * t / 12)
    rows = [f"{a:.4f},{b:.4f}" for a, b in zip(first, second, strict=True)]
    return "\n".join(["daily,weekly", *rows]) + "\n"


PARAMS = {
    "csv": Param("text", _example_csv(), "CSV text: rows are time steps", min=1),
    "window": Param("int", 24, "T: rows the network reads", min=1, max=1000),
    "horizon": Param("int", 1, "how many rows after the window to predict", min=1, max=1000),
    "normalization": Param(
        "choice",
        "zscore",
        "per-column scaling fitted on the training rows",
        choices=("zscore", "minmax", "none"),
    ),
}


def parse_csv(text: str) -> tuple[list[str], Array]:
    """CSV text → (column names, values (rows, columns)); a non-numeric first row is a header.

    Blank lines are skipped. Raises TaskError naming the line (1-based, as an editor counts
    them) and the column of the problem.
    """
    lines = _numbered_rows(text)
    if not lines:
        raise TaskError("csv is empty: no rows with values")
    header: list[str] | None = None
    if not all(_is_number(cell) for cell in lines[0][1]):
        header = [cell.strip() for cell in lines[0][1]]
        lines = lines[1:]
        if not lines:
            raise TaskError("csv has a header but no data rows")
    width = len(header) if header is not None else len(lines[0][1])
    values = np.empty((len(lines), width))
    for r, (line, row) in enumerate(lines):
        if len(row) != width:
            raise TaskError(f"csv line {line} has {len(row)} values, expected {width}")
        for c, cell in enumerate(row):
            try:
                values[r, c] = float(cell)
            except ValueError:
                raise TaskError(
                    f"csv line {line}, column {c + 1}: {cell.strip()!r} is not a number"
                ) from None
            if not np.isfinite(values[r, c]):
                raise TaskError(f"csv line {line}, column {c + 1} is NaN or infinite")
    names = header if header is not None else [f"column {c + 1}" for c in range(width)]
    return names, values


def _numbered_rows(text: str) -> list[tuple[int, list[str]]]:
    """(line number where the row starts, cells) of every row with a value in it."""
    reader = csv.reader(io.StringIO(text), strict=True)
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((line, row))
            line = reader.line_num + 1
    except csv.Error as error:
        raise TaskError(f"csv line {reader.line_num}: {error}") from None
    return rows


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def windows(values: Array, window: int, horizon: int) -> tuple[Array, Array]:
    """values (N, C) → inputs (M, window, C) and targets (M, C), M = N − window − horizon + 1."""
    count = values.shape[0] - window - horizon + 1
    index = np.arange(count)[:, None] + np.arange(window)
    return values[index], values[np.arange(count) + window + horizon - 1]


def _scaling(train: Array, kind: str) -> tuple[Array, Array]:
    """(shift, scale) per column so that (x − shift) / scale is normalised."""
    if kind == "zscore":
        scale = train.std(axis=0)
        return train.mean(axis=0), np.where(scale > 0, scale, 1.0)
    if kind == "minmax":
        low, span = train.min(axis=0), np.ptp(train, axis=0)
        return low, np.where(span > 0, span, 1.0)
    return np.zeros(train.shape[1]), np.ones(train.shape[1])


class SeriesData(ArrayData):
    """Windows of the normalised series; `evaluate` adds RMSE per column in the CSV's units."""

    def __init__(
        self,
        params: dict[str, Any],
        validation_fraction: float | None,
        max_elements: int | None = None,
    ) -> None:
        self.names, values = parse_csv(params["csv"])
        window, horizon = params["window"], params["horizon"]
        count = values.shape[0] - window - horizon + 1
        if count < 2:
            raise TaskError(
                f"csv has {values.shape[0]} rows; window {window} + horizon {horizon} needs at "
                f"least {window + horizon + 1}"
            )
        columns = values.shape[1]
        numbers = count * (window + 1) * columns
        if max_elements is not None and numbers > max_elements:
            raise TaskError(
                f"csv gives {count} windows of {window} rows × {columns} columns, {numbers} "
                f"numbers; at most {max_elements} are allowed (use fewer rows or a shorter window)"
            )
        held_out = validation_size(validation_fraction, 0.2, count)
        train_rows = values[: count - held_out + window + horizon - 1]
        self.shift, self.scale = _scaling(train_rows, params["normalization"])
        X, y = windows((values - self.shift) / self.scale, window, horizon)
        split = count - held_out
        val = (X[split:], y[split:]) if held_out else (None, None)
        super().__init__(X[:split], y[:split], val[0], val[1], self._score)

    def _score(self, Y: Array, targets: Targets) -> Metrics:
        result = regression_metrics(Y, targets)
        rmse = np.sqrt(np.mean((Y - targets) ** 2, axis=0)) * self.scale
        result["rmse"] = {name: float(v) for name, v in zip(self.names, rmse, strict=True)}
        return result

    def stats(self) -> dict[str, Any]:
        return {"columns": self.names, "shift": self.shift.tolist(), "scale": self.scale.tolist()}


def _sample(rng: np.random.Generator, batch_size: int, params: dict[str, Any]) -> Sample:
    data = SeriesData(params, 0.0)
    pick = rng.choice(len(data.X_train), size=min(batch_size, len(data.X_train)), replace=False)
    meta = {**data.stats(), "window": params["window"], "horizon": params["horizon"]}
    meta["normalization"] = params["normalization"]
    return Sample(data.X_train[pick], data.y_train[pick], meta)


def metrics(Y: Array, targets: Targets, params: dict[str, Any] | None = None) -> Metrics:
    return regression_metrics(Y, targets)


def _sizes(params: dict[str, Any]) -> dict[str, Any]:
    names, _ = parse_csv(params["csv"])
    return {"input_size": len(names), "output_size": len(names)}


TASK = Task(
    name="csv_forecast",
    title="Forecast your own series (CSV)",
    description=(
        "Upload a CSV whose rows are time steps and whose columns are numeric series. The "
        "network reads a window of rows and predicts every column a horizon ahead. Columns are "
        "normalised with the training rows' statistics; the last part of the series is kept "
        "for validation, so the forecast is always tested on the future."
    ),
    params=PARAMS,
    default_config={
        "cell": "gru",
        "input_size": 2,
        "hidden_size": 32,
        "output_size": 2,
        "head": "identity",
        "loss": "mse",
        "output_mode": "last",
        "init": "pytorch",
        "seed": 0,
    },
    default_training={
        "optimizer": "adam",
        "lr": 0.01,
        "batch_size": 32,
        "clip": 1.0,
        "steps": 500,
        "report_every": 50,
    },
    sampler=_sample,
    data_factory=lambda params, seed, fraction, max_elements: SeriesData(
        params, fraction, max_elements
    ),
    metrics_fn=metrics,
    metric_info=REGRESSION_INFO,
    sizes=_sizes,
)
