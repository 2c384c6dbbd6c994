"""reference.py is the spec: the fast cells equal its steps, and its steps equal PyTorch.

Both comparisons run one layer over a sequence with a gradient dH_out reaching every H_t from
outside the recurrence (what the head or the layer above sends), and compare every step's
states, pre-activations, gates and gradients, and the parameter gradients.
"""

import numpy as np
import pytest
import torch

from app.rnn import reference, weights
from app.rnn.config import ModelConfig
from app.rnn.init import parameter_shapes
from app.rnn.network import make_cell

from .torch_reference import CELL_VARIANTS, assert_close, random_state, unroll

STEP_AXES = ("step", "batch", "unit")
# float64, the same equations evaluated in another order (exp forms, fused products): a few
# units in the last place, grown over the steps.
TOLERANCE = 1e-12


def variant_id(variant: tuple[str, str]) -> str:
    return "-".join(variant)


def layer_config(cell: str, nonlinearity: str, hidden_size: int = 5) -> ModelConfig:
    return ModelConfig(
        input_size=3,
        hidden_size=hidden_size,
        output_size=2,
        cell=cell,
        nonlinearity=nonlinearity,
    )


def layer_case(
    config: ModelConfig, seed: int, B: int, T: int, given_state: bool
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """Layer 0's parameters (our names), X (T, B, D), H0, C0 (B, H) and dH_out (T, B, H)."""
    rng = np.random.default_rng(seed)
    shapes = parameter_shapes(config)
    params = {
        name.removeprefix("layer0."): rng.uniform(-0.6, 0.6, shape)
        for name, shape in shapes.items()
        if name.startswith("layer0.")
    }
    H = config.hidden_size
    X = rng.normal(size=(T, B, config.input_size))
    H0 = rng.normal(0.0, 0.5, (B, H)) if given_state else np.zeros((B, H))
    C0 = rng.normal(0.0, 0.5, (B, H)) if given_state and config.cell == "lstm" else None
    dH_out = rng.normal(size=(T, B, H))
    return params, X, H0, C0, dH_out


def stacked(values: list[np.ndarray]) -> np.ndarray:
    return np.stack(values)


@pytest.mark.parametrize("variant", CELL_VARIANTS, ids=variant_id)
@pytest.mark.parametrize("B", [1, 3])
@pytest.mark.parametrize("truncate", [None, 1, 3])
@pytest.mark.parametrize("given_state", [True, False])
def test_the_fast_cell_computes_the_reference_steps(
    variant: tuple[str, str], B: int, truncate: int | None, given_state: bool
) -> None:
    cell, nonlinearity = variant
    config = layer_config(cell, nonlinearity)
    seed = B + 7 * (truncate or 0)
    params, X, H0, C0, dH_out = layer_case(config, seed, B=B, T=9, given_state=given_state)
    fast = make_cell(config)
    trace = fast.forward(X, params, H0, C0)
    grads_out = {name: np.full_like(value, np.nan) for name, value in params.items()}
    result = fast.backward(trace, params, dH_out, grads_out, truncate)

    steps = reference.forward(cell, X, params, H0, C0, nonlinearity)
    step_grads = reference.backward(steps, params, dH_out, truncate, nonlinearity)

    def check(ours: np.ndarray, expected: list[np.ndarray], what: str) -> None:
        assert_close(ours, stacked(expected), what, tol=TOLERANCE, axes=STEP_AXES)

    check(trace.H, [s.H_t for s in steps], "H_t")
    check(trace.A, [s.A_t for s in steps], "A_t")
    for name, value in trace.gates().items():
        check(value, [getattr(s, "C_t" if name == "C" else name) for s in steps], f"gate {name}")
    check(result.dH, [g.dH_t for g in step_grads], "dL/dH_t")
    check(result.dA_x, [g.dA_t for g in step_grads], "dL/dA_t")
    check(result.dA_h, [g.dA_h for g in step_grads], "dL/dA_h,t")
    check(result.dX, [g.dX_t for g in step_grads], "dL/dX_t")
    if cell == "lstm":
        assert result.dC is not None and result.dC0 is not None
        check(result.dC, [g.dC_t for g in step_grads], "dL/dC_t")
        assert_close(result.dC0, step_grads[0].dC_prev, "dL/dC0", tol=TOLERANCE)
    assert_close(result.dH0, step_grads[0].dH_prev, "dL/dH0", tol=TOLERANCE)
    assert set(result.grads) == set(params)
    for name, total in result.grads.items():
        assert total is grads_out[name]  # written into the arrays it was given
        per_step = stacked([g.params[name] for g in step_grads])
        assert_close(total, per_step.sum(axis=0), f"gradient of {name}", tol=TOLERANCE)


@pytest.mark.parametrize("variant", CELL_VARIANTS, ids=variant_id)
@pytest.mark.parametrize("truncate", [None, 2])
@pytest.mark.parametrize("given_state", [True, False])
def test_the_reference_steps_are_torchs_equations(
    variant: tuple[str, str], truncate: int | None, given_state: bool
) -> None:
    cell, nonlinearity = variant
    config = layer_config(cell, nonlinearity)
    rng = np.random.default_rng(5)
    state = random_state(config, rng)
    params = {
        name.removeprefix("layer0."): value
        for name, value in weights.from_pytorch(config, state).items()
        if name.startswith("layer0.")
    }
    B, T, H = 2, 7, config.hidden_size
    X = rng.normal(size=(T, B, config.input_size))
    H0 = rng.normal(0.0, 0.5, (B, H)) if given_state else np.zeros((B, H))
    C0 = rng.normal(0.0, 0.5, (B, H)) if cell == "lstm" and given_state else None
    dH_out = rng.normal(size=(T, B, H))

    steps = reference.forward(cell, X, params, H0, C0, nonlinearity)
    step_grads = reference.backward(steps, params, dH_out, truncate, nonlinearity)

    # torch: the same layer unrolled, and a loss whose gradient at each H_t is dH_out[t].
    C0_layers = None if C0 is None else C0[None]
    ref = unroll(config, state, X.swapaxes(0, 1), H0[None], C0_layers, truncate=truncate)
    loss = sum((h * torch.tensor(dH_out[t])).sum() for t, h in enumerate(ref.H[0]))
    grads = ref.gradients(loss)

    def check(ours: list[np.ndarray], expected: np.ndarray, what: str) -> None:
        assert_close(stacked(ours), expected, what, tol=1e-12, axes=STEP_AXES)

    H_torch = torch.stack(ref.H[0]).detach().numpy()
    A_torch = np.stack([torch.cat(parts, dim=1).detach().numpy() for parts in ref.A[0]])
    check([s.H_t for s in steps], H_torch, "H_t")
    check([s.A_t for s in steps], A_torch, "A_t")
    check([g.dH_t for g in step_grads], grads.dH[0].swapaxes(0, 1), "dL/dH_t")
    check([g.dA_t for g in step_grads], grads.dA[0].swapaxes(0, 1), "dL/dA_t")
    if cell == "lstm":
        check([s.C_t for s in steps], torch.stack(ref.C[0]).detach().numpy(), "C_t")
        check([g.dC_t for g in step_grads], grads.dC[0].swapaxes(0, 1), "dL/dC_t")
        assert_close(step_grads[0].dC_prev, grads.dc0[0], "dL/dC0", tol=1e-12)
    assert_close(step_grads[0].dH_prev, grads.dh0[0], "dL/dH0", tol=1e-12)
    ours = {f"layer0.{name}": sum(g.params[name] for g in step_grads) for name in params}
    ours["W_hq"] = np.zeros((H, config.output_size))
    ours["b_q"] = np.zeros(config.output_size)
    for name, value in weights.grads_to_pytorch(config, ours).items():
        if name.startswith("rnn."):
            assert_close(value, grads.params[name], f"gradient of {name}", tol=1e-12)
