"""The network: a stack of recurrent layers and a linear head, forward and BPTT with full traces.

Public arrays are batch-first, like the API: X (B, T, D), H (B, T, H), outputs (B, T, Q) in
"sequence" mode or (B, Q) in "last" mode. Inside, layers work time-major; the accessors on the
traces return (B, T, ·) views without copying. A bidirectional model runs each layer's reverse
direction too, and `lengths` mark padding; both are directions.py's.
"""

from typing import Any

import numpy as np

from app.rnn.arrays import Array, all_finite, check_all_finite
from app.rnn.cells import Cell, LayerGrads
from app.rnn.checks import checked_input, checked_state
from app.rnn.checks import checked_targets as _checked_targets
from app.rnn.config import ModelConfig
from app.rnn.directions import Steps, checked_lengths, stack_backward, stack_forward
from app.rnn.elman import ElmanCell
from app.rnn.errors import NumericalError, ShapeError
from app.rnn.gru import GRUCell
from app.rnn.init import init_params
from app.rnn.losses import head_forward, loss_and_grad
from app.rnn.lstm import LSTMCell
from app.rnn.parameters import (
    cell_grads_out,
    cell_params,
    checked_params,
    store_bias_grads,
    units,
)
from app.rnn.passes import BackwardResult, ForwardTrace
from app.rnn.step_norms import StepGrads, step_contributions


def make_cell(config: ModelConfig) -> Cell[Any]:
    """The fast cell of the config's kind."""
    if config.cell == "lstm":
        return LSTMCell()
    if config.cell == "gru":
        return GRUCell()
    return ElmanCell(config.nonlinearity)


