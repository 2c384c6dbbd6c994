"""Weight files: PyTorch's names and layouts in safetensors, both ways, and every refusal."""

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save as save_numpy
from safetensors.torch import load as load_torch_bytes
from safetensors.torch import save as save_torch
from safetensors.torch import save_file

from app.rnn import weights
from app.rnn.config import ModelConfig
from app.rnn.errors import WeightsError
from app.rnn.network import Network

from .torch_reference import TorchModel, as_tensor, assert_close, make_targets, torch_loss

CELLS = ["rnn", "lstm", "gru"]


def config_for(cell: str, **overrides: object) -> ModelConfig:
    options: dict = {
        "input_size": 3,
        "hidden_size": 4,
        "output_size": 2,
        "num_layers": 2,
        "cell": cell,
        "head": "softmax",
        "loss": "cross_entropy",
    }
    options.update(overrides)
    return ModelConfig(**options)


def trained_torch_model(config: ModelConfig, bias: bool = True) -> TorchModel:
    """A torch model with torch's own initialisation, then three Adam steps on random data."""
    torch.manual_seed(0)
    model = TorchModel(config, bias=bias)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    rng = np.random.default_rng(0)
    for _ in range(3):
        X = as_tensor(rng.normal(size=(4, 5, config.input_size)), torch.float64)
        loss = torch_loss(config, model(X), make_targets(config, rng, 4, 5, class_indices=True))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model


