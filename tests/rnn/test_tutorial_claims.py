"""The classic "RNN from scratch" tutorials' claims, reproduced with this engine alone (app.rnn).

1. An RNN of 2 inputs, 16 sigmoid hidden units and one output learns 8-bit binary addition:
   fed the bits of a and b from the least significant up, it outputs the bits of a + b.
2. With weights drawn from U(0, 1) and sigmoid units, a 50-step, 100-unit RNN saturates (every
   pre-activation is tens of units above 0, so σ' ≈ 0) and ‖dL/dH_t‖ collapses toward the early
   steps; with orthogonal recurrent weights and tanh it does not.
"""

import numpy as np
import pytest

from app.rnn import ModelConfig, Network, jacobian_norms, make_optimizer, spectral_radius

BITS = 8


def binary_addition(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Operands a, b (N,) with a + b < 2⁸ → X (N, 8, 2) the bits of a and b, least significant
    first, and targets (N, 8, 1) the bits of a + b."""
    shifts = np.arange(BITS)
    X = np.stack([(a[:, None] >> shifts) & 1, (b[:, None] >> shifts) & 1], axis=2)
    targets = (((a + b)[:, None] >> shifts) & 1)[:, :, None]
    return X.astype(np.float64), targets.astype(np.float64)


def every_sum_is_exact(net: Network, X: np.ndarray, targets: np.ndarray) -> float:
    """The fraction of examples whose 8 output bits, thresholded at ½, are all right."""
    Y = net.forward(X).Y
    return float(np.mean(np.all((Y > 0.5) == (targets > 0.5), axis=(1, 2))))


def test_a_16_unit_sigmoid_rnn_learns_8_bit_binary_addition() -> None:
    config = ModelConfig(
        input_size=2,
        hidden_size=16,
        output_size=1,
        nonlinearity="sigmoid",
        head="sigmoid",
        loss="bce",
        init="uniform_symmetric",  # the tutorial's 2·rand − 1
        seed=0,
    )
    net = Network(config)
    # Every pair of 7-bit operands: their sums fill all 8 bits, including the final carry.
    a, b = np.divmod(np.arange(128 * 128), 128)
    X_all, targets_all = binary_addition(a, b)
    assert every_sum_is_exact(net, X_all, targets_all) < 0.01

    optimizer = make_optimizer("adam", 0.01)
    rng = np.random.default_rng(0)
    for _ in range(1500):
        batch = rng.integers(0, 128 * 128, size=32)
        X, targets = X_all[batch], targets_all[batch]
        result = net.backward(net.forward(X), targets, step_grads="none")
        optimizer.step(net.params, result.grads)

    # 1500 × 32 examples drawn from 16384 pairs: most pairs were never seen, yet all are exact.
    assert every_sum_is_exact(net, X_all, targets_all) == 1.0
    assert net.loss(net.forward(X_all), targets_all) < 0.02
    a_new, b_new = np.array([100, 27, 0, 127]), np.array([55, 99, 0, 128])
    Y = net.forward(binary_addition(a_new, b_new)[0]).Y[:, :, 0]
    sums = ((Y > 0.5).astype(int) << np.arange(BITS)).sum(axis=1)
    np.testing.assert_array_equal(sums, a_new + b_new)


def vanishing_run(init: str, nonlinearity: str) -> tuple[Network, np.ndarray, np.ndarray]:
    """A 100-unit RNN over 50 steps of N(0, 1) input, loss at the last step only.
    Returns the network, φ'(A_t) (B, T, H) and ‖dL/dH_t‖ (T,)."""
    config = ModelConfig(
        input_size=1,
        hidden_size=100,
        output_size=1,
        nonlinearity=nonlinearity,  # type: ignore[arg-type]
        init=init,  # type: ignore[arg-type]
        output_mode="last",
        seed=0,
    )
    net = Network(config)
    X = np.random.default_rng(0).normal(size=(1, 50, 1))
    trace = net.forward(X)
    result = net.backward(trace, np.ones((1, 1)))
    H = trace.hidden()
    dphi = H * (1.0 - H) if nonlinearity == "sigmoid" else 1.0 - H * H
    return net, dphi, result.grad_norm_per_step[0]


def test_uniform_init_with_sigmoid_saturates_and_the_gradient_vanishes_toward_early_steps() -> None:
    net, dphi, grad_norms = vanishing_run("uniform", "sigmoid")
    # U(0, 1) weights: W_hh has mean ½, so ρ(W_hh) ≈ 100 · ½ = 50 and A_t ≈ 50 · mean(H).
    assert spectral_radius(net)[0]["W_hh"] == pytest.approx(50.0, rel=0.05)
    # Saturation: after the first step nearly every unit sits at σ(A) = 1 with σ' below 1e-15.
    saturated = np.mean(dphi[0, 1:] < 1e-15)
    assert saturated > 0.95
    # ‖dL/dH_t‖ is large at the last step, where the loss is, and nothing reaches the early steps.
    assert grad_norms[-1] > 1.0
    assert np.all(np.diff(grad_norms) >= 0.0)
    assert grad_norms[-2] / grad_norms[-1] < 1e-12
    # Measured: exactly 0 before step 48, where σ has rounded to 1.0 and σ' to 0.
    assert np.all(grad_norms[:40] / grad_norms[-1] < 1e-200)
    # The same seen through the Jacobian: ‖∂H_49/∂H_t‖ is nil for every t but the last two.
    trace = net.forward(np.random.default_rng(0).normal(size=(1, 50, 1)))
    assert np.all(jacobian_norms(net, trace, norm="fro")[:-2] < 1e-12)


def test_orthogonal_init_with_tanh_keeps_the_gradient_alive_at_early_steps() -> None:
    net, dphi, grad_norms = vanishing_run("orthogonal", "tanh")
    assert spectral_radius(net)[0]["W_hh"] == pytest.approx(1.0, abs=1e-9)
    # No saturation: tanh'(A_t) stays well away from 0 on average.
    assert np.mean(dphi) > 0.5
    assert np.mean(dphi < 1e-6) == 0.0
    # Measured: ‖dL/dH_0‖ / ‖dL/dH_49‖ ≈ 0.1 — ten-fold over 50 steps, not a collapse.
    ratio = grad_norms[0] / grad_norms[-1]
    assert 1e-2 < ratio <= 1.0
    assert np.all(grad_norms > 1e-2 * grad_norms[-1])
    trace = net.forward(np.random.default_rng(0).normal(size=(1, 50, 1)))
    assert jacobian_norms(net, trace)[0] > 1e-2