class Network:
    """A stack of `num_layers` recurrent layers of one cell type (each in one direction, or two
    when bidirectional) and a linear head (or none).

    `params` maps our names (see `parameters.parameter_shapes`) to arrays in the config's dtype;
    the optimisers update them in place.
    """

    def __init__(self, config: ModelConfig, params: dict[str, Array] | None = None) -> None:
        self.config = config
        self.cell = make_cell(config)
        self.dtype = np.dtype(config.dtype)
        if params is None:
            params = init_params(config)
        self.params, self._flat_params = checked_params(config, params, self.dtype)
        # Where each parameter lies in the flat buffer, (start, stop), in the order of params.
        ends = np.cumsum([value.size for value in self.params.values()]).tolist()
        self._param_spans = list(zip([0, *ends[:-1]], ends, strict=True))
        # Each unit's prefix and its (short name, full name) pairs, e.g. ("W_hh", "layer0.W_hh").
        self._prefixes = [prefix for _, prefix, _ in units(config)]
        self._unit_names = [
            [(name.split(".", 1)[1], name) for name in self.params if name.startswith(f"{p}.")]
            for p in self._prefixes
        ]

    def layer_params(self, layer: int, reverse: bool = False) -> dict[str, Array]:
        """What one layer's cell reads (its reverse direction's with `reverse`): W_xh, W_hh,
        b_h (and b_hn), from the stored parameters (see app.rnn.parameters: b_h = b_ih + b_hh
        with two biases, zeros with none)."""
        return self._unit_params(layer * self.config.directions + reverse)

    def _unit_params(self, unit: int) -> dict[str, Array]:
        stored = {short: self.params[name] for short, name in self._unit_names[unit]}
        return cell_params(self.config, stored)

    @property
    def readout(self) -> Array:
        """dO_t/dH_t's matrix W_hq (H, Q); the identity (H, H) for a model without a head."""
        if self.config.linear_head:
            return self.params["W_hq"]
        return np.eye(self.config.top_size, dtype=self.dtype)

    def forward(
        self,
        X: Array,
        H0: Array | None = None,
        C0: Array | None = None,
        lengths: Array | None = None,
    ) -> ForwardTrace:
        """X: (B, T, D); H0, C0: (L·directions, B, H) or None for zeros; lengths: (B,) or
        None (every sequence T long) → ForwardTrace.

        A single sequence X: (T, D), with H0, C0: (L, H), is run as a batch of one: the trace is
        that of X[None], with a batch axis of 1.
        Raises ShapeError for wrong shapes and NumericalError for NaN/Inf in the inputs, the
        weights, or the hidden states (an overflow, named by layer and step).
        """
        cfg = self.config
        X = checked_input(cfg, X, self.dtype)
        B, T = X.shape[:2]
        H0 = checked_state(cfg, "h0", H0, B, self.dtype)
        C0 = checked_state(cfg, "c0", C0, B, self.dtype) if cfg.cell == "lstm" else None
        steps = Steps(T, checked_lengths(lengths, B, T))
        in_place = all(value.base is self._flat_params for value in self.params.values())
        if not (in_place and all_finite(self._flat_params)):
            check_all_finite(self.params, "parameter")
        with np.errstate(over="ignore", invalid="ignore"):
            unit_params = [self._unit_params(u) for u in range(len(self._prefixes))]
            traces, H_out = stack_forward(
                self.cell,
                unit_params,
                np.ascontiguousarray(X.swapaxes(0, 1)),  # time-major
                H0,
                C0,
                steps,
                cfg.directions,
                _check_states,
            )
            H_top = H_out if cfg.output_mode == "sequence" else steps.last(H_out)[None]
            if cfg.linear_head:
                O_tm = np.dot(H_top.reshape(-1, cfg.top_size), self.params["W_hq"])  # (T·B, Q)
                if cfg.head_bias:
                    O_tm += self.params["b_q"]
                O_tm = O_tm.reshape(H_top.shape[0], B, cfg.output_size)
            else:
                O_tm = H_top.copy()  # no head: O_t = H_t (a copy: O never aliases the trace)
            O = np.ascontiguousarray(
                O_tm.swapaxes(0, 1) if cfg.output_mode == "sequence" else O_tm[0]
            )
            _check_states(O, "output O_t")
            Y = head_forward(O, cfg.head)
        return ForwardTrace(cfg, X, traces, O, Y, steps)

    def loss(self, trace: ForwardTrace, targets: Array) -> float:
        targets = self.checked_targets(targets, trace.O.shape)
        with np.errstate(over="ignore", invalid="ignore"):
            value, _ = self._loss_and_grad(trace, targets)
        _check_loss(value)
        return value

    def _loss_and_grad(self, trace: ForwardTrace, targets: Array) -> tuple[float, Array]:
        """The loss over the real steps only (with lengths, in "sequence" mode: the mean over
        the (b, t) with t < lengths[b]) and dL/dO, zero at the padding."""
        cfg = self.config
        if trace.steps.lengths is None or cfg.output_mode == "last":
            return loss_and_grad(trace.O, trace.Y, targets, cfg.loss, cfg.head)
        real = ~trace.steps.padded.T  # (B, T)
        value, dO_real = loss_and_grad(
            trace.O[real], trace.Y[real], targets[real], cfg.loss, cfg.head
        )
        dO = np.zeros_like(trace.O)
        dO[real] = dO_real
        return value, dO

    def backward(
        self,
        trace: ForwardTrace,
        targets: Array,
        truncate: int | None = None,
        step_grads: StepGrads = "norms",
    ) -> BackwardResult:
        """BPTT: targets (B, T, Q) / (B, Q), or class indices (B, T) / (B,) for cross-entropy.

        `truncate` = k cuts the recurrent gradient every k steps (like detaching the state in
        PyTorch; a reverse direction's every k of its own steps); `step_grads` asks for each
        step's contribution to each weight gradient as norms (default), full matrices, or
        neither. Padded steps (trace.steps) get no gradient.
        """
        cfg = self.config
        if truncate is not None and (isinstance(truncate, bool) or truncate < 1):
            raise ShapeError(f"truncate must be a positive number of steps, got {truncate!r}")
        targets = self.checked_targets(targets, trace.O.shape)
        steps = trace.steps
        T, B = trace.X.shape[1], trace.X.shape[0]
        width = cfg.top_size
        with np.errstate(over="ignore", invalid="ignore"):
            loss, dO = self._loss_and_grad(trace, targets)
            _check_loss(loss)
            dO_tm = (dO if dO.ndim == 3 else dO[:, None]).swapaxes(0, 1)  # (T_out, B, Q)
            H_out = self._top_output(trace)
            H_top = H_out if cfg.output_mode == "sequence" else steps.last(H_out)[None]
            # Every gradient is written into one flat buffer laid out like the parameters: one
            # finiteness test covers them all.
            grad_buffer = np.empty_like(self._flat_params)
            grads = {
                name: grad_buffer[start:stop].reshape(value.shape)
                for (name, value), (start, stop) in zip(
                    self.params.items(), self._param_spans, strict=True
                )
            }
            dO_flat = dO_tm.reshape(-1, cfg.output_size)
            if cfg.linear_head:
                np.dot(H_top.reshape(-1, width).T, dO_flat, out=grads["W_hq"])
                if cfg.head_bias:
                    np.add.reduce(dO_flat, axis=0, out=grads["b_q"])
            dH_top = self.readout_grad(dO_tm, dO_flat, steps, T, B)

            def unit_backward(unit: int, dH_out: Array) -> LayerGrads:
                stored = {short: grads[name] for short, name in self._unit_names[unit]}
                out = cell_grads_out(cfg, stored, self.dtype)
                result = self.cell.backward(
                    trace.units[unit], self._unit_params(unit), dH_out, out, truncate
                )
                store_bias_grads(cfg, out, stored)
                return result

            unit_grads = stack_backward(
                unit_backward, len(self._prefixes), dH_top, steps, cfg.directions
            )
        if not all_finite(grad_buffer):
            check_all_finite(grads, "gradient of")
        per_step, full = step_contributions(
            cfg, trace.units, unit_grads, H_top, dO_tm, step_grads, self._prefixes
        )
        for contributions in (per_step, full or {}):
            for name in ("W_hq", "b_q"):  # no head parameter (or bias) to have contributions
                if name not in self.params:
                    contributions.pop(name, None)
        dH0 = _stacked([g.dH0 for g in unit_grads])
        dC0 = _stacked([g.dC0 for g in unit_grads]) if cfg.cell == "lstm" else None  # type: ignore[misc]
        return BackwardResult(
            loss=loss,
            grads=grads,
            dO=dO,
            units=unit_grads,
            dH0=dH0,
            dC0=dC0,
            unit_grad_norms=[np.sqrt(np.vecdot(g.dH, g.dH).sum(axis=1)) for g in unit_grads],
            step_grad_norms=per_step,
            steps=steps,
            directions=cfg.directions,
            step_grads=full,
        )

    def _top_output(self, trace: ForwardTrace) -> Array:
        """The top layer's output (T, B, directions·H), in the inputs' order of steps."""
        top = trace.units[-self.config.directions :]
        if len(top) == 1:
            return top[0].H
        return np.concatenate([top[0].H, trace.steps.reversed(top[1].H)], axis=2)

    def readout_grad(self, dO_tm: Array, dO_flat: Array, steps: Steps, T: int, B: int) -> Array:
        """dL/dO (T_out, B, Q) → dL/d(top output) (T, B, directions·H): through W_hq at every
        step in "sequence" mode, at each sequence's last step in "last" mode."""
        cfg = self.config
        width = cfg.top_size
        if cfg.output_mode == "sequence":
            if not cfg.linear_head:
                return np.ascontiguousarray(dO_tm)
            dH_top = np.empty((T, B, width), dtype=self.dtype)
            # np.dot: see cells.input_projection (Q can be 1)
            np.dot(dO_flat, self.params["W_hq"].T, out=dH_top.reshape(-1, width))
            return dH_top
        dH_top = np.zeros((T, B, width), dtype=self.dtype)
        dH_top[steps.last_index(B)] = dO_flat @ self.readout.T
        return dH_top

    def checked_targets(self, targets: Array, output_shape: tuple[int, ...]) -> Array:
        """Targets cast and checked against the output shape (B, T, Q) / (B, Q) (checks.py)."""
        return _checked_targets(self.config, targets, output_shape, self.dtype)


def _stacked(arrays: list[Array]) -> Array:
    """(L, ·) from L arrays; one array becomes a view with a leading axis of 1, without a copy."""
    return arrays[0][None] if len(arrays) == 1 else np.stack(arrays)


def _check_loss(value: float) -> None:
    if not np.isfinite(value):
        raise NumericalError(
            f"the loss overflowed to NaN/Inf ({value}); the outputs are too large for this loss "
            "(try a smaller learning rate or init scale)"
        )


def _check_states(S: Array, what: str) -> None:
    """S: (T, B, ·) time-major, or (B, ·) / (B, T, ·) for outputs; names the first bad step."""
    if all_finite(S):
        return
    index = np.argwhere(~np.isfinite(S))[0]
    raise NumericalError(
        f"{what} overflowed to NaN/Inf at index {tuple(int(i) for i in index)}; the weights or "
        "inputs are too large for this nonlinearity (try a smaller learning rate or init scale)"
    )
