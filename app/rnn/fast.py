"""The fast cells' speed tricks, one helper each; benchmarks/RESULTS.md measures what each buys.

At the small sizes of most of the page's models (B = 1, H ≈ 100) a step's time is NumPy's fixed
cost per call, not its arithmetic, so the tricks cut calls and the cost of each call. For the
same reason the cells' loops call NumPy's functions through local names (`add = np.add`): a
local is looked up faster than a module's attribute, and a step makes a dozen calls.
"""

import functools

import numpy as np

from app.rnn.arrays import Array


@functools.cache
def constant(value: float, dtype: np.dtype) -> Array:
    """`value` as a read-only 0-d array of `dtype`. As an operand of a call inside a per-step loop
    it costs NumPy less than a Python float, which NumPy converts on every call."""
    array = np.array(value, dtype=np.dtype(dtype))
    array.setflags(write=False)
    return array


class ExpGates:
    """σ and tanh gates of a step through a single exp, on pre-scaled weight columns.

    σ(a) = 1 / (1 + e^(−a)) and tanh(a) = 2 / (1 + e^(−2a)) − 1. With the weight and bias columns
    of the σ gates scaled by −1 and those of the tanh gates by −2 (`scaled`, once per pass), the
    pre-activations A' come out scaled, and every gate of a step is m / (1 + e^(A')) + s, with
    m = 1, s = 0 for σ and m = 2, s = −1 for tanh: one exp, one add, one divide and one add over
    all of a step's gates, where one call per gate and NumPy's tanh (dearer than its exp, see
    activations.py) would cost several times as much. A cell writes the four calls in its loop,

        exp(A_t, out=G_t); add(G_t, one, out=G_t); divide(numerator, G_t, out=G_t);
        add(G_t, shift, out=G_t)

    (σ gates only: exp, add one, reciprocal), because a method call around them costs about as
    much as one more call. Where e^(A') overflows the gates are their exact limits. Scaling by −1
    and −2 is exact in binary floating point, so `unscaled` recovers the true pre-activations.

    `kinds`: "sigmoid", "tanh" or None (a block left as it is) for each gate block of the
    weights; the gates evaluated are the leading blocks that are not None, (G', B, H) a step.
    numerator and shift: m and s, (G', 1, H).
    """

    def __init__(self, kinds: tuple[str | None, ...], hidden_size: int, dtype: np.dtype) -> None:
        factor = {"sigmoid": -1.0, "tanh": -2.0, None: 1.0}
        self.scale = np.repeat([factor[kind] for kind in kinds], hidden_size).astype(dtype)
        is_tanh = np.array([kind == "tanh" for kind in kinds if kind is not None])[:, None, None]
        self._evaluated = len(is_tanh)
        shape = (len(is_tanh), 1, hidden_size)
        self.one = constant(1.0, dtype)
        self.numerator = np.broadcast_to(np.where(is_tanh, 2.0, 1.0), shape).astype(dtype)
        self.shift = np.broadcast_to(np.where(is_tanh, -1.0, 0.0), shape).astype(dtype)
        for vector in (self.scale, self.numerator, self.shift):
            vector.setflags(write=False)  # shared by every pass of this size

    def scaled(self, W: Array) -> Array:
        """W (·, G·H) or b (G·H,) with its gate columns scaled."""
        return W * self.scale

    def unscaled(self, A: Array) -> None:
        """Scaled pre-activations A (T, G, B, H) back to the true ones, in place."""
        gates = self._evaluated
        A[:, :gates] /= self.scale[: gates * A.shape[-1]].reshape(gates, 1, -1)


def transposed(W: Array) -> Array:
    """Wᵀ as a C-contiguous copy, for backward's per-step products dA_t Wᵀ: with a batch,
    OpenBLAS multiplies by a contiguous matrix faster than by the transposed view of W
    (benchmarks/RESULTS.md)."""
    return np.ascontiguousarray(W.T)
