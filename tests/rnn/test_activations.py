"""The nonlinearities: the exp form of σ the vanilla RNN uses agrees with the form that never
overflows to the last few units in the last place and reaches its limits exactly where exp
overflows; the derivatives are φ' from φ's output."""

import numpy as np
import pytest

from app.rnn import activations

DTYPES = [np.float64, np.float32]


def reference_sigmoid(A: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * A.astype(np.float64)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_exp_form_of_sigmoid_agrees_with_the_tanh_form_and_saturates_exactly(
    dtype: type,
) -> None:
    A = np.concatenate([np.linspace(-40.0, 40.0, 801), [0.0, 800.0, -800.0, 1e5, -1e5]])
    A = A.astype(dtype)
    with np.errstate(over="ignore"):
        ours = activations.sigmoid_exp(A)
    error = np.abs(ours.astype(np.float64) - reference_sigmoid(A))
    assert error.max() <= 2 * np.finfo(dtype).eps
    assert ours[A == 800.0][0] == 1.0 and ours[A == -800.0][0] == 0.0
    assert np.all((ours >= 0.0) & (ours <= 1.0))
    np.testing.assert_allclose(activations.sigmoid(A), ours, atol=2 * np.finfo(dtype).eps)


@pytest.mark.parametrize("name", activations.NONLINEARITIES)
def test_derivatives_written_into_a_buffer_equal_the_fresh_ones(name: str) -> None:
    rng = np.random.default_rng(0)
    A = rng.normal(size=(7, 5))
    A[0, 0] = 0.0
    H = activations.FORWARD[name](A)
    fresh = activations.derivative(name, A, H)
    buffer = np.full_like(A, np.nan)
    assert activations.derivative(name, A, H, out=buffer) is buffer
    np.testing.assert_array_equal(buffer, fresh)
    expected = {
        "tanh": 1.0 - np.tanh(A) ** 2,
        "sigmoid": reference_sigmoid(A) * (1.0 - reference_sigmoid(A)),
        "relu": (A > 0).astype(float),
        "identity": np.ones_like(A),
    }[name]
    np.testing.assert_allclose(fresh, expected, atol=1e-15)
