"""Many random configurations against PyTorch autograd in float64, within 1e-9.

Each case draws a cell (rnn with every nonlinearity, lstm, gru), 1–3 layers, an output mode, a
loss with its head and target kind (class indices or probabilities for cross-entropy), a batch
size, a length T from 1 to 200 and whether h0 / c0 are given, then compares logits, head outputs,
loss, every parameter gradient and the gradients of h0, c0 and the inputs (torch_reference).
"""

import numpy as np
import pytest

from app.rnn.config import ModelConfig

from .torch_reference import CELL_VARIANTS, LOSS_VARIANTS, compare_with_torch

# Every (cell, loss, output mode) triple three times; the other options are drawn at random.
CASES = 3 * len(CELL_VARIANTS) * len(LOSS_VARIANTS) * 2


def draw_length(index: int, rng: np.random.Generator) -> int:
    """T: every ninth case 200, every ninth 1, the others log-uniform on [1, 200]."""
    if index % 9 == 0:
        return 200
    if index % 9 == 1:
        return 1
    return int(np.exp(rng.uniform(0.0, np.log(200.0))).round())


def draw_case(index: int) -> tuple[ModelConfig, dict]:
    rng = np.random.default_rng(20_000 + index)
    cell, nonlinearity = CELL_VARIANTS[index % len(CELL_VARIANTS)]
    loss, head, indices = LOSS_VARIANTS[(index // len(CELL_VARIANTS)) % len(LOSS_VARIANTS)]
    mode = ("sequence", "last")[(index // (len(CELL_VARIANTS) * len(LOSS_VARIANTS))) % 2]
    T = draw_length(index, rng)
    long = T > 60
    config = ModelConfig(
        input_size=int(rng.integers(1, 7)),
        hidden_size=int(rng.integers(1, 6 if long else 11)),
        output_size=int(rng.integers(2, 6)) if loss == "cross_entropy" else int(rng.integers(1, 6)),
        cell=cell,  # type: ignore[arg-type]
        nonlinearity=nonlinearity,  # type: ignore[arg-type]
        num_layers=int(rng.integers(1, 4)),
        head=head,  # type: ignore[arg-type]
        loss=loss,  # type: ignore[arg-type]
        output_mode=mode,
    )
    options = {
        "seed": index,
        "B": int(rng.integers(1, 5 if long else 17)),
        "T": T,
        "indices": indices,
        "given_h0": bool(rng.integers(0, 2)),
        "given_c0": bool(rng.integers(0, 2)),
        # Long sequences get well-conditioned weights (ρ(W_hh) ≈ 0.3); see test_network.
        "scale": 0.5 if long else 1.0,
    }
    return config, options


def case_id(index: int) -> str:
    config, options = draw_case(index)
    kind = "indices" if options["indices"] else "values"
    state = "h0" if options["given_h0"] else "zeros"
    return (
        f"{index}-{config.cell}-{config.nonlinearity}-L{config.num_layers}-{config.output_mode}"
        f"-{config.loss}-{config.head}-{kind}-B{options['B']}-T{options['T']}-{state}"
    )


@pytest.mark.parametrize("index", range(CASES), ids=case_id)
def test_a_random_configuration_matches_torch_within_1e_9(index: int) -> None:
    config, options = draw_case(index)
    compare_with_torch(config, **options)


def test_the_random_cases_cover_every_option() -> None:
    drawn = [draw_case(index) for index in range(CASES)]
    configs = [config for config, _ in drawn]
    assert {(c.cell, c.nonlinearity) for c in configs} == set(CELL_VARIANTS)
    assert {(c.loss, c.head, o["indices"]) for c, o in drawn} == set(LOSS_VARIANTS)
    combinations = {
        (c.cell, c.nonlinearity, c.loss, c.head, o["indices"], c.output_mode) for c, o in drawn
    }
    assert len(combinations) == CASES // 3
    assert {c.num_layers for c in configs} == {1, 2, 3}
    assert {c.output_mode for c in configs} == {"sequence", "last"}
    assert {o["given_h0"] for _, o in drawn} == {True, False}
    assert {o["given_c0"] for c, o in drawn if c.cell == "lstm"} == {True, False}
    lengths = [o["T"] for _, o in drawn]
    assert min(lengths) == 1 and max(lengths) == 200
    assert sum(1 for T in lengths if T > 60) >= 10
    assert len({o["B"] for _, o in drawn}) >= 8
