"""Bidirectional layers and variable-length batches against torch.nn (bidirectional=True,
pack_padded_sequence / pad_packed_sequence), float64: outputs, h_n, c_n, loss and every
parameter gradient; the state dict round trip; a finite-difference check of the masked case."""

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from app.rnn import weights
from app.rnn.config import ModelConfig
from app.rnn.errors import ShapeError
from app.rnn.network import Network
from tests.rnn.torch_reference import TORCH_CELLS, assert_close

torch.set_num_threads(1)

D, H, Q, B, T = 3, 4, 2, 4, 6
VARIANTS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
LENGTHS = np.array([6, 3, 1, 5])


class Bidirectional(torch.nn.Module):
    """torch's bidirectional recurrent module `rnn` and a Linear head on its 2H outputs."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        options = {"nonlinearity": cfg.nonlinearity} if cfg.cell == "rnn" else {}
        self.rnn = TORCH_CELLS[cfg.cell](
            D, H, cfg.num_layers, batch_first=True, bidirectional=cfg.bidirectional, **options
        )
        self.head = torch.nn.Linear(cfg.top_size, Q)
        torch.manual_seed(cfg.seed)
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.uniform_(-0.6, 0.6)
        self.double()
        self.cfg = cfg

    def forward(
        self, x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, lengths: np.ndarray | None
    ) -> tuple[torch.Tensor, object, torch.Tensor]:
        state = (h0, c0) if self.cfg.cell == "lstm" else h0
        if lengths is None:
            out, final = self.rnn(x, state)
        else:
            packed = pack_padded_sequence(
                x, torch.tensor(lengths), batch_first=True, enforce_sorted=False
            )
            out, final = self.rnn(packed, state)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        if self.cfg.output_mode == "last":
            last = (np.full(x.shape[0], x.shape[1]) if lengths is None else lengths) - 1
            out = out[torch.arange(x.shape[0]), torch.tensor(last)]
        return out, final, self.head(out)


def config(
    cell: str, nonlinearity: str, layers: int, mode: str = "sequence", bidirectional: bool = True
) -> ModelConfig:
    extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    return ModelConfig(
        input_size=D,
        hidden_size=H,
        output_size=Q,
        cell=cell,
        num_layers=layers,
        bidirectional=bidirectional,
        output_mode=mode,
        bias="two",
        seed=3,
        **extra,
    )


def compare(cfg: ModelConfig, lengths: np.ndarray | None, seed: int = 0) -> None:
    """Our forward and backward against torch's for random inputs, states and targets."""
    rng = np.random.default_rng(seed)
    model = Bidirectional(cfg)
    state = {name: value.detach().numpy() for name, value in model.state_dict().items()}
    net = Network(cfg, weights.from_pytorch(cfg, state))
    units = cfg.num_layers * cfg.directions
    X = rng.normal(size=(B, T, D))
    h0, c0 = rng.normal(size=(units, B, H)) * 0.5, rng.normal(size=(units, B, H)) * 0.5
    out_shape = (B, T, Q) if cfg.output_mode == "sequence" else (B, Q)
    targets = rng.normal(size=out_shape)

    x = torch.tensor(X, requires_grad=True)
    out, final, logits = model(x, torch.tensor(h0), torch.tensor(c0), lengths)
    target = torch.tensor(targets)
    if lengths is not None and cfg.output_mode == "sequence":
        real = torch.tensor(np.arange(T)[None, :] < lengths[:, None])
        loss = torch.nn.functional.mse_loss(logits[real], target[real])
    else:
        loss = torch.nn.functional.mse_loss(logits, target)
    loss.backward()

    trace = net.forward(X, h0, c0 if cfg.cell == "lstm" else None, lengths)
    result = net.backward(trace, targets)
    assert_close(trace.O, logits.detach().numpy(), "logits")
    if cfg.output_mode == "sequence":
        top = trace.hidden(-1)
        if cfg.bidirectional:
            top = np.concatenate([top, trace.hidden(-1, reverse=True)], axis=2)
        assert_close(top, out.detach().numpy(), "top outputs [H_fwd | H_bwd]")
    h_n, c_n = trace.final_state
    assert_close(h_n, (final[0] if cfg.cell == "lstm" else final).detach().numpy(), "h_n")
    if cfg.cell == "lstm":
        assert_close(c_n, final[1].detach().numpy(), "c_n")
    assert_close(result.loss, loss.item(), "loss")
    ours = weights.grads_to_pytorch(cfg, result.grads)
    for name, parameter in model.named_parameters():
        assert_close(ours[name], parameter.grad.numpy(), f"d{name}")


@pytest.mark.parametrize(("cell", "nonlinearity"), VARIANTS)
@pytest.mark.parametrize("layers", [1, 2])
def test_bidirectional_equals_torch(cell: str, nonlinearity: str, layers: int) -> None:
    compare(config(cell, nonlinearity, layers), None)


@pytest.mark.parametrize(("cell", "nonlinearity"), VARIANTS)
@pytest.mark.parametrize("layers", [1, 2])
def test_bidirectional_with_lengths_equals_packed_torch(
    cell: str, nonlinearity: str, layers: int
) -> None:
    compare(config(cell, nonlinearity, layers), LENGTHS)


