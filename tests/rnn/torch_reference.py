"""PyTorch twins of the engine's networks, and an assertion that names what disagrees.

Two references, both PyTorch autograd:

- `torch_network`: torch.nn.RNN/LSTM/GRU named `rnn` plus torch.nn.Linear named `head`, the
  layout the weight files use. torch.nn.RNN knows only tanh and relu.
- `unroll`: the same equations written step by step with torch ops on the same state dict, for
  every nonlinearity, exposing each step's hidden state H_t, pre-activation A_t (our layout:
  [A_i|A_f|A_g|A_o] for the LSTM, [A_r|A_z|A_n] with A_n = X W_in + b_in + r ⊙ N_t for the GRU),
  cell state C_t and, on request, a private copy of every weight per step, so that autograd
  hands back each step's own contribution to each weight gradient. `unroll` is itself checked
  against torch.nn in test_network.py.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the usual alias)
from numpy.typing import NDArray

from app.rnn import weights
from app.rnn.config import ModelConfig
from app.rnn.network import Network

torch.set_num_threads(1)

Array = NDArray[np.floating]

TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}
TORCH_CELLS: dict[str, type[torch.nn.Module]] = {
    "rnn": torch.nn.RNN,
    "lstm": torch.nn.LSTM,
    "gru": torch.nn.GRU,
}
# The nonlinearities torch.nn.RNN implements; the others are checked through `unroll`.
TORCH_NN_NONLINEARITIES = ("tanh", "relu")

# Every cell variant and every (loss, head, class-index targets) combination the engine supports.
CELL_VARIANTS = [
    ("rnn", "tanh"),
    ("rnn", "sigmoid"),
    ("rnn", "relu"),
    ("rnn", "identity"),
    ("lstm", "tanh"),
    ("gru", "tanh"),
]
LOSS_VARIANTS = [
    ("mse", "identity", False),
    ("mse", "sigmoid", False),
    ("mse", "softmax", False),
    ("cross_entropy", "softmax", True),
    ("cross_entropy", "softmax", False),
    ("bce", "sigmoid", False),
]


def assert_close(
    actual: object,
    expected: object,
    what: str,
    *,
    tol: float = 1e-9,
    axes: Sequence[str] = (),
) -> None:
    """Assert max |actual − expected| ≤ tol · max(1, max |expected|).

    On failure the message names `what`, the worst error, and where it is, using `axes` as the
    names of the leading indices (e.g. ("batch", "step", "unit") names the timestep).
    """
    ours = np.asarray(actual, dtype=np.float64)
    ref = np.asarray(expected, dtype=np.float64)
    assert ours.shape == ref.shape, f"{what}: ours has shape {ours.shape}, torch {ref.shape}"
    if ours.size == 0:
        return
    bound = tol * max(1.0, float(np.nanmax(np.abs(ref))))
    error = np.abs(ours - ref)
    error = np.where(np.isnan(error), np.inf, error)
    worst = int(np.argmax(error))
    if error.flat[worst] <= bound:
        return
    index = np.unravel_index(worst, ours.shape)
    names = list(axes) + [f"axis{k}" for k in range(len(axes), len(index))]
    where = ", ".join(f"{name}={int(i)}" for name, i in zip(names, index, strict=False))
    raise AssertionError(
        f"{what} disagrees at [{where}]: ours {ours.flat[worst]!r}, reference {ref.flat[worst]!r}, "
        f"error {error.flat[worst]:.3e} > tolerance {bound:.1e}"
    )


def random_state(
    config: ModelConfig, rng: np.random.Generator, scale: float = 1.0, bias: bool = True
) -> dict[str, Array]:
    """A PyTorch state dict of U(−k, k) draws, k = scale/√H, with both biases non-zero."""
    k = scale / np.sqrt(config.hidden_size)
    dtype = np.dtype(config.dtype)
    return {
        name: rng.uniform(-k, k, shape).astype(dtype)
        for name, shape in weights.pytorch_shapes(config).items()
        if bias or "bias" not in name
    }


def network_from_state(config: ModelConfig, state: dict[str, Array]) -> Network:
    return Network(config, weights.from_pytorch(config, state))


def as_tensor(value: Array, dtype: torch.dtype, requires_grad: bool = False) -> torch.Tensor:
    tensor = torch.tensor(np.asarray(value), dtype=dtype)
    return tensor.requires_grad_(requires_grad)


class TorchModel(torch.nn.Module):
    """torch.nn.RNN/LSTM/GRU as `rnn` (batch_first) plus torch.nn.Linear as `head`."""

    def __init__(self, config: ModelConfig, bias: bool = True) -> None:
        super().__init__()
        options = {"nonlinearity": config.nonlinearity} if config.cell == "rnn" else {}
        self.rnn = TORCH_CELLS[config.cell](
            config.input_size,
            config.hidden_size,
            config.num_layers,
            batch_first=True,
            bias=bias,
            **options,
        )
        self.head = torch.nn.Linear(config.hidden_size, config.output_size, bias=bias)
        self.to(TORCH_DTYPES[config.dtype])
        self.config = config

    def forward(
        self,
        X: torch.Tensor,
        h0: torch.Tensor | None = None,
        c0: torch.Tensor | None = None,
        truncate: int | None = None,
    ) -> torch.Tensor:
        """Logits (B, T, Q) or (B, Q). With `truncate` = k the sequence runs in chunks of k
        steps and the state (h, and c for the LSTM) is detached between chunks."""
        T = X.shape[1]
        chunk = T if truncate is None else truncate
        state: torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None = h0
        if self.config.cell == "lstm":
            if h0 is None and c0 is None:
                state = None
            else:
                h = h0 if h0 is not None else torch.zeros_like(c0)  # type: ignore[arg-type]
                state = (h, c0 if c0 is not None else torch.zeros_like(h))
        outputs = []
        for start in range(0, T, chunk):
            if start > 0:
                state = (
                    tuple(s.detach() for s in state)  # type: ignore[assignment]
                    if isinstance(state, tuple)
                    else state.detach()  # type: ignore[union-attr]
                )
            out, state = self.rnn(X[:, start : start + chunk], state)
            outputs.append(out)
        H_top = torch.cat(outputs, dim=1)
        if self.config.output_mode == "last":
            H_top = H_top[:, -1]
        return self.head(H_top)


def torch_network(config: ModelConfig, state: dict[str, Array], bias: bool = True) -> TorchModel:
    """A TorchModel holding exactly `state`."""
    model = TorchModel(config, bias=bias)
    dtype = TORCH_DTYPES[config.dtype]
    model.load_state_dict({name: as_tensor(value, dtype) for name, value in state.items()})
    return model


def torch_loss(config: ModelConfig, logits: torch.Tensor, targets: Array) -> torch.Tensor:
    """PyTorch's loss of the config, mean-reduced: targets are values or class indices."""
    Q = config.output_size
    if config.loss == "cross_entropy":
        if np.issubdtype(np.asarray(targets).dtype, np.integer):
            target = torch.tensor(np.asarray(targets), dtype=torch.int64).reshape(-1)
        else:
            target = as_tensor(targets, logits.dtype).reshape(-1, Q)
        return F.cross_entropy(logits.reshape(-1, Q), target)
    target = as_tensor(targets, logits.dtype)
    if config.loss == "bce":
        return F.binary_cross_entropy_with_logits(logits, target)
    return F.mse_loss(torch_head(config.head, logits), target)


