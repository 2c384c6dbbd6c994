"""Element-wise nonlinearities φ and their derivatives.

Derivatives are written in terms of the output H = φ(A) where that is cheaper (tanh, sigmoid), so
the backward pass needs no second pass over the pre-activation.

The vanilla RNN's σ is 1 / (1 + e^(−A)), exact in its tails; where e^(−A) overflows to Inf it is
the exact limit 0, and the network silences that overflow warning around its passes.
"""

from collections.abc import Callable

import numpy as np

from app.rnn.arrays import Array
from app.rnn.fast import constant

NONLINEARITIES = ("tanh", "sigmoid", "relu", "identity")


def sigmoid(A: Array, out: Array | None = None) -> Array:
    """σ(A) = 1 / (1 + e^(-A)), written as ½(1 + tanh(A/2)) so that it never overflows."""
    out = np.multiply(A, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def sigmoid_exp(A: Array, out: Array | None = None) -> Array:
    """σ(A) = 1 / (1 + e^(−A)); 0 where e^(−A) overflows (A < −709 in float64)."""
    out = np.negative(A, out=out)
    np.exp(out, out=out)
    np.add(out, constant(1.0, A.dtype), out=out)
    return np.reciprocal(out, out=out)


def relu(A: Array, out: Array | None = None) -> Array:
    return np.maximum(A, constant(0.0, A.dtype), out=out)


def identity(A: Array, out: Array | None = None) -> Array:
    if out is None:
        return A.copy()
    np.copyto(out, A)
    return out


def derivative(name: str, A: Array, H: Array, out: Array | None = None) -> Array:
    """φ'(A) for all elements at once, given the pre-activation A and the output H = φ(A)."""
    if name == "tanh":  # 1 − H²
        out = np.multiply(H, H, out=out)
        return np.subtract(1.0, out, out=out)
    if name == "sigmoid":  # H (1 − H)
        out = np.subtract(1.0, H, out=out)
        out *= H
        return out
    if name == "relu":
        # PyTorch's convention: the derivative of relu at exactly 0 is 0.
        if out is None:
            return (A > 0.0).astype(A.dtype)
        return np.greater(A, 0.0, out=out)
    if name == "identity":
        if out is None:
            return np.ones_like(A)
        out.fill(1.0)
        return out
    raise ValueError(f"unknown nonlinearity {name!r}")


# The forms the vanilla RNN's recurrence uses, inside the network's silenced-overflow passes.
FORWARD: dict[str, Callable[..., Array]] = {
    "tanh": np.tanh,
    "sigmoid": sigmoid_exp,
    "relu": relu,
    "identity": identity,
}
