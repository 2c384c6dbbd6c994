"""Property tests (hypothesis): shapes and invariants of forward and BPTT over random networks."""

from dataclasses import dataclass

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.rnn.config import ModelConfig
from app.rnn.network import Network

from .torch_reference import CELL_VARIANTS, assert_close, make_targets

LOSS_VARIANTS = [
    ("mse", "identity", False),
    ("mse", "softmax", False),
    ("cross_entropy", "softmax", True),
    ("cross_entropy", "softmax", False),
    ("bce", "sigmoid", False),
]
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None)


@dataclass
class Case:
    """A network with its inputs, initial states and targets; arrays batch-first."""

    net: Network
    X: np.ndarray
    H0: np.ndarray | None
    C0: np.ndarray | None
    targets: np.ndarray

    @property
    def config(self) -> ModelConfig:
        return self.net.config


@st.composite
def cases(draw: st.DrawFn, max_batch: int = 4, max_steps: int = 12) -> Case:
    cell, nonlinearity = draw(st.sampled_from(CELL_VARIANTS))
    loss, head, indices = draw(st.sampled_from(LOSS_VARIANTS))
    config = ModelConfig(
        input_size=draw(st.integers(1, 4)),
        hidden_size=draw(st.integers(1, 6)),
        output_size=draw(st.integers(2, 4)),
        cell=cell,  # type: ignore[arg-type]
        nonlinearity=nonlinearity,  # type: ignore[arg-type]
        num_layers=draw(st.integers(1, 3)),
        head=head,  # type: ignore[arg-type]
        loss=loss,  # type: ignore[arg-type]
        output_mode=draw(st.sampled_from(["sequence", "last"])),
        init=draw(st.sampled_from(["pytorch", "xavier", "orthogonal", "normal"])),
        init_std=0.5,
        seed=draw(st.integers(0, 2**16)),
    )
    B, T = draw(st.integers(1, max_batch)), draw(st.integers(1, max_steps))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    L, H = config.num_layers, config.hidden_size
    X = rng.normal(size=(B, T, config.input_size))
    H0 = rng.normal(0.0, 0.5, (L, B, H)) if draw(st.booleans()) else None
    C0 = rng.normal(0.0, 0.5, (L, B, H)) if cell == "lstm" and draw(st.booleans()) else None
    targets = make_targets(config, rng, B, T, class_indices=indices)
    return Case(Network(config), X, H0, C0, targets)


@PROPERTY_SETTINGS
@given(cases())
def test_every_array_of_the_trace_and_the_gradients_has_its_documented_shape(case: Case) -> None:
    cfg, (B, T, D) = case.config, case.X.shape
    L, H, Q, G = cfg.num_layers, cfg.hidden_size, cfg.output_size, cfg.gates
    trace = case.net.forward(case.X, case.H0, case.C0)
    result = case.net.backward(trace, case.targets, step_grads="full")
    out_shape = (B, T, Q) if cfg.output_mode == "sequence" else (B, Q)
    assert trace.O.shape == trace.Y.shape == result.dO.shape == out_shape
    gate_names = {"rnn": set(), "lstm": {"i", "f", "g", "o", "C"}, "gru": {"r", "z", "n"}}
    for layer in range(L):
        assert trace.hidden(layer).shape == result.dH(layer).shape == (B, T, H)
        assert trace.preactivation(layer).shape == result.dA(layer).shape == (B, T, G * H)
        gates = trace.gates(layer)
        assert set(gates) == gate_names[cfg.cell]
        assert all(value.shape == (B, T, H) for value in gates.values())
        assert result.grad_norm_per_step[layer].shape == (T,)
    H_T, C_T = trace.final_state
    assert H_T.shape == (L, B, H)
    assert (C_T is None) == (cfg.cell != "lstm")
    assert result.dH0.shape == (L, B, H)
    assert {name: g.shape for name, g in result.grads.items()} == {
        name: p.shape for name, p in case.net.params.items()
    }
    assert result.step_grads is not None
    assert set(result.step_grads) == set(result.step_grad_norms) == set(case.net.params)
    T_out = T if cfg.output_mode == "sequence" else 1
    for name, per_step in result.step_grads.items():
        steps = T_out if name in ("W_hq", "b_q") else T
        assert per_step.shape == (steps, *case.net.params[name].shape), name
        assert result.step_grad_norms[name].shape == (steps,), name
    assert np.swapaxes(result.layers[0].dX, 0, 1).shape == (B, T, D)


