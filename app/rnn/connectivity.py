"""Which inputs matter: ‖∂Y_t/∂X_s‖_F, how strongly the output at step t depends on each input.

Y_t = head(O_t) is the head's output after softmax or sigmoid (the identity head: the logits
O_t themselves), the same array the forward pass returns as Y. Its Q components are pushed
backwards together as a batch of Q seeds: seed q starts from dY_t = e_q, so one BPTT over the
copies of one sequence yields every row of the Q×D Jacobian ∂Y_t/∂X_s for every s at once.
"""

import numpy as np

from app.rnn.arrays import Array
from app.rnn.errors import ShapeError
from app.rnn.losses import head_backward
from app.rnn.network import Network


def output_steps(net: Network, T: int) -> list[int]:
    """The input steps at which the head produces an output: all T in "sequence" mode, only
    T − 1 in "last" mode."""
    return list(range(T)) if net.config.output_mode == "sequence" else [T - 1]


def input_connectivity(
    net: Network,
    X: Array,
    t: int,
    H0: Array | None = None,
    C0: Array | None = None,
) -> Array:
    """X: (T, D) one sequence; H0, C0: (L, H) or None for zeros → (T,) ‖∂Y_t/∂X_s‖_F for
    s = 0…T−1, exactly 0 for s > t.

    t is an input step with an output (every step in "sequence" mode, T − 1 in "last" mode).
    The cost is one forward and one backward pass over a batch of Q copies of the sequence:
    bound Q·T·H before calling.
    """
    cfg = net.config
    X = np.asarray(X, dtype=net.dtype)
    if X.ndim != 2:
        raise ShapeError(f"inputs have shape {X.shape}, expected one sequence (T, D)")
    T = X.shape[0]
    steps = output_steps(net, T)
    if isinstance(t, bool) or t not in steps:
        raise ShapeError(
            f"t = {t!r} is not an output step: expected 0 ≤ t ≤ {T - 1}"
            if cfg.output_mode == "sequence"
            else f"t = {t!r} is not an output step: a many-to-one model outputs only at {T - 1}"
        )
    Q = cfg.output_size
    trace = net.forward(
        np.broadcast_to(X, (Q, *X.shape)),
        None if H0 is None else np.repeat(np.asarray(H0, dtype=net.dtype)[:, None], Q, axis=1),
        None if C0 is None else np.repeat(np.asarray(C0, dtype=net.dtype)[:, None], Q, axis=1),
    )
    Y_t = trace.Y[:, t] if cfg.output_mode == "sequence" else trace.Y  # (Q seeds, Q)
    dO_t = head_backward(np.eye(Q, dtype=net.dtype), Y_t, cfg.head)  # (Q seeds, Q)
    H = cfg.hidden_size
    dH_out = np.zeros((T, Q, H), dtype=net.dtype)
    dH_out[t] = dO_t @ net.readout.T
    with np.errstate(over="ignore", invalid="ignore"):
        for layer in range(cfg.num_layers - 1, -1, -1):
            params = net.layer_params(layer)
            scratch = {name: np.empty_like(value) for name, value in params.items()}
            result = net.cell.backward(trace.layers[layer], params, dH_out, scratch, None)
            dH_out = result.dX  # (T, Q seeds, D or the layer below's H)
    # No seed reaches past t: the backward sweep carries exact zeros over s > t.
    return np.sqrt(np.einsum("tqd,tqd->t", dH_out, dH_out))


def reach(norms: Array, t: int, share: float = 0.9) -> int:
    """How far back the output at t looks: the fewest last steps k (s = t−k+1…t) that hold
    `share` of ‖∂Y_t/∂X‖_F² = Σ_s ‖∂Y_t/∂X_s‖_F². norms: (T,) from input_connectivity."""
    weights = np.asarray(norms[: t + 1], dtype=np.float64) ** 2
    total = weights.sum()
    if total == 0.0:
        return 0
    from_t = np.cumsum(weights[::-1])
    return int(np.searchsorted(from_t, share * total * (1.0 - 1e-12)) + 1)