def torch_head(head: str, logits: torch.Tensor) -> torch.Tensor:
    if head == "softmax":
        return torch.softmax(logits, dim=-1)
    if head == "sigmoid":
        return torch.sigmoid(logits)
    return logits


def make_targets(
    config: ModelConfig, rng: np.random.Generator, B: int, T: int, class_indices: bool = False
) -> Array:
    """Targets for a batch: (B, T, Q) / (B, Q) values, or (B, T) / (B,) class indices."""
    Q = config.output_size
    lead = (B, T) if config.output_mode == "sequence" else (B,)
    if class_indices:
        return rng.integers(0, Q, size=lead)
    if config.loss == "cross_entropy":
        return rng.dirichlet(np.ones(Q), size=lead)
    if config.loss == "bce" or config.head in ("sigmoid", "softmax"):
        return rng.uniform(0.0, 1.0, size=(*lead, Q))
    return rng.normal(0.0, 1.0, size=(*lead, Q))


@dataclass
class Unrolled:
    """What `unroll` computed; every list is per layer, then per step, tensors of (B, ·)."""

    logits: torch.Tensor
    params: dict[str, torch.Tensor]
    h0: torch.Tensor
    c0: torch.Tensor
    H: list[list[torch.Tensor]]
    A: list[list[list[torch.Tensor]]]
    C: list[list[torch.Tensor]]
    step_params: dict[str, list[torch.Tensor]] = field(default_factory=dict)

    def gradients(self, loss: torch.Tensor) -> "UnrolledGrads":
        """dL/d(every step's H_t, A_t, C_t, per-step weight copy, parameter, h0, c0)."""
        groups: dict[str, list[torch.Tensor]] = {
            "H": [h for layer in self.H for h in layer],
            "A": [part for layer in self.A for parts in layer for part in parts],
            "C": [c for layer in self.C for c in layer],
            "params": list(self.params.values()),
            "state0": [self.h0, self.c0],
        }
        for name, copies in self.step_params.items():
            groups[f"step:{name}"] = copies
        flat = [t for group in groups.values() for t in group]
        grads = torch.autograd.grad(loss, flat, allow_unused=True)
        found: dict[str, list[Array]] = {}
        position = 0
        for name, group in groups.items():
            found[name] = [
                np.zeros(tuple(t.shape)) if g is None else g.detach().numpy()
                for t, g in zip(group, grads[position : position + len(group)], strict=True)
            ]
            position += len(group)
        L = len(self.H)
        parts = len(self.A[0][0]) if self.A and self.A[0] else 1
        dA_flat = [
            np.concatenate(found["A"][j : j + parts], axis=-1)
            for j in range(0, len(found["A"]), parts)
        ]
        per_layer = {key: _per_layer(found[key], L) for key in ("H", "C")}
        per_layer["A"] = _per_layer(dA_flat, L)
        return UnrolledGrads(
            dH=per_layer["H"],
            dA=per_layer["A"],
            dC=per_layer["C"],
            params=dict(zip(self.params, found["params"], strict=True)),
            dh0=found["state0"][0],
            dc0=found["state0"][1],
            step_params={name: np.stack(found[f"step:{name}"]) for name in self.step_params},
        )


