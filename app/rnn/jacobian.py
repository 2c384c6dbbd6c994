"""Why gradients vanish or explode: the Jacobian ∂H_T/∂H_t and the spectral radius of W_hh.

For the vanilla RNN ∂H_t/∂H_{t-1} = diag(φ'(A_t)) W_hhᵀ, so ∂H_T/∂H_t is a product of T − t
such factors; its norm shrinks geometrically when ρ(W_hh)·max|φ'| < 1 and can grow when it is
larger. For the LSTM the product runs through both H and C (∂H_T/∂H_t is the partial derivative
with C_t held fixed); for the GRU through the gates and the direct path z ⊙ H_{t-1}.
"""

from typing import Literal

import numpy as np

from app.rnn.arrays import Array
from app.rnn.errors import ShapeError
from app.rnn.network import ForwardTrace, Network

Norm = Literal["spectral", "fro"]


def jacobian_norms(
    net: Network,
    trace: ForwardTrace,
    layer: int = -1,
    sequence: int = 0,
    norm: Norm = "spectral",
) -> Array:
    """‖∂H_T/∂H_t‖ for t = 0…T−1 (T−1 gives ‖I‖), of one layer, for one sequence of the batch.

    Computed by pushing the H identity rows backwards one step at a time (H vector-Jacobian
    products per step), so the cost is T·H·(G·H)·H: bound H and T before calling.
    `norm`: "spectral" (largest singular value) or "fro" (Frobenius). Returns (T,).
    """
    if norm not in ("spectral", "fro"):
        raise ShapeError(f"norm must be 'spectral' or 'fro', got {norm!r}")
    B = trace.X.shape[0]
    if not 0 <= sequence < B:
        raise ShapeError(f"sequence index {sequence} is outside the batch of {B}")
    layer_index = layer % net.config.num_layers
    layer_trace = trace.layers[layer_index]
    params = net.layer_params(layer_index)
    step_factors = net.cell.factors(layer_trace)
    T, _, H = layer_trace.H.shape
    J = np.empty((T, H, H), dtype=layer_trace.H.dtype)
    J[T - 1] = np.eye(H, dtype=J.dtype)
    dH: Array = J[T - 1]
    dC: Array | None = None
    for t in range(T - 1, 0, -1):
        dH, dC = net.cell.vjp_step(layer_trace, params, step_factors, t, sequence, dH, dC)
        J[t - 1] = dH
    if norm == "fro":
        return np.sqrt((J * J).sum(axis=(1, 2)))
    return np.linalg.norm(J, ord=2, axis=(1, 2))


def spectral_radius(net: Network) -> list[dict[str, float]]:
    """ρ = max |eigenvalue| of each recurrent weight block, per layer: {"W_hh": ρ} for the rnn,
    {"i": ρ, "f": ρ, "g": ρ, "o": ρ} for the lstm, {"r", "z", "n"} for the gru."""
    names = {"rnn": ("W_hh",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}[
        net.config.cell
    ]
    H = net.config.hidden_size
    result = []
    for layer in range(net.config.num_layers):
        W_hh = net.params[f"layer{layer}.W_hh"]
        result.append(
            {
                name: float(np.max(np.abs(np.linalg.eigvals(W_hh[:, k * H : (k + 1) * H]))))
                for k, name in enumerate(names)
            }
        )
    return result
