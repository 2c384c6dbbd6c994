"""The network (stack + head + loss, forward and BPTT) against PyTorch autograd.

Every case starts from a PyTorch state dict with both biases random, loads it through
app.rnn.weights, and compares logits, head outputs, loss, every parameter gradient and the
gradients of h0, c0 and the inputs.
"""

import threading

import numpy as np
import pytest
import torch

from app.rnn import weights
from app.rnn.config import ModelConfig
from app.rnn.errors import ShapeError
from app.rnn.network import Network

from .torch_reference import (
    CELL_VARIANTS,
    LOSS_VARIANTS,
    TORCH_NN_NONLINEARITIES,
    as_tensor,
    assert_close,
    compare_with_torch,
    make_targets,
    network_from_state,
    random_state,
    torch_loss,
    torch_network,
    unroll,
)

OUTPUT_MODES = ["sequence", "last"]
CASES = [
    (cell, nonlinearity, loss, head, indices, mode)
    for cell, nonlinearity in CELL_VARIANTS
    for loss, head, indices in LOSS_VARIANTS
    for mode in OUTPUT_MODES
]
SHORT_LENGTHS = (1, 2, 3, 5, 8, 13, 21, 34)


def case_id(case: tuple) -> str:
    cell, nonlinearity, loss, head, indices, mode = case
    target = "indices" if indices else "values"
    return f"{cell}-{nonlinearity}-{loss}-{head}-{target}-{mode}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_forward_loss_and_every_gradient_match_torch_in_float64(case: tuple) -> None:
    cell, nonlinearity, loss, head, indices, mode = case
    seed = CASES.index(case)
    rng = np.random.default_rng(1000 + seed)
    config = ModelConfig(
        input_size=int(rng.integers(1, 5)),
        hidden_size=int(rng.integers(1, 7)),
        output_size=int(rng.integers(2, 5)),
        cell=cell,
        nonlinearity=nonlinearity,
        num_layers=int(rng.integers(1, 4)),
        head=head,
        loss=loss,
        output_mode=mode,
    )
    compare_with_torch(
        config,
        seed,
        B=int(rng.integers(1, 9)),
        T=int(rng.choice(SHORT_LENGTHS)),
        indices=indices,
        given_h0=bool(rng.integers(0, 2)),
        given_c0=bool(rng.integers(0, 2)),
    )


@pytest.mark.parametrize(("cell", "nonlinearity"), CELL_VARIANTS)
@pytest.mark.parametrize("T", [60, 200])
def test_long_sequences_match_torch_in_float64(cell: str, nonlinearity: str, T: int) -> None:
    # Long sequences are compared only with well-conditioned weights: U(±0.5/√H) gives W_hh a
    # spectral radius near 0.3, so the recurrence contracts and both implementations compute
    # the same well-defined numbers. With chaotic weights (ρ ≫ 1) rounding differences of 1e-16
    # grow by ρ^T and two correct implementations disagree; that says nothing about either.
    config = ModelConfig(
        input_size=3,
        hidden_size=8,
        output_size=2,
        cell=cell,
        nonlinearity=nonlinearity,
        num_layers=2,
        head="softmax",
        loss="cross_entropy",
    )
    compare_with_torch(
        config, seed=T, B=3, T=T, indices=True, given_h0=True, given_c0=True, scale=0.5
    )


@pytest.mark.parametrize(("cell", "nonlinearity"), CELL_VARIANTS)
@pytest.mark.parametrize("mode", OUTPUT_MODES)
def test_float32_networks_match_torch_float32_loosely(
    cell: str, nonlinearity: str, mode: str
) -> None:
    config = ModelConfig(
        input_size=3,
        hidden_size=6,
        output_size=3,
        cell=cell,
        nonlinearity=nonlinearity,
        num_layers=2,
        head="sigmoid",
        loss="bce",
        output_mode=mode,
        dtype="float32",
    )
    # float32 carries ~7 digits; 20 steps of BPTT through two layers lose one or two of them.
    compare_with_torch(
        config, seed=7, B=4, T=20, indices=False, given_h0=True, given_c0=True, tol=2e-5
    )


