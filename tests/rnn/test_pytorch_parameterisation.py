"""PyTorch's parameterisation exactly: two biases trained as torch trains them, bias=False,
models without a head, heads under any name; all against torch autograd and torch.optim."""

import numpy as np
import pytest
import torch
from pydantic import ValidationError
from safetensors.torch import load as load_torch_bytes
from safetensors.torch import save as save_torch

from app.rnn import weights
from app.rnn.config import ModelConfig
from app.rnn.errors import WeightsError
from app.rnn.network import Network
from app.rnn.optim import make_optimizer

CELLS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
D, H, Q, L = 3, 4, 2, 2


class Model(torch.nn.Module):
    """A user's model: the recurrent module `encoder`, a Linear head under `head_name`."""

    def __init__(self, cell: str, head_name: str | None = "fc", bias: bool = True) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.encoder = CELLS[cell](D, H, num_layers=L, batch_first=True, bias=bias)
        self.head_name = head_name
        if head_name is not None:
            self.add_module(head_name, torch.nn.Linear(H, Q))
        with torch.no_grad():  # biases of their own size, so that b_ih and b_hh differ
            for name, parameter in self.encoder.named_parameters():
                parameter.add_(torch.randn_like(parameter) * (0.5 if "bias" in name else 0.2))
        self.double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.encoder(x)
        return out if self.head_name is None else getattr(self, self.head_name)(out)


def config(cell: str, **options: object) -> ModelConfig:
    return ModelConfig(
        **{"input_size": D, "hidden_size": H, "output_size": Q, "num_layers": L, "cell": cell}
        | options
    )


def imported(model: torch.nn.Module, cfg: ModelConfig, **options: str) -> tuple[Network, dict]:
    """The model's state dict as a safetensors file (its own names) through the import."""
    loaded, params = weights.load(save_torch(model.state_dict()), cfg, **options)
    return Network(loaded, params), params


def data(out: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(3, 6, D)), rng.normal(size=(3, 6, out))


def ours_in_torch_names(net: Network) -> dict[str, np.ndarray]:
    return weights.to_pytorch(net.config, net.params)


def torch_in_our_names(model: Model) -> dict[str, np.ndarray]:
    state = {}
    for name, tensor in model.state_dict().items():
        module, leaf = name.split(".", 1)
        state[("rnn." if module == "encoder" else "head.") + leaf] = tensor.numpy()
    return state


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("cell", CELLS)
def test_five_steps_on_an_imported_model_give_pytorchs_weights(cell: str, optimizer: str) -> None:
    model = Model(cell)
    net, _ = imported(model, config(cell))
    assert net.config.bias == "two" and {"layer0.b_ih", "layer0.b_hh"} <= set(net.params)
    X, Y = data(Q)
    ours = make_optimizer(optimizer, 0.1)
    theirs = (torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam)(
        model.parameters(), lr=0.1
    )
    for _ in range(5):
        result = net.backward(net.forward(X), Y)
        ours.step(net.params, result.grads)
        theirs.zero_grad()
        torch.nn.functional.mse_loss(model(torch.from_numpy(X)), torch.from_numpy(Y)).backward()
        theirs.step()
    expected = torch_in_our_names(model)
    got = ours_in_torch_names(net)
    assert set(got) == set(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=0, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_one_summed_bias_trains_differently_from_pytorch(cell: str) -> None:
    """What the two biases fix: a single b_h moves at half the rate of the pair."""
    model = Model(cell)
    net, _ = imported(model, config(cell, bias="one"))
    X, Y = data(Q)
    ours, theirs = make_optimizer("sgd", 0.1), torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(5):
        ours.step(net.params, net.backward(net.forward(X), Y).grads)
        theirs.zero_grad()
        torch.nn.functional.mse_loss(model(torch.from_numpy(X)), torch.from_numpy(Y)).backward()
        theirs.step()
    state = model.state_dict()
    summed = (state["encoder.bias_ih_l0"] + state["encoder.bias_hh_l0"]).numpy()
    if cell == "gru":  # our b_h's n block is b_in alone
        summed[2 * H :] = state["encoder.bias_ih_l0"][2 * H :].numpy()
    assert np.abs(net.params["layer0.b_h"] - summed).max() > 1e-4


@pytest.mark.parametrize("cell", CELLS)
def test_an_export_loads_strictly_into_torch_bit_for_bit(cell: str) -> None:
    model = Model(cell)
    net, _ = imported(model, config(cell))
    exported = load_torch_bytes(weights.save(net.config, net.params))
    fresh = Model(cell)
    fresh.load_state_dict(
        {
            ("encoder." if name.startswith("rnn.") else "fc.") + name.split(".", 1)[1]: tensor
            for name, tensor in exported.items()
        },
        strict=True,
    )
    for name, tensor in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[name], tensor), name


