"""Numerical safety: NaN/Inf and wrong shapes are refused with an error that says where."""

import re
import warnings

import numpy as np
import pytest
from pydantic import ValidationError

from app.rnn.arrays import all_finite
from app.rnn.config import ModelConfig
from app.rnn.errors import ConfigError, NumericalError, RNNError, ShapeError
from app.rnn.network import Network


def small_net(cell: str = "rnn", **overrides: object) -> Network:
    options: dict = {"input_size": 2, "hidden_size": 3, "output_size": 2, "num_layers": 2}
    options.update(overrides)
    return Network(ModelConfig(cell=cell, **options))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_nan_or_inf_in_the_inputs_is_refused_naming_the_inputs_and_index(
    bad: float, cell: str
) -> None:
    X = np.zeros((2, 4, 2))
    X[1, 3, 0] = bad
    with pytest.raises(NumericalError, match=re.escape("inputs holds") + ".*" + r"\[1, 3, 0\]"):
        small_net(cell).forward(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_h0_or_c0_is_refused_naming_the_state(bad: float) -> None:
    net = small_net("lstm")
    state = np.zeros((2, 1, 3))
    state[1, 0, 2] = bad
    with pytest.raises(NumericalError, match=r"h0 holds .* \[1, 0, 2\]"):
        net.forward(np.zeros((1, 2, 2)), H0=state)
    with pytest.raises(NumericalError, match=r"c0 holds .* \[1, 0, 2\]"):
        net.forward(np.zeros((1, 2, 2)), C0=state)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_the_targets_is_refused_naming_the_targets(bad: float) -> None:
    net = small_net()
    trace = net.forward(np.zeros((1, 2, 2)))
    targets = np.zeros((1, 2, 2))
    targets[0, 1, 1] = bad
    with pytest.raises((NumericalError, ShapeError), match="targets"):
        net.backward(trace, targets)


@pytest.mark.parametrize("name", ["layer0.W_xh", "layer1.W_hh", "layer1.b_h", "W_hq", "b_q"])
def test_nan_in_a_weight_is_refused_naming_the_parameter(name: str) -> None:
    net = small_net("gru")
    net.params[name].flat[0] = np.nan
    with pytest.raises(NumericalError, match=re.escape(f"parameter {name} holds NaN")):
        net.forward(np.zeros((1, 2, 2)))


def test_a_parameter_array_replaced_after_construction_is_still_checked() -> None:
    # The parameters live in one flat buffer tested at once; an array put in their place later is
    # not part of it and must still be looked at.
    net = small_net("lstm")
    net.params["layer1.W_hh"] = np.full_like(net.params["layer1.W_hh"], np.nan)
    with pytest.raises(NumericalError, match=re.escape("parameter layer1.W_hh holds NaN")):
        net.forward(np.zeros((1, 2, 2)))


def test_a_gradient_that_overflows_is_refused_naming_it() -> None:
    # float32: states near 1e30 and a tiny head keep the outputs and the loss finite, but the head's
    # gradient H_tᵀ dL/dO_t is about 1e40, past float32's 3.4e38.
    net = small_net(nonlinearity="identity", num_layers=1, dtype="float32")
    net.params["layer0.W_xh"][:] = 1.0
    net.params["layer0.W_hh"][:] = 0.0
    net.params["W_hq"][:] = 1e-20
    X = np.full((1, 4, 2), 1e30, dtype=np.float32)
    trace = net.forward(X)
    assert np.isfinite(trace.O).all()
    with pytest.raises(NumericalError, match=re.escape("gradient of W_hq holds Inf")):
        net.backward(trace, np.zeros((1, 4, 2), dtype=np.float32))


@pytest.mark.parametrize("nonlinearity", ["relu", "identity"])
@pytest.mark.parametrize("bad_layer", [0, 1])
def test_an_overflowing_network_names_the_layer_and_the_step_and_returns_no_nan(
    nonlinearity: str, bad_layer: int
) -> None:
    # W_hh = 1e80 · I multiplies the state by 1e80 per step: it passes 1.8e308 at step 3 or 4.
    net = small_net(nonlinearity=nonlinearity)
    for layer in range(2):
        net.params[f"layer{layer}.W_xh"][:] = 0.5
        net.params[f"layer{layer}.b_h"][:] = 0.0
        net.params[f"layer{layer}.W_hh"][:] = 0.1 * np.eye(3)
    net.params[f"layer{bad_layer}.W_hh"][:] = 1e80 * np.eye(3)
    X = np.ones((1, 8, 2))
    with np.errstate(over="ignore", invalid="ignore"):
        H = np.zeros(3)
        layer_input = X[0]
        for layer in range(2):
            states = []
            for t in range(8):
                H = (
                    layer_input[t] @ net.params[f"layer{layer}.W_xh"]
                    + H @ net.params[f"layer{layer}.W_hh"]
                )
                states.append(H)
            layer_input = np.array(states)
            H = np.zeros(3)
            if layer == bad_layer:
                break
    first_bad_step = int(np.argmax(~np.isfinite(layer_input).all(axis=1)))
    assert 2 <= first_bad_step <= 6
    with pytest.raises(NumericalError) as error:
        net.forward(X)
    message = str(error.value)
    assert f"layer {bad_layer}" in message
    assert f"index ({first_bad_step}, 0," in message


def test_a_loss_that_overflows_is_an_error_not_inf() -> None:
    # The forward pass is finite (|O| ≈ 1e250), but the squared error is not representable: an
    # Inf loss is not valid JSON and means nothing to a learner, so it must be refused.
    net = small_net(nonlinearity="identity", num_layers=1)
    net.params["layer0.W_xh"][:] = 1.0
    net.params["layer0.W_hh"][:] = 1e50 * np.eye(3)
    net.params["W_hq"][:] = 1.0
    trace = net.forward(np.ones((1, 6, 2)))
    assert np.isfinite(trace.O).all()
    targets = np.zeros((1, 6, 2))
    with pytest.raises(NumericalError):
        net.backward(trace, targets)
    with pytest.raises(NumericalError):
        net.loss(trace, targets)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.zeros((1, 3, 5)), r"inputs have shape \(1, 3, 5\), expected \(B, T, 2\)"),
        (np.zeros((3, 5)), r"inputs have shape \(3, 5\), expected \(B, T, 2\) or \(T, 2\)"),
        (np.zeros(3), r"inputs have shape \(3,\)"),
        (np.zeros((1, 0, 2)), r"B, T ≥ 1"),
        (np.zeros((0, 3, 2)), r"B, T ≥ 1"),
    ],
)
def test_inputs_of_the_wrong_shape_are_refused_with_the_expected_shape(
    X: np.ndarray, message: str
) -> None:
    with pytest.raises(ShapeError, match=message):
        small_net().forward(X)


