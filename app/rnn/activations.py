"""Element-wise nonlinearities φ and their derivatives.

Derivatives are written in terms of the output H = φ(A) where that is cheaper (tanh, sigmoid), so
the backward pass needs no second pass over the pre-activation.

Speed: NumPy's tanh costs several times its exp (benchmarks/RESULTS.md), so the cells'
nonlinearities go through exp: σ(a) = 1 / (1 + e^(−a)) and tanh(a) = 1 − 2 / (1 + e^(2a)). Where
e^(…) overflows to Inf these return the exact limits 0, ±1; the network silences that overflow
warning around its passes. Both agree with np.tanh and PyTorch to a few units in the last place.
"""

from collections.abc import Callable

import numpy as np

from app.rnn.arrays import Array
from app.rnn.fast import constant

NONLINEARITIES = ("tanh", "sigmoid", "relu", "identity")

# Below this many elements the four extra NumPy calls of the exp form of tanh cost more than
# np.tanh's slower loop saves (the break-even is measured in benchmarks/RESULTS.md).
EXP_TANH_MIN_SIZE = 512


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


def tanh(A: Array, out: Array | None = None) -> Array:
    """tanh(A); from EXP_TANH_MIN_SIZE elements on through exp (tanh_exp)."""
    if A.size < EXP_TANH_MIN_SIZE:
        return np.tanh(A, out=out)
    return tanh_exp(A, out=out)


def tanh_exp(A: Array, out: Array | None = None) -> Array:
    """tanh(A) as 1 − 2 / (1 + e^(2A)), which is ±1 where e^(2A) overflows or is 0."""
    one = constant(1.0, A.dtype)
    out = np.multiply(A, constant(2.0, A.dtype), out=out)
    np.exp(out, out=out)
    np.add(out, one, out=out)
    np.divide(constant(-2.0, A.dtype), out, out=out)
    return np.add(out, one, out=out)


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
    "tanh": tanh,
    "sigmoid": sigmoid_exp,
    "relu": relu,
    "identity": identity,
}


def for_size(nonlinearity: str, size: int) -> Callable[..., Array]:
    """FORWARD[nonlinearity] for arrays of `size` elements, with tanh's choice between np.tanh
    and tanh_exp made once, by a loop before it starts, rather than at every call."""
    if nonlinearity == "tanh":
        return np.tanh if size < EXP_TANH_MIN_SIZE else tanh_exp
    return FORWARD[nonlinearity]
