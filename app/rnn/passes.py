"""What a pass computed: the forward trace and the backward result, with accessors that give
each layer's arrays batch-first, (B, T, ·), in the inputs' order of steps (a reverse direction's
re-indexed from its own order)."""

from dataclasses import dataclass, field

import numpy as np

from app.rnn.arrays import Array
from app.rnn.cells import CellTrace, LayerGrads
from app.rnn.config import ModelConfig
from app.rnn.directions import Steps
from app.rnn.errors import ShapeError


@dataclass
class ForwardTrace:
    """Everything the forward pass computed.

    X: (B, T, D); units: one cell trace per (layer, direction), PyTorch's order (time-major
    inside, a reverse direction's in its own order of steps); O: logits and Y: head outputs,
    (B, T, Q) in "sequence" mode or (B, Q) in "last" mode; steps: the lengths, if any.
    The accessors take `reverse` for a layer's reverse direction, indexed by input step.
    """

    config: ModelConfig
    X: Array
    units: list[CellTrace] = field(repr=False)
    O: Array
    Y: Array
    steps: Steps

    @property
    def layers(self) -> list[CellTrace]:
        """The forward direction's trace of each layer."""
        return self.units[:: self.config.directions]

    def unit(self, layer: int, reverse: bool) -> CellTrace:
        if reverse and not self.config.bidirectional:
            raise ShapeError("the model is not bidirectional: it has no reverse direction")
        return self.units[(layer % self.config.num_layers) * self.config.directions + reverse]

    def _input_order(self, S: Array, reverse: bool) -> Array:
        """A unit's (T, B, ·) in the inputs' order of steps, batch-first (B, T, ·)."""
        return (self.steps.reversed(S) if reverse else S).swapaxes(0, 1)

    def hidden(self, layer: int = -1, reverse: bool = False) -> Array:
        """H: (B, T, H) of one layer (default: the top one)."""
        return self._input_order(self.unit(layer, reverse).H, reverse)

    def preactivation(self, layer: int = -1, reverse: bool = False) -> Array:
        """A: (B, T, G·H), the pre-activation X_t W_xh + H_{t-1} W_hh + b_h (gated cells: of
        every gate, side by side in PyTorch's order)."""
        return self._input_order(self.unit(layer, reverse).A, reverse)

    def gates(self, layer: int = -1, reverse: bool = False) -> dict[str, Array]:
        """LSTM i, f, g, o and the cell state C; GRU r, z, n; each (B, T, H). Empty for the rnn."""
        found = self.unit(layer, reverse).gates().items()
        return {name: self._input_order(v, reverse) for name, v in found}

    @property
    def final_state(self) -> tuple[Array, Array | None]:
        """(H_T, C_T) of every unit, each sequence's at its own last step: (L·directions, B, H)
        each, PyTorch's h_n and c_n; C_T is None except for the LSTM."""
        H_T = np.stack([self.steps.last(trace.H) for trace in self.units])
        C_T = [self.steps.last(trace.C) for trace in self.units if trace.C is not None]
        return H_T, np.stack(C_T) if C_T else None


@dataclass
class BackwardResult:
    """Loss, parameter gradients (our names) and the per-timestep gradient trace.

    dO: dL/dO, O's shape. units: one LayerGrads per (layer, direction) (time-major inside, in
    the unit's own order of steps); `layers` the forward direction's.
    grad_norm_per_step: per unit, ‖dL/dH_t‖ (Frobenius over batch and units), (T,).
    step_grad_norms: per layer, for each parameter its cell reads (W_xh, W_hh, b_h, b_hn),
    ‖step t's contribution‖_F, (T,) (two biases b_ih, b_hh sum b_h's contributions, the GRU's
    b_hh n block b_hn's; without biases, what a bias would get); "W_hq"/"b_q" hold the head's.
    A reverse direction's are by its own steps (t: the t-th step it reads).
    step_grads: the full per-step contributions, (T, *shape), only when asked for.
    """

    loss: float
    grads: dict[str, Array]
    dO: Array
    units: list[LayerGrads] = field(repr=False)
    dH0: Array
    dC0: Array | None
    unit_grad_norms: list[Array]
    step_grad_norms: dict[str, Array]
    steps: Steps
    directions: int = 1
    step_grads: dict[str, Array] | None = None

    @property
    def layers(self) -> list[LayerGrads]:
        return self.units[:: self.directions]

    @property
    def grad_norm_per_step(self) -> list[Array]:
        """Per layer, ‖dL/dH_t‖ of its forward direction, (T,)."""
        return self.unit_grad_norms[:: self.directions]

    def unit(self, layer: int, reverse: bool = False) -> LayerGrads:
        if reverse and self.directions == 1:
            raise ShapeError("the model is not bidirectional: it has no reverse direction")
        return self.units[
            (layer % (len(self.units) // self.directions)) * self.directions + reverse
        ]

    def dH(self, layer: int = -1, reverse: bool = False) -> Array:
        """dL/dH_t (B, T, H) of one layer: the total, including what flows from the future (for
        a reverse direction: from the steps before t), indexed by input step."""
        dH = self.unit(layer, reverse).dH
        return (self.steps.reversed(dH) if reverse else dH).swapaxes(0, 1)

    def dA(self, layer: int = -1, reverse: bool = False) -> Array:
        """dL/dA_t (B, T, G·H): the gradient of the pre-activation, indexed by input step."""
        dA = self.unit(layer, reverse).dA_x
        return (self.steps.reversed(dA) if reverse else dA).swapaxes(0, 1)