@pytest.mark.parametrize(("cell", "nonlinearity"), CELL_VARIANTS)
def test_float32_config_returns_float32_arrays(cell: str, nonlinearity: str) -> None:
    config = ModelConfig(
        input_size=2,
        hidden_size=3,
        output_size=2,
        cell=cell,
        nonlinearity=nonlinearity,
        dtype="float32",
    )
    net = Network(config)
    trace = net.forward(np.ones((2, 4, 2)))
    result = net.backward(trace, np.zeros((2, 4, 2)), step_grads="full")
    assert trace.O.dtype == trace.Y.dtype == trace.hidden().dtype == np.float32
    assert all(g.dtype == np.float32 for g in result.grads.values())
    assert result.dH().dtype == result.dA().dtype == np.float32
    assert result.step_grads is not None
    assert all(g.dtype == np.float32 for g in result.step_grads.values())


@pytest.mark.parametrize(
    ("cell", "nonlinearity"), [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
)
def test_the_step_by_step_reference_agrees_with_torch_nn(cell: str, nonlinearity: str) -> None:
    # The sigmoid/identity rnn and the per-step traces are checked against `unroll`; this ties
    # `unroll` itself to torch.nn's own implementation, gradients included.
    config = ModelConfig(
        input_size=3,
        hidden_size=4,
        output_size=2,
        cell=cell,
        nonlinearity=nonlinearity,
        num_layers=2,
    )
    rng = np.random.default_rng(3)
    state = random_state(config, rng)
    X = rng.normal(size=(2, 9, 3))
    h0 = rng.normal(size=(2, 2, 4))
    c0 = rng.normal(size=(2, 2, 4))
    targets = make_targets(config, rng, 2, 9)
    ref = unroll(config, state, X, h0, c0)
    ref_grads = ref.gradients(torch_loss(config, ref.logits, targets))
    model = torch_network(config, state)
    h0_t = as_tensor(h0, torch.float64, requires_grad=True)
    c0_t = as_tensor(c0, torch.float64, requires_grad=True)
    logits = model(as_tensor(X, torch.float64), h0_t, c0_t if cell == "lstm" else None)
    torch_loss(config, logits, targets).backward()
    assert_close(ref.logits.detach().numpy(), logits.detach().numpy(), "unrolled logits")
    for name, p in model.named_parameters():
        assert_close(ref_grads.params[name], p.grad.numpy(), f"unrolled gradient of {name}")
    assert_close(ref_grads.dh0, h0_t.grad.numpy(), "unrolled dL/dh0")


@pytest.mark.parametrize(("cell", "nonlinearity"), CELL_VARIANTS)
def test_truncated_bptt_matches_torch_detaching_the_state_every_k_steps(
    cell: str, nonlinearity: str
) -> None:
    config = ModelConfig(
        input_size=2,
        hidden_size=5,
        output_size=3,
        cell=cell,
        nonlinearity=nonlinearity,
        num_layers=2,
    )
    rng = np.random.default_rng(11)
    state = random_state(config, rng)
    net = network_from_state(config, state)
    X = rng.normal(size=(3, 23, 2))
    h0 = rng.normal(size=(2, 3, 5))
    c0 = rng.normal(size=(2, 3, 5)) if cell == "lstm" else None
    targets = make_targets(config, rng, 3, 23)
    trace = net.forward(X, h0, c0)
    for k in (1, 4, 7, 23, 50):
        result = net.backward(trace, targets, truncate=k)
        ours = weights.grads_to_pytorch(config, result.grads)
        if cell == "rnn" and nonlinearity not in TORCH_NN_NONLINEARITIES:
            ref = unroll(config, state, X, h0, c0, truncate=k)
            expected = ref.gradients(torch_loss(config, ref.logits, targets)).params
        else:
            model = torch_network(config, state)
            h0_t = as_tensor(h0, torch.float64)
            c0_t = None if c0 is None else as_tensor(c0, torch.float64)
            logits = model(as_tensor(X, torch.float64), h0_t, c0_t, truncate=k)
            torch_loss(config, logits, targets).backward()
            expected = {name: p.grad.numpy() for name, p in model.named_parameters()}
        for name, value in expected.items():
            assert_close(ours[name], value, f"gradient of {name} truncated every {k} steps")


def test_truncation_changes_the_gradient_of_a_long_dependency() -> None:
    config = ModelConfig(input_size=1, hidden_size=3, output_size=1, output_mode="last")
    net = Network(config)
    trace = net.forward(np.random.default_rng(0).normal(size=(1, 12, 1)))
    full = net.backward(trace, np.ones((1, 1)))
    cut = net.backward(trace, np.ones((1, 1)), truncate=4)
    assert not np.allclose(full.grads["layer0.W_xh"], cut.grads["layer0.W_xh"])
    # Only the last chunk of 4 steps receives any gradient once the state is detached.
    assert np.all(cut.grad_norm_per_step[0][:8] == 0.0)
    assert np.all(cut.grad_norm_per_step[0][8:] > 0.0)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_final_state_is_torch_h_n_and_c_n(cell: str) -> None:
    config = ModelConfig(input_size=2, hidden_size=3, output_size=1, cell=cell, num_layers=3)
    rng = np.random.default_rng(5)
    state = random_state(config, rng)
    X = rng.normal(size=(4, 6, 2))
    H_T, C_T = network_from_state(config, state).forward(X).final_state
    _, torch_state = torch_network(config, state).rnn(as_tensor(X, torch.float64))
    if cell == "lstm":
        h_n, c_n = torch_state
        assert_close(C_T, c_n.detach().numpy(), "C_T", axes=("layer", "batch", "unit"))
    else:
        h_n = torch_state
        assert C_T is None
    assert_close(H_T, h_n.detach().numpy(), "H_T", axes=("layer", "batch", "unit"))


def test_backward_rejects_a_non_positive_truncation() -> None:
    net = Network(ModelConfig(input_size=1, hidden_size=2, output_size=1))
    trace = net.forward(np.zeros((1, 3, 1)))
    with pytest.raises(ShapeError, match="truncate"):
        net.backward(trace, np.zeros((1, 3, 1)), truncate=0)


def test_loss_method_equals_the_backward_loss() -> None:
    config = ModelConfig(
        input_size=2, hidden_size=3, output_size=4, head="softmax", loss="cross_entropy"
    )
    net = Network(config)
    rng = np.random.default_rng(2)
    trace = net.forward(rng.normal(size=(3, 5, 2)))
    targets = rng.integers(0, 4, size=(3, 5))
    assert net.loss(trace, targets) == pytest.approx(net.backward(trace, targets).loss, abs=0)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_kept_trace_and_result_survive_later_passes_unchanged(cell: str) -> None:
    config = ModelConfig(input_size=3, hidden_size=16, output_size=2, cell=cell, seed=1)
    net = Network(config)
    rng = np.random.default_rng(0)
    X1, X2 = rng.normal(size=(2, 4, 7, 3))
    targets1, targets2 = rng.normal(size=(2, 4, 7, 2))
    trace = net.forward(X1)
    result = net.backward(trace, targets1, step_grads="full")
    hidden_view = trace.hidden()
    kept = {
        "H": hidden_view.copy(),
        "A": trace.preactivation().copy(),
        "dH": result.dH().copy(),
        "dA": result.dA().copy(),
        **{f"grad {name}": g.copy() for name, g in result.grads.items()},
        **{f"gate {name}": g.copy() for name, g in trace.gates().items()},
    }
    for _ in range(3):  # passes of the same shapes, whose arrays the allocator may place anywhere
        other = net.forward(X2)
        net.backward(other, targets2)
    current = {
        "H": hidden_view,
        "A": trace.preactivation(),
        "dH": result.dH(),
        "dA": result.dA(),
        **{f"grad {name}": g for name, g in result.grads.items()},
        **{f"gate {name}": g for name, g in trace.gates().items()},
    }
    for name, value in kept.items():
        np.testing.assert_array_equal(current[name], value, err_msg=name)
    fresh = net.backward(net.forward(X1), targets1)
    for name, value in fresh.grads.items():
        np.testing.assert_array_equal(value, kept[f"grad {name}"], err_msg=name)


def test_passes_on_several_threads_give_each_its_own_result() -> None:
    net = Network(ModelConfig(input_size=3, hidden_size=16, output_size=2, cell="lstm", seed=1))
    rng = np.random.default_rng(2)
    inputs = rng.normal(size=(4, 3, 20, 3))
    expected = [net.forward(X).hidden().copy() for X in inputs]
    results: dict[int, list[bool]] = {}

    def run(k: int) -> None:
        results[k] = [
            bool(np.array_equal(net.forward(inputs[k]).hidden(), expected[k])) for _ in range(30)
        ]

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(all(ok) for ok in results.values()) and len(results) == 4
