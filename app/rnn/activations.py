"""Element-wise nonlinearities φ and their derivatives.

Derivatives are written in terms of the output H = φ(A) where that is cheaper (tanh, sigmoid), so
the backward pass needs no second pass over the pre-activation.
"""

from collections.abc import Callable

import numpy as np

from app.rnn.arrays import Array

NONLINEARITIES = ("tanh", "sigmoid", "relu", "identity")


def sigmoid(A: Array, out: Array | None = None) -> Array:
    """σ(A) = 1 / (1 + e^(-A)), written as ½(1 + tanh(A/2)) so that it never overflows."""
    out = np.multiply(A, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def relu(A: Array, out: Array | None = None) -> Array:
    return np.maximum(A, 0.0, out=out)


def identity(A: Array, out: Array | None = None) -> Array:
    if out is None:
        return A.copy()
    np.copyto(out, A)
    return out


def tanh(A: Array, out: Array | None = None) -> Array:
    return np.tanh(A, out=out)


def derivative(name: str, A: Array, H: Array) -> Array:
    """φ'(A) for all elements at once, given the pre-activation A and the output H = φ(A)."""
    if name == "tanh":
        return 1.0 - H * H
    if name == "sigmoid":
        return H * (1.0 - H)
    if name == "relu":
        # PyTorch's convention: the derivative of relu at exactly 0 is 0.
        return (A > 0).astype(A.dtype)
    if name == "identity":
        return np.ones_like(A)
    raise ValueError(f"unknown nonlinearity {name!r}")


FORWARD: dict[str, Callable[..., Array]] = {
    "tanh": tanh,
    "sigmoid": sigmoid,
    "relu": relu,
    "identity": identity,
}