def compare(config: ModelConfig, net: Network, model: TorchModel) -> None:
    """Same logits, loss and gradients (in PyTorch's names) from our net and the torch model."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3, 6, config.input_size))
    targets = make_targets(config, rng, 3, 6, class_indices=True)
    trace = net.forward(X)
    result = net.backward(trace, targets)
    model.zero_grad()
    logits = model(as_tensor(X, torch.float64))
    loss = torch_loss(config, logits, targets)
    loss.backward()
    assert_close(trace.O, logits.detach().numpy(), "logits O", axes=("batch", "step", "output"))
    assert_close(result.loss, loss.item(), "loss")
    ours = weights.grads_to_pytorch(config, result.grads)
    for name, p in model.named_parameters():
        assert_close(ours[name], p.grad.numpy(), f"gradient of {name}")


@pytest.mark.parametrize("cell", CELLS)
def test_a_model_trained_in_torch_and_saved_with_safetensors_loads_unchanged(
    cell: str, tmp_path: Path
) -> None:
    config = config_for(cell)
    model = trained_torch_model(config)
    path = tmp_path / "model.safetensors"
    save_file(model.state_dict(), str(path))
    loaded_config, params = weights.load(path.read_bytes(), config)
    assert loaded_config == config.model_copy(update={"bias": "two"})  # torch's two, kept
    compare(loaded_config, Network(loaded_config, params), model)
    exported = load_torch_bytes(weights.save(loaded_config, params))
    for name, tensor in model.state_dict().items():
        assert torch.equal(exported[name], tensor), name  # bit for bit, bias_hh too


@pytest.mark.parametrize("cell", CELLS)
def test_our_saved_bytes_load_into_torch_and_reproduce_our_outputs(cell: str) -> None:
    config = config_for(cell, init="orthogonal", seed=3)
    net = Network(config)
    data = weights.save(config, net.params)
    model = TorchModel(config)
    model.load_state_dict(load_torch_bytes(data))
    compare(config, net, model)


@pytest.mark.parametrize("cell", CELLS)
def test_saved_bytes_carry_the_config_and_load_back_exactly(cell: str) -> None:
    config = config_for(cell, seed=9, init="xavier")
    net = Network(config)
    loaded_config, params = weights.load(weights.save(config, net.params))
    assert loaded_config == config
    for name, value in net.params.items():
        np.testing.assert_array_equal(params[name], value, err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_a_torch_model_without_biases_loads(cell: str) -> None:
    config = config_for(cell)
    model = trained_torch_model(config, bias=False)
    data = save_torch(model.state_dict())
    assert not any("bias" in name for name in load_torch_bytes(data))
    loaded_config, params = weights.load(data, config)
    assert loaded_config.bias == "none" and not loaded_config.head_bias
    assert not any(".b_" in name for name in params) and "b_q" not in params
    compare(loaded_config, Network(loaded_config, params), model)
    assert weights.to_pytorch(loaded_config, params).keys() == load_torch_bytes(data).keys()
    # said: one bias and a head bias, absent ones are zeros
    summed = config_for(cell, bias="one", head_bias=True)
    _, params = weights.load(data, summed)
    assert "b_q" in params
    assert all(not np.any(params[name]) for name in params if ".b_" in name or name == "b_q")
    compare(summed, Network(summed, params), model)


def numpy_state(config: ModelConfig) -> dict[str, np.ndarray]:
    return weights.to_pytorch(config, Network(config).params)


def test_a_float32_file_loads_into_a_float64_config_and_back() -> None:
    config = config_for("gru")
    state32 = {k: v.astype(np.float32) for k, v in numpy_state(config).items()}
    _, params = weights.load(save_numpy(state32), config)
    assert all(v.dtype == np.float64 for v in params.values())
    config32 = config_for("gru", dtype="float32")
    _, params32 = weights.load(save_numpy(state32), config32)
    assert all(v.dtype == np.float32 for v in params32.values())


def test_a_wrong_tensor_name_is_refused_naming_the_tensor() -> None:
    config = config_for("lstm")
    state = numpy_state(config)
    state["rnn.weight_ih_l7"] = state.pop("rnn.weight_ih_l1")
    with pytest.raises(WeightsError, match=r"rnn\.weight_ih_l7"):
        weights.load(save_numpy(state), config)


def test_a_missing_tensor_is_refused_naming_the_tensor() -> None:
    config = config_for("rnn")
    state = numpy_state(config)
    del state["head.weight"]
    with pytest.raises(WeightsError, match=r"head\.weight is missing"):
        weights.load(save_numpy(state), config)


def test_half_of_the_biases_is_refused_naming_the_missing_one() -> None:
    config = config_for("gru", num_layers=1)
    state = numpy_state(config)
    del state["rnn.bias_hh_l0"]
    with pytest.raises(WeightsError, match=r"rnn\.bias_hh_l0 is missing"):
        weights.load(save_numpy(state), config)


@pytest.mark.parametrize("cell", CELLS)
def test_a_tensor_of_the_wrong_shape_is_refused_naming_the_tensor_and_shapes(cell: str) -> None:
    config = config_for(cell)
    state = numpy_state(config)
    state["rnn.weight_hh_l1"] = np.zeros((config.gates * 5, 5))  # a model of hidden size 5
    with pytest.raises(WeightsError, match=r"rnn\.weight_hh_l1 has shape \(\d+, 5\), expected"):
        weights.load(save_numpy(state), config)


def test_a_tensor_of_integers_is_refused_naming_the_tensor() -> None:
    config = config_for("rnn")
    state = numpy_state(config)
    state["head.bias"] = np.array([1, 2], dtype=np.int64)
    with pytest.raises(WeightsError, match=r"head\.bias has dtype int64"):
        weights.load(save_numpy(state), config)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_tensor_holding_nan_or_inf_is_refused_naming_the_tensor(bad: float) -> None:
    config = config_for("lstm")
    state = numpy_state(config)
    state["rnn.bias_ih_l1"][5] = bad
    with pytest.raises(WeightsError, match=r"rnn\.bias_ih_l1 holds .* \[5\]"):
        weights.load(save_numpy(state), config)


@pytest.mark.parametrize("data", [b"", b"garbage bytes, not a file", b"\xff" * 64])
def test_garbage_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(WeightsError, match="not a valid safetensors file"):
        weights.load(data, config_for("rnn"))


def test_a_file_without_a_config_needs_one() -> None:
    config = config_for("rnn")
    with pytest.raises(WeightsError, match="no model config"):
        weights.load(save_numpy(numpy_state(config)))