def test_an_initial_state_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ShapeError, match=r"h0 has shape \(1, 1, 3\), expected \(L, B, H\)"):
        small_net().forward(np.zeros((1, 2, 2)), H0=np.zeros((1, 1, 3)))


@pytest.mark.parametrize(
    ("mode", "targets", "message"),
    [
        ("sequence", np.zeros((1, 2, 3)), r"targets have shape \(1, 2, 3\), expected \(1, 2, 2\)"),
        ("last", np.zeros((1, 2, 2)), r"targets have shape \(1, 2, 2\), expected \(1, 2\)"),
    ],
)
def test_targets_of_the_wrong_shape_are_refused_with_the_expected_shape(
    mode: str, targets: np.ndarray, message: str
) -> None:
    net = small_net(output_mode=mode)
    with pytest.raises(ShapeError, match=message):
        net.backward(net.forward(np.zeros((1, 2, 2))), targets)


@pytest.mark.parametrize("bad_index", [-1, 4])
def test_a_class_index_out_of_range_is_refused_naming_the_range(bad_index: int) -> None:
    net = small_net(output_size=4, head="softmax", loss="cross_entropy")
    trace = net.forward(np.zeros((2, 3, 2)))
    targets = np.zeros((2, 3), dtype=int)
    targets[1, 2] = bad_index
    with pytest.raises(ShapeError, match=rf"\[0, 3\], found {bad_index}"):
        net.backward(trace, targets)