@dataclass
class UnrolledGrads:
    """dH, dA, dC: per layer (B, T, ·) arrays; params by PyTorch name; step_params: per PyTorch
    name (T, *shape), the gradient of each step's private copy of that weight."""

    dH: list[Array]
    dA: list[Array]
    dC: list[Array]
    params: dict[str, Array]
    dh0: Array
    dc0: Array
    step_params: dict[str, Array]


def _per_layer(flat: list[Array], L: int) -> list[Array]:
    T = len(flat) // L if L else 0
    return [np.stack(flat[k * T : (k + 1) * T], axis=1) for k in range(L)] if T else []


def unroll(
    config: ModelConfig,
    state: dict[str, Array],
    X: Array,
    h0: Array | None = None,
    c0: Array | None = None,
    truncate: int | None = None,
    step_copies: bool = False,
) -> Unrolled:
    """Run the network step by step in torch. X: (B, T, D); h0, c0: (L, B, H) or None (zeros).

    With `truncate` = k the recurrent state is detached before steps k, 2k, …; with
    `step_copies` every step uses its own copy of each weight (W_t = W · 1), whose gradient is
    that step's contribution.
    """
    dtype = TORCH_DTYPES[config.dtype]
    B, T, _ = np.shape(X)
    L, Hs = config.num_layers, config.hidden_size
    params = {name: as_tensor(value, dtype, requires_grad=True) for name, value in state.items()}
    zeros = np.zeros((L, B, Hs))
    h0_t = as_tensor(zeros if h0 is None else h0, dtype, requires_grad=True)
    c0_t = as_tensor(zeros if c0 is None else c0, dtype, requires_grad=True)
    step_params: dict[str, list[torch.Tensor]] = {}

    def weight(name: str, t: int) -> torch.Tensor | None:
        if name not in params:
            return None  # bias=False
        if not step_copies:
            return params[name]
        copy = params[name] * 1.0
        step_params.setdefault(name, []).append(copy)
        return copy

    layer_input = [as_tensor(X[:, t], dtype) for t in range(T)]
    all_H, all_A, all_C = [], [], []
    for k in range(L):
        h, c = h0_t[k], c0_t[k]
        Hk, Ak, Ck = [], [], []
        for t in range(T):
            if truncate is not None and t > 0 and t % truncate == 0:
                h, c = h.detach(), c.detach()
            W_ih, W_hh = weight(f"rnn.weight_ih_l{k}", t), weight(f"rnn.weight_hh_l{k}", t)
            b_ih, b_hh = weight(f"rnn.bias_ih_l{k}", t), weight(f"rnn.bias_hh_l{k}", t)
            from_input = F.linear(layer_input[t], W_ih, b_ih)
            from_state = F.linear(h, W_hh, b_hh)
            if config.cell == "rnn":
                a = from_input + from_state
                h = _phi(config.nonlinearity, a)
                Ak.append([a])
            elif config.cell == "lstm":
                a = from_input + from_state
                i, f, g, o = a.chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                Ak.append([a])
                Ck.append(c)
            else:
                a_rz = from_input[:, : 2 * Hs] + from_state[:, : 2 * Hs]
                r, z = torch.sigmoid(a_rz).chunk(2, dim=1)
                a_n = from_input[:, 2 * Hs :] + r * from_state[:, 2 * Hs :]
                h = (1 - z) * torch.tanh(a_n) + z * h
                Ak.append([a_rz, a_n])
            Hk.append(h)
        all_H.append(Hk)
        all_A.append(Ak)
        all_C.append(Ck)
        layer_input = Hk
    top = all_H[-1]
    if config.output_mode == "sequence":
        steps = [
            F.linear(top[t], weight("head.weight", t), weight("head.bias", t)) for t in range(T)
        ]
        logits = torch.stack(steps, dim=1)
    else:
        logits = F.linear(top[-1], weight("head.weight", 0), weight("head.bias", 0))
    return Unrolled(logits, params, h0_t, c0_t, all_H, all_A, all_C, step_params)


