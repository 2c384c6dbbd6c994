"""The network: a stack of recurrent layers and a linear head, forward and BPTT with full traces.

Public arrays are batch-first, like the API: X (B, T, D), H (B, T, H), outputs (B, T, Q) in
"sequence" mode or (B, Q) in "last" mode. Inside, layers work time-major; the accessors on the
traces return (B, T, ·) views without copying.
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.rnn.arrays import Array, all_finite, check_all_finite, check_finite
from app.rnn.cells import Cell, CellTrace, LayerGrads
from app.rnn.config import ModelConfig
from app.rnn.elman import ElmanCell
from app.rnn.errors import NumericalError, ShapeError
from app.rnn.gru import GRUCell
from app.rnn.init import init_params
from app.rnn.losses import head_forward, loss_and_grad
from app.rnn.lstm import LSTMCell
from app.rnn.parameters import cell_grads_out, cell_params, checked_params, store_bias_grads
from app.rnn.step_norms import StepGrads, step_contributions


def make_cell(config: ModelConfig) -> Cell[Any]:
    """The fast cell of the config's kind."""
    if config.cell == "lstm":
        return LSTMCell()
    if config.cell == "gru":
        return GRUCell()
    return ElmanCell(config.nonlinearity)


@dataclass
class ForwardTrace:
    """Everything the forward pass computed.

    X: (B, T, D); layers: one cell trace per layer (time-major inside); O: logits and Y: head
    outputs, (B, T, Q) in "sequence" mode or (B, Q) in "last" mode.
    """

    config: ModelConfig
    X: Array
    layers: list[CellTrace] = field(repr=False)
    O: Array
    Y: Array

    def hidden(self, layer: int = -1) -> Array:
        """H: (B, T, H) of one layer (default: the top one)."""
        return self.layers[layer].H.swapaxes(0, 1)

    def preactivation(self, layer: int = -1) -> Array:
        """A: (B, T, G·H), the pre-activation X_t W_xh + H_{t-1} W_hh + b_h (gated cells: of
        every gate, side by side in PyTorch's order)."""
        return self.layers[layer].A.swapaxes(0, 1)

    def gates(self, layer: int = -1) -> dict[str, Array]:
        """LSTM i, f, g, o and the cell state C; GRU r, z, n; each (B, T, H). Empty for the rnn."""
        return {name: v.swapaxes(0, 1) for name, v in self.layers[layer].gates().items()}

    @property
    def final_state(self) -> tuple[Array, Array | None]:
        """(H_T, C_T) of every layer: (L, B, H) each; C_T is None except for the LSTM."""
        H_T = np.stack([trace.H[-1] for trace in self.layers])
        C_T = [trace.C[-1] for trace in self.layers if trace.C is not None]
        return H_T, np.stack(C_T) if C_T else None


@dataclass
class BackwardResult:
    """Loss, parameter gradients (our names) and the per-timestep gradient trace.

    dO: dL/dO, O's shape. layers: one LayerGrads per layer (time-major inside).
    grad_norm_per_step: per layer, ‖dL/dH_t‖ (Frobenius over batch and units), (T,).
    step_grad_norms: per layer, for each parameter its cell reads (W_xh, W_hh, b_h, b_hn),
    ‖step t's contribution‖_F, (T,) (two biases b_ih, b_hh sum b_h's contributions, the GRU's
    b_hh n block b_hn's; without biases, what a bias would get); "W_hq"/"b_q" hold the head's.
    step_grads: the full per-step contributions, (T, *shape), only when asked for.
    """

    loss: float
    grads: dict[str, Array]
    dO: Array
    layers: list[LayerGrads] = field(repr=False)
    dH0: Array
    dC0: Array | None
    grad_norm_per_step: list[Array]
    step_grad_norms: dict[str, Array]
    step_grads: dict[str, Array] | None = None

    def dH(self, layer: int = -1) -> Array:
        """dL/dH_t (B, T, H) of one layer: the total, including what flows from the future."""
        return self.layers[layer].dH.swapaxes(0, 1)

    def dA(self, layer: int = -1) -> Array:
        """dL/dA_t (B, T, G·H): the gradient of the pre-activation."""
        return self.layers[layer].dA_x.swapaxes(0, 1)


