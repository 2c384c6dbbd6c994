"""The nonlinearities: the exp forms the cells use agree with np.tanh and with σ, to the last few
units in the last place, and reach their limits exactly where exp overflows."""

import numpy as np
import pytest

from app.rnn import activations

DTYPES = [np.float64, np.float32]


def reference_sigmoid(A: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * A.astype(np.float64)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_exp_form_of_tanh_agrees_with_np_tanh_and_saturates_exactly(dtype: type) -> None:
    A = np.concatenate(
        [np.linspace(-30.0, 30.0, 4001), [0.0, -0.0, 1e-12, -1e-300, 400.0, -400.0, 1e4, -1e4]]
    ).astype(dtype)
    assert A.size >= activations.EXP_TANH_MIN_SIZE  # takes the exp path
    with np.errstate(over="ignore"):
        ours = activations.tanh(A)
    assert ours.dtype == dtype
    error = np.abs(ours.astype(np.float64) - np.tanh(A.astype(np.float64)))
    assert error.max() <= 4 * np.finfo(dtype).eps
    assert np.all(ours[np.abs(A) >= 400.0] == np.sign(A[np.abs(A) >= 400.0]))
    assert np.all(np.abs(ours) <= 1.0)


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


def test_small_arrays_take_np_tanh_unchanged() -> None:
    A = np.linspace(-3.0, 3.0, activations.EXP_TANH_MIN_SIZE - 1)
    np.testing.assert_array_equal(activations.tanh(A), np.tanh(A))


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


@pytest.mark.parametrize("name", activations.NONLINEARITIES)
def test_the_form_chosen_for_a_size_is_the_one_forward_would_take(name: str) -> None:
    rng = np.random.default_rng(3)
    for size in (activations.EXP_TANH_MIN_SIZE - 1, activations.EXP_TANH_MIN_SIZE):
        A = rng.normal(size=size)
        with np.errstate(over="ignore"):
            np.testing.assert_array_equal(
                activations.for_size(name, size)(A), activations.FORWARD[name](A)
            )


def test_tanh_goes_through_exp_from_its_threshold_on() -> None:
    assert activations.for_size("tanh", activations.EXP_TANH_MIN_SIZE - 1) is np.tanh
    assert activations.for_size("tanh", activations.EXP_TANH_MIN_SIZE) is activations.tanh_exp
