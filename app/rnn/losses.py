"""The output head and the losses, mean-reduced as PyTorch's defaults are.

O are the logits H_t W_hq + b_q, Y = head(O) what the page shows. Cross-entropy and BCE are
computed from the logits (log-softmax, log-sigmoid), as torch's CrossEntropyLoss and
BCEWithLogitsLoss do, so no log of 0 and no overflowing exp can occur. MSE works on Y with any head.
"""

import numpy as np

from app.rnn.activations import sigmoid
from app.rnn.arrays import Array
from app.rnn.errors import ShapeError


def softmax(O: Array) -> Array:
    """Row-wise softmax over the last axis, shifted by the row maximum so exp never overflows."""
    shifted = O - O.max(axis=-1, keepdims=True)
    E = np.exp(shifted)
    return E / E.sum(axis=-1, keepdims=True)


def log_softmax(O: Array) -> Array:
    shifted = O - O.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def head_forward(O: Array, head: str) -> Array:
    """Y = head(O), same shape as O."""
    if head == "identity":
        return O.copy()
    if head == "sigmoid":
        return sigmoid(O)
    if head == "softmax":
        return softmax(O)
    raise ValueError(f"unknown head {head!r}")


def head_backward(dY: Array, Y: Array, head: str) -> Array:
    """dL/dO from dL/dY through the head's Jacobian."""
    if head == "identity":
        return dY
    if head == "sigmoid":
        return dY * Y * (1.0 - Y)
    if head == "softmax":
        return Y * (dY - (dY * Y).sum(axis=-1, keepdims=True))
    raise ValueError(f"unknown head {head!r}")


def loss_and_grad(O: Array, Y: Array, targets: Array, loss: str, head: str) -> tuple[float, Array]:
    """The mean loss and dL/dO (O's shape).

    O, Y: (..., Q). targets: (..., Q) values, or for cross-entropy also (...) integer class indices.
    MSE and BCE average over every element; cross-entropy over every row (all but the class axis).
    """
    if loss == "mse":
        diff = Y - targets
        flat = diff.reshape(-1)
        value = float(flat.dot(flat)) / diff.size
        diff *= 2.0 / diff.size
        return value, head_backward(diff, Y, head)
    if loss == "bce":
        # log(1 + e^(−|O|)) + max(O, 0) − O·y: BCE of σ(O) against y without ever forming log 0.
        value = float(np.mean(np.maximum(O, 0.0) - O * targets + np.log1p(np.exp(-np.abs(O)))))
        return value, (Y - targets) / O.size
    if loss == "cross_entropy":
        rows = O.size // O.shape[-1]
        if np.issubdtype(targets.dtype, np.integer):
            index = np.asarray(targets, dtype=np.intp)[..., None]
            value = -float(np.take_along_axis(log_softmax(O), index, axis=-1).sum()) / rows
            dO = Y.copy()
            np.put_along_axis(dO, index, np.take_along_axis(dO, index, axis=-1) - 1.0, axis=-1)
            return value, dO / rows
        value = -float((targets * log_softmax(O)).sum()) / rows
        return value, (Y * targets.sum(axis=-1, keepdims=True) - targets) / rows
    raise ShapeError(f"unknown loss {loss!r}")