class Network:
    """A stack of `num_layers` recurrent layers of one cell type and a linear head (or none).

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
        # (short name, full name) of each layer's parameters, e.g. ("W_hh", "layer0.W_hh").
        self._layer_names = [
            [(name.split(".", 1)[1], name) for name in self.params if name.startswith(f"layer{k}.")]
            for k in range(config.num_layers)
        ]

    def layer_params(self, layer: int) -> dict[str, Array]:
        """What one layer's cell reads: W_xh, W_hh, b_h (and b_hn), from the stored parameters
        (see app.rnn.parameters: b_h = b_ih + b_hh with two biases, zeros with none)."""
        stored = {short: self.params[name] for short, name in self._layer_names[layer]}
        return cell_params(self.config, stored)

    @property
    def readout(self) -> Array:
        """dO_t/dH_t's matrix W_hq (H, Q); the identity (H, H) for a model without a head."""
        if self.config.linear_head:
            return self.params["W_hq"]
        return np.eye(self.config.hidden_size, dtype=self.dtype)

    def forward(self, X: Array, H0: Array | None = None, C0: Array | None = None) -> ForwardTrace:
        """X: (B, T, D); H0, C0: (L, B, H) or None for zeros → ForwardTrace.

        A single sequence X: (T, D), with H0, C0: (L, H), is run as a batch of one: the trace is
        that of X[None], with a batch axis of 1.
        Raises ShapeError for wrong shapes and NumericalError for NaN/Inf in the inputs, the
        weights, or the hidden states (an overflow, named by layer and step).
        """
        cfg = self.config
        X = self._checked_input(X)
        H0 = self._checked_state("h0", H0, X.shape[0])
        C0 = self._checked_state("c0", C0, X.shape[0]) if cfg.cell == "lstm" else None
        in_place = all(value.base is self._flat_params for value in self.params.values())
        if not (in_place and all_finite(self._flat_params)):
            check_all_finite(self.params, "parameter")
        B = X.shape[0]
        layer_input = np.ascontiguousarray(X.swapaxes(0, 1))  # time-major
        traces: list[CellTrace] = []
        with np.errstate(over="ignore", invalid="ignore"):
            for layer in range(cfg.num_layers):
                trace = self.cell.forward(
                    layer_input,
                    self.layer_params(layer),
                    H0[layer],
                    None if C0 is None else C0[layer],
                )
                _check_states(trace.H, f"layer {layer} hidden state H_t")
                traces.append(trace)
                layer_input = trace.H
            H_top = traces[-1].H if cfg.output_mode == "sequence" else traces[-1].H[-1:]
            if cfg.linear_head:
                O_tm = np.dot(H_top.reshape(-1, cfg.hidden_size), self.params["W_hq"])  # (T·B, Q)
                O_tm += self.params["b_q"]
                O_tm = O_tm.reshape(H_top.shape[0], B, cfg.output_size)
            else:
                O_tm = H_top.copy()  # no head: O_t = H_t (a copy: O never aliases the trace)
            O = np.ascontiguousarray(
                O_tm.swapaxes(0, 1) if cfg.output_mode == "sequence" else O_tm[0]
            )
            _check_states(O, "output O_t")
            Y = head_forward(O, cfg.head)
        return ForwardTrace(cfg, X, traces, O, Y)

    def loss(self, trace: ForwardTrace, targets: Array) -> float:
        targets = self.checked_targets(targets, trace.O.shape)
        with np.errstate(over="ignore", invalid="ignore"):
            value, _ = loss_and_grad(trace.O, trace.Y, targets, self.config.loss, self.config.head)
        _check_loss(value)
        return value

    def backward(
        self,
        trace: ForwardTrace,
        targets: Array,
        truncate: int | None = None,
        step_grads: StepGrads = "norms",
    ) -> BackwardResult:
        """BPTT: targets (B, T, Q) / (B, Q), or class indices (B, T) / (B,) for cross-entropy.

        `truncate` = k cuts the recurrent gradient every k steps (like detaching the state in
        PyTorch); `step_grads` asks for each step's contribution to each weight gradient as norms
        (default), full matrices, or neither.
        """
        cfg = self.config
        if truncate is not None and (isinstance(truncate, bool) or truncate < 1):
            raise ShapeError(f"truncate must be a positive number of steps, got {truncate!r}")
        targets = self.checked_targets(targets, trace.O.shape)
        T = trace.X.shape[1]
        with np.errstate(over="ignore", invalid="ignore"):
            loss, dO = loss_and_grad(trace.O, trace.Y, targets, cfg.loss, cfg.head)
            _check_loss(loss)
            dO_tm = (dO if dO.ndim == 3 else dO[:, None]).swapaxes(0, 1)  # (T_out, B, Q)
            H_top = trace.layers[-1].H if cfg.output_mode == "sequence" else trace.layers[-1].H[-1:]
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
                np.dot(H_top.reshape(-1, cfg.hidden_size).T, dO_flat, out=grads["W_hq"])
                np.add.reduce(dO_flat, axis=0, out=grads["b_q"])
            H_shape = trace.layers[-1].H.shape
            dH_out = np.empty(H_shape, dtype=self.dtype)
            dH_out[: T - dO_tm.shape[0]] = 0.0
            if cfg.linear_head:
                np.dot(  # np.dot: see cells.input_projection (Q can be 1)
                    dO_flat,
                    self.params["W_hq"].T,
                    out=dH_out[T - dO_tm.shape[0] :].reshape(-1, cfg.hidden_size),
                )
            else:
                dH_out[T - dO_tm.shape[0] :] = dO_tm
            layer_grads: list[LayerGrads] = [None] * cfg.num_layers  # type: ignore[list-item]
            for layer in range(cfg.num_layers - 1, -1, -1):
                stored = {short: grads[name] for short, name in self._layer_names[layer]}
                out = cell_grads_out(cfg, stored, self.dtype)
                result = self.cell.backward(
                    trace.layers[layer], self.layer_params(layer), dH_out, out, truncate
                )
                store_bias_grads(cfg, out, stored)
                layer_grads[layer] = result
                if layer > 0:
                    dH_out = result.dX
        if not all_finite(grad_buffer):
            check_all_finite(grads, "gradient of")
        per_step, full = step_contributions(
            cfg, trace.layers, layer_grads, H_top, dO_tm, step_grads
        )
        for contributions in (per_step, full or {}) if not cfg.linear_head else ():
            for name in ("W_hq", "b_q"):  # no head parameters to have contributions
                contributions.pop(name, None)
        dH0 = _stacked([g.dH0 for g in layer_grads])
        dC0 = _stacked([g.dC0 for g in layer_grads]) if cfg.cell == "lstm" else None  # type: ignore[misc]
        return BackwardResult(
            loss=loss,
            grads=grads,
            dO=dO,
            layers=layer_grads,
            dH0=dH0,
            dC0=dC0,
            grad_norm_per_step=[np.sqrt(np.vecdot(g.dH, g.dH).sum(axis=1)) for g in layer_grads],
            step_grad_norms=per_step,
            step_grads=full,
        )

    def checked_targets(self, targets: Array, output_shape: tuple[int, ...]) -> Array:
        """Targets cast and checked against the output shape (B, T, Q) / (B, Q).

        For a batch of one the batch axis may be left out: (T, Q) / (Q,), or class indices
        (T,) / ().
        """
        cfg = self.config
        targets = np.asarray(targets)
        batched = (output_shape, output_shape[:-1])
        unbatched = (output_shape[1:], output_shape[1:-1])
        if output_shape[0] == 1 and targets.shape not in batched and targets.shape in unbatched:
            targets = targets[None]
        if cfg.loss == "cross_entropy" and targets.shape == output_shape[:-1]:
            if not np.issubdtype(targets.dtype, np.integer):
                if not np.all(np.equal(np.mod(targets, 1), 0)):
                    raise ShapeError("class-index targets must be whole numbers")
                targets = targets.astype(np.int64)
            low, high = int(targets.min(initial=0)), int(targets.max(initial=0))
            if low < 0 or high >= cfg.output_size:
                raise ShapeError(
                    f"class-index targets must lie in [0, {cfg.output_size - 1}], "
                    f"found {low if low < 0 else high}"
                )
            return targets
        if targets.shape != output_shape:
            allowed = f"{output_shape}"
            if cfg.loss == "cross_entropy":
                allowed += f" (probabilities) or {output_shape[:-1]} (class indices)"
            raise ShapeError(f"targets have shape {targets.shape}, expected {allowed}")
        targets = targets.astype(self.dtype)
        check_finite("targets", targets)
        if cfg.loss == "bce" and (targets.min() < 0 or targets.max() > 1):
            raise ShapeError("bce targets must lie in [0, 1]")
        return targets

    def _checked_input(self, X: Array) -> Array:
        given = np.asarray(X, dtype=self.dtype)
        X = given[None] if given.ndim == 2 else given  # one sequence (T, D): a batch of one
        if X.ndim != 3 or X.shape[2] != self.config.input_size or X.shape[0] < 1 or X.shape[1] < 1:
            raise ShapeError(
                f"inputs have shape {given.shape}, expected (B, T, {self.config.input_size}) or "
                f"(T, {self.config.input_size}) with B, T ≥ 1"
            )
        check_finite("inputs", X)
        return X

    def _checked_state(self, name: str, S0: Array | None, B: int) -> Array:
        cfg = self.config
        shape = (cfg.num_layers, B, cfg.hidden_size)
        if S0 is None:
            return np.zeros(shape, dtype=self.dtype)
        S0 = np.asarray(S0, dtype=self.dtype)
        if B == 1 and S0.shape == (cfg.num_layers, cfg.hidden_size):
            S0 = S0[:, None]  # the state of a single sequence: (L, H)
        if S0.shape != shape:
            raise ShapeError(f"{name} has shape {S0.shape}, expected (L, B, H) = {shape}")
        check_finite(name, S0)
        return S0


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