def _phi(nonlinearity: str, a: torch.Tensor) -> torch.Tensor:
    if nonlinearity == "tanh":
        return torch.tanh(a)
    if nonlinearity == "sigmoid":
        return torch.sigmoid(a)
    if nonlinearity == "relu":
        return torch.relu(a)
    return a


def our_step_name(config: ModelConfig, torch_name: str) -> tuple[str, bool]:
    """Our parameter name for a PyTorch weight, and whether its layout is transposed."""
    if torch_name == "head.weight":
        return "W_hq", True
    if torch_name == "head.bias":
        return "b_q", False
    kind, layer = torch_name.removeprefix("rnn.").rsplit("_l", 1)
    ours = {"weight_ih": "W_xh", "weight_hh": "W_hh", "bias_ih": "b_h", "bias_hh": "b_h"}[kind]
    return f"layer{layer}.{ours}", kind.startswith("weight")


def check_trace_against_torch(
    config: ModelConfig,
    seed: int,
    B: int,
    T: int,
    truncate: int | None = None,
    given_state: bool = True,
    scale: float = 1.0,
    tol: float = 1e-9,
) -> None:
    """The whole per-timestep trace of forward and backward against the step-by-step torch
    unroll: H_t, A_t (and C_t, gates), the total dL/dH_t, dL/dA_t (and dL/dC_t) of every layer and
    step, each step's contribution to each weight gradient, their sums and norms."""
    rng = np.random.default_rng(seed)
    state = random_state(config, rng, scale=scale)
    net = network_from_state(config, state)
    L, Hs = config.num_layers, config.hidden_size
    X = rng.normal(0.0, 1.0, (B, T, config.input_size))
    h0 = rng.normal(0.0, 0.5, (L, B, Hs)) if given_state else None
    c0 = rng.normal(0.0, 0.5, (L, B, Hs)) if given_state and config.cell == "lstm" else None
    targets = make_targets(config, rng, B, T)
    trace = net.forward(X, h0, c0)
    result = net.backward(trace, targets, truncate=truncate, step_grads="full")
    ref = unroll(config, state, X, h0, c0, truncate=truncate, step_copies=True)
    loss = torch_loss(config, ref.logits, targets)
    grads = ref.gradients(loss)
    bth = ("batch", "step", "unit")
    assert_close(result.loss, loss.item(), "loss", tol=tol)
    for k in range(L):
        H_ref = torch.stack(ref.H[k], dim=1).detach().numpy()
        A_ref = np.stack([torch.cat(parts, dim=1).detach().numpy() for parts in ref.A[k]], axis=1)
        assert_close(trace.hidden(k), H_ref, f"H_t of layer {k}", tol=tol, axes=bth)
        assert_close(trace.preactivation(k), A_ref, f"A_t of layer {k}", tol=tol, axes=bth)
        assert_close(result.dH(k), grads.dH[k], f"dL/dH_t of layer {k}", tol=tol, axes=bth)
        assert_close(result.dA(k), grads.dA[k], f"dL/dA_t of layer {k}", tol=tol, axes=bth)
        if config.cell == "lstm":
            C_ref = torch.stack(ref.C[k], dim=1).detach().numpy()
            assert_close(trace.gates(k)["C"], C_ref, f"C_t of layer {k}", tol=tol, axes=bth)
            dC = np.swapaxes(result.layers[k].dC, 0, 1)
            assert_close(dC, grads.dC[k], f"dL/dC_t of layer {k}", tol=tol, axes=bth)
        norms = np.sqrt((grads.dH[k] ** 2).sum(axis=(0, 2)))
        assert_close(
            result.grad_norm_per_step[k], norms, f"‖dL/dH_t‖ of layer {k}", tol=tol, axes=["step"]
        )
    if h0 is not None:
        assert_close(result.dH0, grads.dh0, "dL/dh0", tol=tol, axes=("layer", "batch", "unit"))
    if c0 is not None:
        assert_close(result.dC0, grads.dc0, "dL/dc0", tol=tol, axes=("layer", "batch", "unit"))
    assert result.step_grads is not None
    step_axes = ("step", "row", "column")
    for torch_name, per_step in grads.step_params.items():
        ours_name, transposed = our_step_name(config, torch_name)
        expected = np.swapaxes(per_step, 1, 2) if transposed else per_step
        if config.cell == "gru" and torch_name.startswith("rnn.bias_hh"):
            ours_name = ours_name.replace("b_h", "b_hn")
            expected = expected[:, 2 * Hs :]
        assert_close(
            result.step_grads[ours_name],
            expected,
            f"step contribution to {ours_name} ({torch_name})",
            tol=tol,
            axes=step_axes,
        )
    for name, total in result.grads.items():
        per_step = result.step_grads[name]
        assert_close(per_step.sum(axis=0), total, f"Σ_t step contributions to {name}", tol=tol)
        frobenius = np.sqrt((per_step.reshape(per_step.shape[0], -1) ** 2).sum(axis=1))
        assert_close(
            result.step_grad_norms[name],
            frobenius,
            f"step_grad_norms[{name}]",
            tol=tol,
            axes=["step"],
        )
    torch_grads = weights.grads_to_pytorch(config, result.grads)
    for name, expected in grads.params.items():
        assert_close(torch_grads[name], expected, f"gradient of {name}", tol=tol)


