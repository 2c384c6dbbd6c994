"""The stream's frames: one timestep of a pass, of sequence 0, as JSON text or binary.

A frame at step t carries every direction's values at input step t (REST's indexing): the
forward direction's H_t, and a bidirectional layer's reverse direction's H←_t, its state after
reading X_{l−1}, …, X_t (l = lengths[0], or T), which the whole pass, computed before the first
frame, already holds. Steps t ≥ lengths[0] are sequence 0's padding: their frames are sent (the
norms over the batch may still be nonzero there) and say `"padding": true`. Every row equals the
REST trace's of the same pass, float for float (app.web.traces reads the same arrays).
"""

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import orjson

from app.rnn import BackwardResult, ForwardTrace
from app.rnn.arrays import Array
from app.web.arrays import to_list
from app.web.columns import encode_rows
from app.web.schemas.common import STREAM_PROTOCOL_VERSION
from app.web.traces import layer_parameter_names, pytorch_grads, reverse_dH_norm

__all__ = [
    "backward_frames",
    "binary_messages",
    "encode_frame",
    "forward_frames",
    "step_frames",
    "summary_frame",
]


def _output_index(trace: ForwardTrace, t: int) -> int | None:
    """Which output step belongs to timestep t (None: no output at t)."""
    if trace.config.output_mode == "sequence":
        return t
    return 0 if t == trace.X.shape[1] - 1 else None


def _sequence0(array: Array, order: Array | None = None) -> Array:
    """A time-major (T, B, K) array → sequence 0's rows (T, K) in float64, as the JSON answer
    writes them: each row a contiguous array that orjson encodes natively (app.web.responses).
    order (T,): the rows to take, a reverse direction's own step for each input step."""
    rows = array[:, 0] if order is None else array[order, 0]
    return np.ascontiguousarray(rows, dtype=np.float64)


def _length0(trace: ForwardTrace) -> int:
    """Sequence 0's real steps: lengths[0], or T."""
    lengths = trace.steps.lengths
    return int(trace.X.shape[1] if lengths is None else lengths[0])


def _own_steps(trace: ForwardTrace) -> Array:
    """(T,) for each input step t, the reverse direction's own step that reads X_t of sequence
    0: l − 1 − t for t < l, t itself in the padding (which stays in place)."""
    T, length = trace.X.shape[1], _length0(trace)
    t = np.arange(T)
    return np.where(t < length, length - 1 - t, t)


def _mark_padding(frame: dict[str, Any], t: int, length: int) -> None:
    if t >= length:
        frame["padding"] = True


def array_row(column: Array, t: int) -> Array:
    """A frame's row t of a (T, K) column as a NumPy array (which orjson writes natively)."""
    return column[t]


# How a frame holds row t of a column: the array itself, or (app.web.columns.RowPlacer) its
# descriptor in a binary message.
RowOf = Callable[[Array, int], Any]


def forward_frames(trace: ForwardTrace, row: RowOf = array_row) -> Iterator[dict[str, Any]]:
    """One frame per timestep t = 0…T−1, of sequence 0; each array is `row(column, t)`."""
    T, length = trace.X.shape[1], _length0(trace)
    bidirectional = trace.config.bidirectional
    own = _own_steps(trace) if bidirectional else None

    def rows(reverse: bool) -> tuple[list[Array], list[Array], list[dict[str, Array]]]:
        units = [trace.unit(k, reverse) for k in range(trace.config.num_layers)]
        order = own if reverse else None
        return (
            [_sequence0(unit.H, order) for unit in units],
            [_sequence0(unit.A, order) for unit in units],
            [{n: _sequence0(v, order) for n, v in unit.gates().items()} for unit in units],
        )

    H, A, gates = rows(False)
    H_r, A_r, gates_r = rows(True) if bidirectional else ([], [], [])
    # (steps with an output, Q): one row a step, or the one row of a "last" model
    O = np.atleast_2d(np.asarray(trace.O[0], dtype=np.float64))
    Y = np.atleast_2d(np.asarray(trace.Y[0], dtype=np.float64))
    for t in range(T):
        frame: dict[str, Any] = {
            "type": "forward",
            "v": STREAM_PROTOCOL_VERSION,
            "t": t,
            "H": [row(h, t) for h in H],
            "A": [row(a, t) for a in A],
            "gates": [{name: row(value, t) for name, value in g.items()} for g in gates],
        }
        if bidirectional:
            frame["reverse"] = {
                "H": [row(h, t) for h in H_r],
                "A": [row(a, t) for a in A_r],
                "gates": [{name: row(value, t) for name, value in g.items()} for g in gates_r],
            }
        _mark_padding(frame, t, length)
        index = _output_index(trace, t)
        if index is not None:
            frame["logits"] = row(O, index)
            frame["output"] = row(Y, index)
        yield frame


