"""The speed tricks give what they replace: ExpGates σ and tanh, to the last few units in the last
place and with exact limits; 0-d constants; contiguous transposes."""

import numpy as np
import pytest

from app.rnn.fast import ExpGates, constant, transposed

DTYPES = [np.float64, np.float32]
LSTM_KINDS = ("sigmoid", "sigmoid", "tanh", "sigmoid")


def evaluate(gates: ExpGates, A_scaled: np.ndarray) -> np.ndarray:
    """The four calls a cell's loop makes, as fast.ExpGates documents them."""
    G = np.exp(A_scaled)
    np.add(G, gates.one, out=G)
    np.divide(gates.numerator, G, out=G)
    return np.add(G, gates.shift, out=G)


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_exp_on_scaled_columns_gives_the_lstms_sigmoid_and_tanh_gates(dtype: type) -> None:
    hidden_size, B = 7, 3
    gates = ExpGates(LSTM_KINDS, hidden_size, np.dtype(dtype))
    rng = np.random.default_rng(0)
    A = rng.normal(0.0, 4.0, (B, 4 * hidden_size)).astype(dtype)  # true pre-activations, rows
    A[0, :4] = [800.0, -800.0, 1e5, -1e5]  # e^(…) overflows or vanishes in both dtypes
    A_gates = A.reshape(B, 4, hidden_size).swapaxes(0, 1)  # (4, B, H)
    with np.errstate(over="ignore"):
        G = evaluate(gates, gates.scaled(A).reshape(B, 4, hidden_size).swapaxes(0, 1))
    A64 = A_gates.astype(np.float64)
    expected = 0.5 * (1.0 + np.tanh(0.5 * A64))  # σ, written so that it never overflows
    expected[2] = np.tanh(A64[2])
    assert G.dtype == dtype
    assert np.abs(G - expected).max() <= 4 * np.finfo(dtype).eps
    saturated = np.abs(A64) >= 800.0
    np.testing.assert_array_equal(G[saturated], np.round(expected[saturated]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_only_gates_leave_the_other_blocks_unscaled_and_unscaling_is_exact(
    dtype: type,
) -> None:
    hidden_size = 5
    gates = ExpGates(("sigmoid", "sigmoid", None), hidden_size, np.dtype(dtype))
    np.testing.assert_array_equal(gates.scale, np.repeat([-1.0, -1.0, 1.0], hidden_size))
    np.testing.assert_array_equal(gates.numerator, 1.0)
    np.testing.assert_array_equal(gates.shift, 0.0)
    A = np.random.default_rng(1).normal(size=(6, 3, 2, hidden_size)).astype(dtype)  # (T, G, B, H)
    scaled = A * gates.scale.reshape(3, 1, hidden_size)
    gates.unscaled(scaled)
    np.testing.assert_array_equal(scaled, A)
    assert not gates.scale.flags.writeable and not gates.numerator.flags.writeable


def test_a_constant_is_a_read_only_0d_array_of_the_dtype() -> None:
    for dtype in DTYPES:
        value = constant(2.0, np.dtype(dtype))
        assert value.shape == () and value.dtype == dtype and float(value) == 2.0
        assert not value.flags.writeable
        assert constant(2.0, np.dtype(dtype)) is value


def test_transposed_is_a_contiguous_copy_of_the_transpose() -> None:
    W = np.arange(12.0).reshape(3, 4)
    W_T = transposed(W)
    assert W_T.flags.c_contiguous and not np.shares_memory(W_T, W)
    np.testing.assert_array_equal(W_T, W.T)