@PROPERTY_SETTINGS
@given(cases(max_batch=1))
def test_a_single_sequence_t_by_d_is_a_batch_of_one(case: Case) -> None:
    one = case.net.forward(case.X, case.H0, case.C0)
    unbatched_state = [None if S is None else S[:, 0] for S in (case.H0, case.C0)]
    alone = case.net.forward(case.X[0], *unbatched_state)
    np.testing.assert_array_equal(alone.O, one.O)
    np.testing.assert_array_equal(alone.hidden(), one.hidden())
    batched = case.net.backward(one, case.targets)
    single = case.net.backward(alone, case.targets[0])
    assert single.loss == batched.loss
    for name, value in batched.grads.items():
        np.testing.assert_array_equal(single.grads[name], value, err_msg=name)


@PROPERTY_SETTINGS
@given(cases(max_batch=4))
def test_each_sequence_of_a_batch_is_independent_and_the_gradient_is_their_mean(
    case: Case,
) -> None:
    B = case.X.shape[0]
    trace = case.net.forward(case.X, case.H0, case.C0)
    result = case.net.backward(trace, case.targets)
    mean_grads = {name: np.zeros_like(g) for name, g in result.grads.items()}
    for b in range(B):
        states = [None if S is None else S[:, b : b + 1] for S in (case.H0, case.C0)]
        alone = case.net.forward(case.X[b : b + 1], *states)
        assert_close(alone.hidden(), trace.hidden()[b : b + 1], f"H_t of sequence {b}", tol=1e-12)
        alone_result = case.net.backward(alone, case.targets[b : b + 1])
        for name, value in alone_result.grads.items():
            mean_grads[name] += value / B
    for name, value in mean_grads.items():
        assert_close(result.grads[name], value, f"batch gradient of {name}", tol=1e-12)


@PROPERTY_SETTINGS
@given(cases(), st.integers(0, 5))
def test_truncating_at_t_or_more_steps_is_full_bptt(case: Case, extra: int) -> None:
    trace = case.net.forward(case.X, case.H0, case.C0)
    full = case.net.backward(trace, case.targets)
    truncated = case.net.backward(trace, case.targets, truncate=case.X.shape[1] + extra)
    for name, value in full.grads.items():
        np.testing.assert_array_equal(truncated.grads[name], value, err_msg=name)
    np.testing.assert_array_equal(truncated.dH0, full.dH0)
    for ours, expected in zip(truncated.grad_norm_per_step, full.grad_norm_per_step, strict=True):
        np.testing.assert_array_equal(ours, expected)


@PROPERTY_SETTINGS
@given(cases(), st.sampled_from([None, 1, 2, 3]))
def test_the_steps_contributions_sum_to_the_gradient_and_their_norms_are_reported(
    case: Case, truncate: int | None
) -> None:
    trace = case.net.forward(case.X, case.H0, case.C0)
    result = case.net.backward(trace, case.targets, truncate=truncate, step_grads="full")
    norms_only = case.net.backward(trace, case.targets, truncate=truncate)
    assert result.step_grads is not None and norms_only.step_grads is None
    for name, total in result.grads.items():
        per_step = result.step_grads[name]
        assert_close(per_step.sum(axis=0), total, f"Σ_t contributions to {name}", tol=1e-12)
        frobenius = np.sqrt((per_step.reshape(len(per_step), -1) ** 2).sum(axis=1))
        assert_close(norms_only.step_grad_norms[name], frobenius, f"‖step of {name}‖", tol=1e-12)
    for layer, norms in enumerate(result.grad_norm_per_step):
        dH = result.dH(layer)
        assert_close(norms, np.sqrt((dH**2).sum(axis=(0, 2))), f"‖dL/dH_t‖ of layer {layer}")


@PROPERTY_SETTINGS
@given(cases(max_steps=10), st.integers(0, 9))
def test_a_hidden_state_never_depends_on_later_inputs(case: Case, t: int) -> None:
    T = case.X.shape[1]
    t = t % T
    changed = case.X.copy()
    changed[:, t + 1 :] += 1.0
    before = case.net.forward(case.X, case.H0, case.C0)
    after = case.net.forward(changed, case.H0, case.C0)
    for layer in range(case.config.num_layers):
        np.testing.assert_array_equal(
            after.hidden(layer)[:, : t + 1], before.hidden(layer)[:, : t + 1]
        )
    if case.config.output_mode == "sequence":
        np.testing.assert_array_equal(after.O[:, : t + 1], before.O[:, : t + 1])