def backward_frames(
    trace: ForwardTrace, result: BackwardResult, row: RowOf = array_row
) -> Iterator[dict[str, Any]]:
    """One frame per timestep in reverse order t = T−1…0, of sequence 0; each array is
    `row(column, t)`. A reverse direction's step_grad_norms are at its own step that reads X_t
    (REST's are by its own steps)."""
    T, length = trace.X.shape[1], _length0(trace)
    L = trace.config.num_layers
    bidirectional = trace.config.bidirectional
    names = layer_parameter_names(trace.config.cell)
    norms = result.step_grad_norms
    own = _own_steps(trace) if bidirectional else None

    def rows(reverse: bool) -> dict[str, Any]:
        units = [result.unit(k, reverse) for k in range(L)]
        order = own if reverse else None
        prefix = "_reverse" if reverse else ""
        return {
            "dH": [_sequence0(unit.dH, order) for unit in units],
            "dA": [_sequence0(unit.dA_x, order) for unit in units],
            "dC": [_sequence0(unit.dC, order) for unit in units if unit.dC is not None],
            "dH_norm": [
                np.asarray(reverse_dH_norm(result, k) if reverse else n, dtype=np.float64)
                for k, n in enumerate(result.grad_norm_per_step)
            ],
            "step_norms": [
                {n: np.asarray(norms[f"layer{k}{prefix}.{n}"], dtype=np.float64) for n in names}
                if norms
                else {}
                for k in range(L)
            ],
        }

    def at(values: dict[str, Any], t: int, s: int) -> dict[str, Any]:
        """The frame's part of one direction: rows at input step t, step norms at step s."""
        part = {
            "dH": [row(d, t) for d in values["dH"]],
            "dA": [row(d, t) for d in values["dA"]],
            "dH_norm": [float(n[t]) for n in values["dH_norm"]],
            "step_grad_norms": [
                {n: float(v[s]) for n, v in layer.items()} for layer in values["step_norms"]
            ],
        }
        if trace.config.cell == "lstm":
            part["dC"] = [row(d, t) for d in values["dC"]]
        return part

    forward = rows(False)
    backward = rows(True) if bidirectional else None
    for t in range(T - 1, -1, -1):
        frame: dict[str, Any] = {"type": "backward", "v": STREAM_PROTOCOL_VERSION, "t": t}
        frame.update(at(forward, t, t))
        if backward is not None and own is not None:
            frame["reverse"] = at(backward, t, int(own[t]))
        _mark_padding(frame, t, length)
        index = _output_index(trace, t)
        if index is not None and norms and trace.config.linear_head:
            frame["head_step_grad_norms"] = {
                n: float(norms[n][index]) for n in ("W_hq", "b_q") if n in norms
            }
        yield frame


def encode_frame(frame: dict[str, Any]) -> str:
    """A frame as the text of one WebSocket message: orjson writes the rows straight from the
    arrays, with the same digits as Python's repr of each float64 (the REST answer's)."""
    return orjson.dumps(frame, option=orjson.OPT_SERIALIZE_NUMPY, default=to_list).decode()


def step_frames(
    trace: ForwardTrace, result: BackwardResult | None, row: RowOf = array_row
) -> Iterator[dict[str, Any]]:
    """A run's step frames: the forward pass's, then (with a backward pass) the backward's."""
    yield from forward_frames(trace, row)
    if result is not None:
        yield from backward_frames(trace, result, row)


def binary_messages(trace: ForwardTrace, result: BackwardResult | None) -> list[bytes]:
    """A run's step frames, each as one binary WebSocket message: the binary trace layout
    (app.web.binary), its rows in the model's dtype (a float32 model's rows, widened to float64
    in the frame, narrow back to exactly its float32 values), made a run at a time."""
    return list(encode_rows(lambda row: step_frames(trace, result, row), trace.config.dtype))


def summary_frame(
    trace: ForwardTrace, result: BackwardResult | None, frames: int
) -> dict[str, Any]:
    grads = {} if result is None else pytorch_grads(trace, result)
    return {
        "type": "summary",
        "v": STREAM_PROTOCOL_VERSION,
        "loss": None if result is None else result.loss,
        "grad_norms": {name: float(np.linalg.norm(value)) for name, value in grads.items()},
        "frames": frames,
    }