@pytest.mark.parametrize(("cell", "nonlinearity"), VARIANTS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_lengths_in_last_mode_use_each_sequence_own_last_step(
    cell: str, nonlinearity: str, bidirectional: bool
) -> None:
    compare(config(cell, nonlinearity, 2, "last", bidirectional), LENGTHS, seed=1)


@pytest.mark.parametrize(("cell", "nonlinearity"), VARIANTS)
def test_unidirectional_lengths_equal_packed_torch(cell: str, nonlinearity: str) -> None:
    compare(config(cell, nonlinearity, 2, bidirectional=False), LENGTHS, seed=2)


def test_padded_steps_are_zero_and_do_not_change_anything() -> None:
    """The padding's values reach nothing: other padding gives the same outputs and gradients."""
    cfg = config("lstm", "tanh", 2)
    net = Network(cfg)
    rng = np.random.default_rng(5)
    X, targets = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, Q))
    other = X.copy()
    padded = np.arange(T)[None, :] >= LENGTHS[:, None]
    other[padded] = rng.normal(size=(int(padded.sum()), D)) * 10
    first, second = net.forward(X, lengths=LENGTHS), net.forward(other, lengths=LENGTHS)
    for reverse in (False, True):
        H = first.hidden(0, reverse=reverse)
        assert np.all(H[padded] == 0.0)
        assert np.all(np.abs(H[~padded]) > 0.0)
        assert_close(second.hidden(0, reverse), H, "H with other padding")
    g1, g2 = net.backward(first, targets), net.backward(second, targets)
    for name in g1.grads:
        assert_close(g2.grads[name], g1.grads[name], f"d{name} with other padding")


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_masked_gradient_matches_finite_differences(cell: str) -> None:
    """dL/dW_hh of the first layer's reverse direction, by central differences."""
    cfg = config(cell, "tanh", 2)
    net = Network(cfg)
    rng = np.random.default_rng(7)
    X, targets = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, Q))
    result = net.backward(net.forward(X, lengths=LENGTHS), targets)
    name = "layer0_reverse.W_hh"
    W = net.params[name]
    for index in [(0, 0), (1, 2), (3, W.shape[1] - 1)]:
        original = W[index]
        eps = 1e-6
        W[index] = original + eps
        up = net.loss(net.forward(X, lengths=LENGTHS), targets)
        W[index] = original - eps
        down = net.loss(net.forward(X, lengths=LENGTHS), targets)
        W[index] = original
        numeric = (up - down) / (2 * eps)
        assert abs(result.grads[name][index] - numeric) <= 1e-7 * max(1.0, abs(numeric))


def test_state_dict_round_trip_is_strict_and_exact() -> None:
    """A torch bidirectional state dict in, ours out: load_state_dict(strict=True) takes it back
    and the two modules give the same outputs."""
    cfg = config("gru", "tanh", 2)
    model = Bidirectional(cfg)
    state = {name: value.detach().numpy() for name, value in model.state_dict().items()}
    net = Network(cfg, weights.from_pytorch(cfg, state))
    exported = weights.to_pytorch(cfg, net.params)
    assert set(exported) == set(state)
    twin = Bidirectional(config("gru", "tanh", 2))
    twin.load_state_dict({k: torch.tensor(v) for k, v in exported.items()}, strict=True)
    for key, value in twin.state_dict().items():
        assert np.array_equal(value.numpy(), state[key]), key
    fitted = weights.fitted(
        ModelConfig(input_size=D, hidden_size=H, output_size=Q, cell="gru", num_layers=2),
        state,
    )
    assert fitted.bidirectional


@pytest.mark.parametrize(
    ("lengths", "element"),
    [([6, 0, 1, 2], "lengths[1]"), ([6, 3, 7, 1], "lengths[2]"), ([1, 2.5, 1, 1], "lengths[1]")],
)
def test_bad_lengths_are_named(lengths: list[float], element: str) -> None:
    net = Network(config("rnn", "tanh", 1))
    with pytest.raises(ShapeError, match=element.replace("[", r"\[")):
        net.forward(np.zeros((B, T, D)), lengths=np.array(lengths))


def test_bad_lengths_shape() -> None:
    net = Network(config("rnn", "tanh", 1))
    with pytest.raises(ShapeError, match="lengths has shape"):
        net.forward(np.zeros((B, T, D)), lengths=np.array([1, 2]))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_float32_with_lengths_follows_float64(cell: str) -> None:
    """The same weights in float32 give float64's outputs and gradients to float32's precision."""
    wide = Network(config(cell, "tanh", 2))
    narrow = Network(config(cell, "tanh", 2).model_copy(update={"dtype": "float32"}), wide.params)
    rng = np.random.default_rng(9)
    X, targets = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, Q))
    results = [
        (trace, net.backward(trace, targets))
        for net in (wide, narrow)
        for trace in [net.forward(X, lengths=LENGTHS)]
    ]
    (t64, r64), (t32, r32) = results
    assert t32.O.dtype == np.float32
    assert_close(t32.O, t64.O, "float32 logits", tol=1e-5)
    assert_close(t32.final_state[0], t64.final_state[0], "float32 h_n", tol=1e-5)
    for name in r64.grads:
        assert_close(r32.grads[name], r64.grads[name], f"float32 d{name}", tol=1e-4)
