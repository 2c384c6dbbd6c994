"""Initialisers: reproducible per seed, and each draws what its docstring promises."""

import numpy as np
import pytest
from pydantic import ValidationError

from app.rnn.config import INITS, ModelConfig
from app.rnn.init import init_params, parameter_shapes

CELLS = ["rnn", "lstm", "gru"]


def config_for(cell: str, init: str, **overrides: object) -> ModelConfig:
    options: dict = {
        "input_size": 5,
        "hidden_size": 48,
        "output_size": 3,
        "num_layers": 2,
        "cell": cell,
        "init": init,
    }
    options.update(overrides)
    return ModelConfig(**options)


def blocks(W: np.ndarray, H: int) -> list[np.ndarray]:
    """The gate blocks of a (rows, G·H) weight, each (rows, H)."""
    return [W[:, k * H : (k + 1) * H] for k in range(W.shape[1] // H)]


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("cell", CELLS)
def test_every_init_is_reproducible_for_a_seed_and_differs_across_seeds(
    init: str, cell: str
) -> None:
    first = init_params(config_for(cell, init, seed=1))
    again = init_params(config_for(cell, init, seed=1))
    other = init_params(config_for(cell, init, seed=2))
    assert list(first) == list(parameter_shapes(config_for(cell, init)))
    for name, value in first.items():
        np.testing.assert_array_equal(value, again[name], err_msg=name)
        assert value.shape == parameter_shapes(config_for(cell, init))[name]
    random_weights = [
        name
        for name in first
        if not (init == "identity" and name.endswith("W_hh"))
        and (init == "pytorch" or (".b_" not in name and name != "b_q"))
    ]
    assert random_weights
    for name in random_weights:
        assert not np.array_equal(first[name], other[name]), f"{init}: {name} ignores the seed"


@pytest.mark.parametrize("init", INITS)
def test_a_float32_config_draws_float32_parameters(init: str) -> None:
    params = init_params(config_for("lstm", init, dtype="float32"))
    assert all(v.dtype == np.float32 for v in params.values())


@pytest.mark.parametrize("cell", CELLS)
def test_orthogonal_init_gives_orthogonal_recurrent_blocks(cell: str) -> None:
    for D in (5, 80):  # fewer and more inputs than hidden units
        config = config_for(cell, "orthogonal", input_size=D)
        params = init_params(config)
        H = config.hidden_size
        for layer in range(2):
            for k, Q in enumerate(blocks(params[f"layer{layer}.W_hh"], H)):
                np.testing.assert_allclose(Q.T @ Q, np.eye(H), atol=1e-12, err_msg=f"W_hh {k}")
            for k, B in enumerate(blocks(params[f"layer{layer}.W_xh"], H)):
                gram = B.T @ B if B.shape[0] >= H else B @ B.T
                np.testing.assert_allclose(
                    gram, np.eye(min(B.shape)), atol=1e-12, err_msg=f"W_xh block {k}"
                )
        assert not np.any(params["layer0.b_h"])


@pytest.mark.parametrize("cell", CELLS)
def test_identity_init_sets_every_recurrent_gate_block_to_the_identity(cell: str) -> None:
    config = config_for(cell, "identity")
    params = init_params(config)
    for layer in range(2):
        for Q in blocks(params[f"layer{layer}.W_hh"], config.hidden_size):
            np.testing.assert_array_equal(Q, np.eye(config.hidden_size))
        W_xh = params[f"layer{layer}.W_xh"]
        assert 0 < np.abs(W_xh).max() < 0.01  # N(0, 0.001²)
        assert np.std(W_xh) == pytest.approx(0.001, rel=0.1)
        assert not np.any(params[f"layer{layer}.b_h"])


def test_uniform_init_draws_from_zero_to_one_with_zero_biases() -> None:
    params = init_params(config_for("rnn", "uniform"))
    for name in ("layer0.W_xh", "layer0.W_hh", "layer1.W_hh"):
        W = params[name]
        assert W.min() >= 0.0 and W.max() < 1.0, name
        # U(0, 1): mean ½, σ = 1/√12; allow four standard errors of the sample mean.
        assert W.mean() == pytest.approx(0.5, abs=4 * np.sqrt(1 / 12 / W.size)), name
        assert W.std() == pytest.approx(np.sqrt(1 / 12), rel=0.05), name
    assert not np.any(params["layer0.b_h"]) and not np.any(params["b_q"])


def test_uniform_symmetric_init_draws_from_minus_one_to_one() -> None:
    W = init_params(config_for("rnn", "uniform_symmetric"))["layer0.W_hh"]
    assert W.min() >= -1.0 and W.max() < 1.0
    assert W.mean() == pytest.approx(0.0, abs=0.03)
    assert W.std() == pytest.approx(np.sqrt(1 / 3), rel=0.05)


def test_normal_init_has_the_configured_standard_deviation() -> None:
    params = init_params(config_for("gru", "normal", init_std=0.2))
    W = params["layer1.W_hh"]
    assert W.std() == pytest.approx(0.2, rel=0.03)
    assert W.mean() == pytest.approx(0.0, abs=0.01)
    assert not np.any(params["layer1.b_hn"])


@pytest.mark.parametrize("cell", CELLS)
def test_pytorch_init_respects_torchs_bounds_and_sums_the_two_biases(cell: str) -> None:
    config = config_for(cell, "pytorch")
    params = init_params(config)
    H = config.hidden_size
    k = 1.0 / np.sqrt(H)
    assert np.abs(params["b_q"]).max() <= k
    for name in ("layer0.W_xh", "layer0.W_hh", "layer1.W_xh", "layer1.W_hh", "W_hq"):
        W = params[name]
        assert np.abs(W).max() <= k, name
        assert np.abs(W).max() > 0.9 * k, name  # the draws fill the interval
        assert W.std() == pytest.approx(k / np.sqrt(3), rel=0.15), name
    b_h = params["layer0.b_h"]
    merged = b_h[: 2 * H] if cell == "gru" else b_h  # the GRU's b_in is bias_ih's alone
    # bias_ih + bias_hh: a sum of two U(−k, k) draws, triangular on (−2k, 2k), σ = k·√(2/3).
    assert np.abs(merged).max() <= 2 * k
    assert np.abs(merged).max() > k
    assert merged.std() == pytest.approx(k * np.sqrt(2 / 3), rel=0.2)
    if cell == "gru":
        assert np.abs(b_h[2 * H :]).max() <= k
        assert np.abs(params["layer0.b_hn"]).max() <= k


@pytest.mark.parametrize("cell", CELLS)
def test_xavier_init_uses_the_glorot_bound_of_each_gate_block(cell: str) -> None:
    config = config_for(cell, "xavier")
    params = init_params(config)
    H = config.hidden_size
    for name, fan_in in (("layer0.W_xh", 5), ("layer0.W_hh", H), ("layer1.W_xh", H)):
        bound = np.sqrt(6.0 / (fan_in + H))
        W = params[name]
        assert np.abs(W).max() <= bound, name
        assert np.abs(W).max() > 0.9 * bound, name
    head_bound = np.sqrt(6.0 / (H + config.output_size))
    assert np.abs(params["W_hq"]).max() <= head_bound
    assert not np.any(params["layer0.b_h"])


@pytest.mark.parametrize("init", ["pytorch", "xavier", "orthogonal"])
def test_forget_bias_is_added_to_the_lstm_forget_gate_of_every_layer_only(init: str) -> None:
    base = ModelConfig(
        input_size=3, hidden_size=5, output_size=2, cell="lstm", num_layers=2, init=init, seed=4
    )
    shifted = ModelConfig(**{**base.to_dict(), "forget_bias": 1.0})
    before, after = init_params(base), init_params(shifted)
    H = base.hidden_size
    for name, value in before.items():
        if name.endswith("b_h"):
            np.testing.assert_array_equal(after[name][H : 2 * H], value[H : 2 * H] + 1.0)
            np.testing.assert_array_equal(after[name][:H], value[:H])
            np.testing.assert_array_equal(after[name][2 * H :], value[2 * H :])
        else:
            np.testing.assert_array_equal(after[name], value)


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_forget_bias_is_refused_where_there_is_no_forget_gate(cell: str) -> None:
    with pytest.raises(ValidationError, match="forget_bias applies to the lstm only"):
        ModelConfig(input_size=1, hidden_size=2, output_size=1, cell=cell, forget_bias=1.0)


@pytest.mark.parametrize("bias", [float("nan"), float("inf"), 11.0, True, "1"])
def test_forget_bias_must_be_a_bounded_number(bias: object) -> None:
    with pytest.raises(ValidationError, match="forget_bias"):
        ModelConfig(input_size=1, hidden_size=2, output_size=1, cell="lstm", forget_bias=bias)  # type: ignore[arg-type]