def check_pass(net: Network, model: torch.nn.Module, out: int, prefix: str) -> None:
    """Outputs, loss and every gradient (PyTorch names) of our net and the torch model."""
    X, Y = data(out, seed=4)
    trace = net.forward(X)
    result = net.backward(trace, Y)
    model.zero_grad()
    prediction = model(torch.from_numpy(X))
    if isinstance(prediction, tuple):  # a bare torch.nn.RNN/LSTM/GRU: (out, state)
        prediction = prediction[0]
    loss = torch.nn.functional.mse_loss(prediction, torch.from_numpy(Y))
    loss.backward()
    np.testing.assert_allclose(trace.Y, prediction.detach().numpy(), rtol=0, atol=1e-12)
    assert result.loss == pytest.approx(loss.item(), abs=1e-12)
    ours = weights.grads_to_pytorch(net.config, result.grads)
    theirs = {}
    for name, parameter in model.named_parameters():
        module, leaf = name.rsplit(".", 1) if "." in name else ("", name)
        theirs[("rnn." if module in ("", prefix) else "head.") + leaf] = parameter.grad.numpy()
    assert set(ours) == set(theirs)
    for name, grad in theirs.items():
        np.testing.assert_allclose(ours[name], grad, rtol=0, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_a_bias_free_model_has_no_biases_and_round_trips_strictly(cell: str) -> None:
    model = Model(cell, bias=False)
    net, _ = imported(model, config(cell))
    assert net.config.bias == "none"
    assert not any(name.startswith("layer") and ".b_" in name for name in net.params)
    check_pass(net, model, Q, "encoder")
    exported = load_torch_bytes(weights.save(net.config, net.params))
    assert not any("bias_" in name for name in exported)
    bare = CELLS[cell](D, H, num_layers=L, batch_first=True, bias=False).double()
    bare.load_state_dict(
        {name[4:]: t for name, t in exported.items() if name.startswith("rnn.")}, strict=True
    )
    for name, tensor in model.encoder.state_dict().items():
        assert torch.equal(bare.state_dict()[name], tensor), name


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("cell", CELLS)
def test_a_bare_recurrent_module_imports_without_a_head(cell: str, bias: bool) -> None:
    bare = CELLS[cell](D, H, num_layers=L, batch_first=True, bias=bias).double()
    net, params = imported(bare, config(cell, output_size=H))
    assert not net.config.linear_head and "W_hq" not in params
    check_pass(net, bare, H, "")
    X, _ = data(H)
    np.testing.assert_array_equal(net.forward(X).Y, net.forward(X).hidden())  # outputs = H
    exported = load_torch_bytes(weights.save(net.config, net.params))
    assert not any(name.startswith("head.") for name in exported)
    assert weights.pytorch_shapes(net.config).keys() == exported.keys()


def test_a_model_without_a_head_needs_output_size_equal_to_hidden_size() -> None:
    with pytest.raises(ValidationError, match="output_size must equal hidden_size"):
        config("lstm", linear_head=False)
    bare = torch.nn.LSTM(D, H, batch_first=True).double()
    with pytest.raises(WeightsError, match="output_size must equal hidden_size"):
        imported(bare, ModelConfig(input_size=D, hidden_size=H, output_size=Q, cell="lstm"))


@pytest.mark.parametrize("head_name", ["fc", "linear", "decoder", "out", "head"])
def test_the_head_is_found_under_its_own_name(head_name: str) -> None:
    model = Model("gru", head_name=head_name)
    net, _ = imported(model, config("gru"))
    assert net.config.linear_head
    check_pass(net, model, Q, "encoder")


class TwoLinears(Model):
    def __init__(self) -> None:
        super().__init__("rnn", head_name="fc")
        self.proj = torch.nn.Linear(H, Q).double()


def test_two_linears_are_ambiguous_until_head_prefix_names_one() -> None:
    model = TwoLinears()
    with pytest.raises(WeightsError, match=r"ambiguous.*fc\.bias, fc\.weight, proj\.bias"):
        imported(model, config("rnn"))
    state = {k: v for k, v in model.state_dict().items()}
    with pytest.raises(WeightsError, match=r"unexpected tensor\(s\) proj\.bias, proj\.weight"):
        weights.load(save_torch(state), config("rnn"), head_prefix="fc")
    del state["proj.weight"], state["proj.bias"]
    loaded, _ = weights.load(save_torch(state), config("rnn"), head_prefix="fc")
    assert loaded.linear_head
    with pytest.raises(WeightsError, match=r"head_prefix 'decoder'.*fc\.bias, fc\.weight"):
        weights.load(save_torch(state), config("rnn"), head_prefix="decoder")


@pytest.mark.parametrize("bias", ["two", "none"])
@pytest.mark.parametrize("cell", CELLS)
def test_a_model_made_with_two_or_no_biases_exports_to_torch(cell: str, bias: str) -> None:
    cfg = config(cell, bias=bias, seed=5)
    net = Network(cfg)
    exported = load_torch_bytes(weights.save(cfg, net.params))
    model = Model(cell, head_name="fc", bias=bias == "two")
    model.load_state_dict(
        {
            ("encoder." if name.startswith("rnn.") else "fc.") + name.split(".", 1)[1]: tensor
            for name, tensor in exported.items()
        },
        strict=True,
    )
    if bias == "two":  # PyTorch's initialisation: two independent draws
        assert not np.array_equal(net.params["layer0.b_ih"], net.params["layer0.b_hh"])
    check_pass(net, model, Q, "encoder")


class LastStep(torch.nn.Module):
    """A bare recurrent module whose output is its last H_T, as Keras' SimpleRNN returns it."""

    def __init__(self, cell: str) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.rnn = CELLS[cell](D, H, num_layers=L, batch_first=True).double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rnn(x)[0][:, -1]


@pytest.mark.parametrize("cell", CELLS)
def test_a_headless_model_in_last_mode_outputs_H_T_and_trains_as_torch(cell: str) -> None:
    model = LastStep(cell)
    net, _ = imported(model, config(cell, output_size=H, output_mode="last"))
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(3, 6, D)), rng.normal(size=(3, H))
    trace = net.forward(X)
    np.testing.assert_array_equal(trace.Y, trace.hidden()[:, -1])
    ours, theirs = make_optimizer("adam", 0.05), torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(5):
        ours.step(net.params, net.backward(net.forward(X), Y).grads)
        theirs.zero_grad()
        torch.nn.functional.mse_loss(model(torch.from_numpy(X)), torch.from_numpy(Y)).backward()
        theirs.step()
    got = ours_in_torch_names(net)
    for name, tensor in model.state_dict().items():
        np.testing.assert_allclose(got[name], tensor.numpy(), rtol=0, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_the_steps_contributions_to_b_h_sum_to_each_of_the_two_biases_gradients(cell: str) -> None:
    net, _ = imported(Model(cell), config(cell))
    X, Y = data(Q)
    result = net.backward(net.forward(X), Y, step_grads="full")
    assert result.step_grads is not None
    for k in range(L):
        b_h = result.step_grads[f"layer{k}.b_h"].sum(axis=0)
        np.testing.assert_allclose(result.grads[f"layer{k}.b_ih"], b_h, rtol=0, atol=1e-13)
        b_hh = b_h.copy()
        if cell == "gru":
            b_hh[2 * H :] = result.step_grads[f"layer{k}.b_hn"].sum(axis=0)
        np.testing.assert_allclose(result.grads[f"layer{k}.b_hh"], b_hh, rtol=0, atol=1e-13)


class BidirectionalLastBiaslessHead(torch.nn.Module):
    """A bidirectional module whose Linear(2H, Q, bias=False) reads the last step's output."""

    def __init__(self, cell: str) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.encoder = CELLS[cell](D, H, num_layers=L, batch_first=True, bidirectional=True)
        self.fc = torch.nn.Linear(2 * H, Q, bias=False)
        self.double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.encoder(x)[0][:, -1])


