"""Input connectivity by central differences: the independent truth the connectivity tests use."""

from collections.abc import Callable

import numpy as np

EPS = 1e-6


def connectivity_by_differences(
    output_at_t: Callable[[np.ndarray], np.ndarray], inputs: np.ndarray, eps: float = EPS
) -> np.ndarray:
    """(T,) ‖∂Y_t/∂X_s‖_F for inputs (T, D), from central differences of `output_at_t` (inputs →
    the (Q,) output at the chosen step), one input element at a time."""
    T, D = inputs.shape
    squared = np.zeros(T)
    for s in range(T):
        for d in range(D):
            bump = np.zeros_like(inputs)
            bump[s, d] = eps
            column = (output_at_t(inputs + bump) - output_at_t(inputs - bump)) / (2 * eps)
            squared[s] += float(np.sum(column**2))
    return np.sqrt(squared)