def test_fractional_class_indices_are_refused() -> None:
    net = small_net(output_size=4, head="softmax", loss="cross_entropy")
    trace = net.forward(np.zeros((1, 2, 2)))
    with pytest.raises(ShapeError, match="whole numbers"):
        net.backward(trace, np.array([[0.5, 1.0]]))


def test_bce_targets_outside_zero_one_are_refused() -> None:
    net = small_net(head="sigmoid", loss="bce")
    trace = net.forward(np.zeros((1, 2, 2)))
    with pytest.raises(ShapeError, match=r"\[0, 1\]"):
        net.backward(trace, np.full((1, 2, 2), 1.5))


def test_parameters_of_the_wrong_shape_are_refused_naming_the_parameter() -> None:
    config = ModelConfig(input_size=2, hidden_size=3, output_size=2)
    params = Network(config).params
    params["layer0.W_hh"] = np.zeros((3, 4))
    with pytest.raises(ShapeError, match=r"layer0.W_hh has shape \(3, 4\)"):
        Network(config, params)
    del params["layer0.W_hh"]
    with pytest.raises(ShapeError, match=r"missing.*layer0\.W_hh"):
        Network(config, params)


BASE = {"input_size": 2, "hidden_size": 3, "output_size": 2}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cell": "cnn"}, "cell"),
        ({"nonlinearity": "softplus"}, "nonlinearity"),
        ({"head": "tanh"}, "head"),
        ({"loss": "hinge"}, "loss"),
        ({"output_mode": "first"}, "output_mode"),
        ({"init": "he"}, "init"),
        ({"dtype": "float16"}, "dtype"),
        ({"input_size": 0}, "input_size"),
        ({"hidden_size": -3}, "hidden_size"),
        ({"output_size": 2.5}, "output_size"),
        ({"num_layers": True}, "num_layers"),
        ({"cell": "lstm", "nonlinearity": "relu"}, "nonlinearity"),
        ({"loss": "cross_entropy", "head": "identity"}, "head"),
        ({"loss": "bce", "head": "softmax"}, "head"),
        ({"init_std": 0.0}, "init_std"),
        ({"init_std": float("nan")}, "init_std"),
        ({"init_std": float("inf")}, "init_std"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_model_config_rejects_an_invalid_field_naming_it(change: dict, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        ModelConfig(**{**BASE, **change})


def test_a_json_integer_written_with_a_point_is_the_integer() -> None:
    # JSON Schema's "integer" includes 2.0; 2.5 and "2" stay invalid (above)
    config = ModelConfig.from_dict({**BASE, "output_size": 2.0, "seed": 7.0})
    assert config.output_size == 2 and type(config.output_size) is int and config.seed == 7


def test_model_config_from_dict_rejects_unknown_and_missing_fields() -> None:
    with pytest.raises(ValidationError, match=r"colour\n  Extra inputs are not permitted"):
        ModelConfig.from_dict({**BASE, "colour": "red"})
    with pytest.raises(ValidationError, match=r"hidden_size\n  Field required"):
        ModelConfig.from_dict({"input_size": 1, "output_size": 1})
    config = ModelConfig(**BASE, cell="gru", seed=4)
    assert ModelConfig.from_dict(config.to_dict()) == config


def test_every_engine_error_is_a_value_error_for_the_web_layer() -> None:
    for error in (ConfigError, ShapeError, NumericalError):
        assert issubclass(error, RNNError)
        assert issubclass(error, ValueError)
    assert issubclass(ValidationError, ValueError)  # an invalid ModelConfig


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [10, 10_000])  # both ways all_finite checks
def test_all_finite_finds_one_nan_or_inf_among_huge_finite_values(dtype: type, size: int) -> None:
    huge = np.full(size, np.finfo(dtype).max / 2, dtype=dtype)
    huge[::2] *= -1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all_finite(huge)
        for bad in (np.inf, -np.inf, np.nan):
            huge[size // 3] = bad
            assert not all_finite(huge)
    assert all_finite(np.zeros((0, 3), dtype=dtype))