@pytest.mark.parametrize("cell", CELLS)
def test_a_head_without_bias_has_no_b_q_in_the_passes_or_the_optimiser(cell: str) -> None:
    model = BidirectionalLastBiaslessHead(cell)
    net, params = imported(model, config(cell, output_mode="last"))
    assert net.config.linear_head and not net.config.head_bias and net.config.bidirectional
    assert "W_hq" in params and "b_q" not in params
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(3, 6, D)), rng.normal(size=(3, Q))
    result = net.backward(net.forward(X), Y, step_grads="full")
    assert "b_q" not in result.grads and "b_q" not in result.step_grad_norms
    assert result.step_grads is not None and "b_q" not in result.step_grads
    np.testing.assert_allclose(  # the steps' contributions still sum to W_hq's gradient
        result.step_grads["W_hq"].sum(axis=0), result.grads["W_hq"], rtol=0, atol=1e-13
    )
    ours, theirs = make_optimizer("adam", 0.05), torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(3):
        ours.step(net.params, net.backward(net.forward(X), Y).grads)
        theirs.zero_grad()
        torch.nn.functional.mse_loss(model(torch.from_numpy(X)), torch.from_numpy(Y)).backward()
        theirs.step()
    exported = load_torch_bytes(weights.save(net.config, net.params))
    assert "head.bias" not in exported
    got = {
        ("encoder." if k.startswith("rnn.") else "fc.") + k.split(".", 1)[1]: v
        for k, v in exported.items()
    }
    assert got.keys() == model.state_dict().keys()
    for name, tensor in model.state_dict().items():
        np.testing.assert_allclose(got[name], tensor, rtol=0, atol=1e-9, err_msg=name)


def test_head_bias_applies_to_a_linear_head_only() -> None:
    with pytest.raises(ValidationError, match="head_bias applies to a linear head only"):
        config("rnn", output_size=H, linear_head=False, head_bias=False)
    assert config("rnn", output_size=H, linear_head=False).head_bias
    with pytest.raises(ValidationError, match="head_bias"):
        config("rnn", head_bias=0)