def torch_cell(config: ModelConfig, state: dict[str, Array], layer: int = 0) -> torch.nn.Module:
    """torch.nn.RNNCell/LSTMCell/GRUCell holding layer `layer` of `state`."""
    cls = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}
    options = {"nonlinearity": config.nonlinearity} if config.cell == "rnn" else {}
    input_size = config.input_size if layer == 0 else config.hidden_size
    cell = cls[config.cell](input_size, config.hidden_size, **options)
    cell.to(TORCH_DTYPES[config.dtype])
    dtype = TORCH_DTYPES[config.dtype]
    cell.load_state_dict(
        {
            name: as_tensor(state[f"rnn.{name}_l{layer}"], dtype)
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        }
    )
    return cell


def compare_with_torch(
    config: ModelConfig,
    seed: int,
    B: int,
    T: int,
    indices: bool,
    given_h0: bool,
    given_c0: bool,
    scale: float = 1.0,
    tol: float = 1e-9,
) -> None:
    """Ours against torch.nn (tanh/relu rnn, lstm, gru) or the torch unroll (sigmoid/identity)."""
    rng = np.random.default_rng(seed)
    state = random_state(config, rng, scale=scale)
    net = network_from_state(config, state)
    L, Hs, D = config.num_layers, config.hidden_size, config.input_size
    dtype = TORCH_DTYPES[config.dtype]
    X = rng.normal(0.0, 1.0, (B, T, D))
    h0 = rng.normal(0.0, 0.5, (L, B, Hs)) if given_h0 else None
    c0 = rng.normal(0.0, 0.5, (L, B, Hs)) if given_c0 and config.cell == "lstm" else None
    targets = make_targets(config, rng, B, T, class_indices=indices)

    trace = net.forward(X, h0, c0)
    result = net.backward(trace, targets)

    X_t = as_tensor(X, dtype, requires_grad=True)
    h0_t = None if h0 is None else as_tensor(h0, dtype, requires_grad=True)
    c0_t = None if c0 is None else as_tensor(c0, dtype, requires_grad=True)
    if config.cell != "rnn" or config.nonlinearity in TORCH_NN_NONLINEARITIES:
        model = torch_network(config, state)
        logits = model(X_t, h0_t, c0_t)
        loss = torch_loss(config, logits, targets)
        loss.backward()
        torch_grads = {name: p.grad.numpy() for name, p in model.named_parameters()}
        dX = X_t.grad.numpy()
        dh0 = None if h0_t is None else h0_t.grad.numpy()
        dc0 = None if c0_t is None else c0_t.grad.numpy()
    else:
        ref = unroll(config, state, X, h0, c0)
        logits = ref.logits
        loss = torch_loss(config, logits, targets)
        grads = ref.gradients(loss)
        torch_grads, dh0, dc0, dX = grads.params, grads.dh0, grads.dc0, None

    out_axes = ("batch", "step", "output") if config.output_mode == "sequence" else ("batch",)
    assert_close(trace.O, logits.detach().numpy(), "logits O", tol=tol, axes=out_axes)
    Y_ref = torch_head(config.head, logits).detach().numpy()
    assert_close(trace.Y, Y_ref, f"{config.head} head output Y", tol=tol, axes=out_axes)
    assert_close(result.loss, loss.item(), f"{config.loss} loss", tol=tol)
    ours = weights.grads_to_pytorch(config, result.grads)
    assert set(ours) == set(torch_grads)
    for name, expected in torch_grads.items():
        assert_close(ours[name], expected, f"gradient of {name}", tol=tol, axes=("row", "col"))
    state_axes = ("layer", "batch", "unit")
    if dh0 is not None and h0 is not None:
        assert_close(result.dH0, dh0, "dL/dh0", tol=tol, axes=state_axes)
    if dc0 is not None and c0 is not None:
        assert_close(result.dC0, dc0, "dL/dc0", tol=tol, axes=state_axes)
    if dX is not None:
        ours_dX = np.swapaxes(result.layers[0].dX, 0, 1)
        assert_close(ours_dX, dX, "dL/dX", tol=tol, axes=("batch", "step", "input"))
