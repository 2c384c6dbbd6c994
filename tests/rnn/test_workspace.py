"""The per-thread workspace: pooled buffers are reused only when nothing else refers to them, so
a trace or a result that the caller keeps is never overwritten by a later pass."""

import gc
import threading

import numpy as np
import pytest

from app.rnn import arrays
from app.rnn.arrays import release_workspace, workspace
from app.rnn.config import ModelConfig
from app.rnn.network import Network

CELLS = ["rnn", "lstm", "gru"]


def network(cell: str) -> Network:
    return Network(ModelConfig(input_size=3, hidden_size=16, output_size=2, cell=cell, seed=1))


def test_a_buffer_is_handed_out_again_only_once_every_other_reference_is_gone() -> None:
    dtype = np.dtype(np.float64)
    first = workspace("test.buffer", (4, 5), dtype)
    second = workspace("test.buffer", (4, 5), dtype)
    assert second is not first
    view = first[1:]
    del first
    third = workspace("test.buffer", (4, 5), dtype)
    assert third is not view.base and third is not second  # the view still holds the first
    address = view.base.__array_interface__["data"][0]
    del view
    again = workspace("test.buffer", (4, 5), dtype)
    assert again.__array_interface__["data"][0] == address
    other_shape = workspace("test.buffer", (2, 2), dtype)
    assert other_shape.shape == (2, 2)
    release_workspace()


@pytest.mark.parametrize("cell", CELLS)
def test_a_kept_trace_and_result_survive_later_passes_unchanged(cell: str) -> None:
    net = network(cell)
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
    for _ in range(3):  # the same shapes: every pooled buffer is asked for again
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


@pytest.mark.parametrize("cell", CELLS)
def test_passes_reuse_the_buffers_of_dropped_traces(cell: str) -> None:
    net = network(cell)
    X = np.random.default_rng(1).normal(size=(2, 5, 3))
    address = net.forward(X).layers[0].H.__array_interface__["data"][0]
    again = net.forward(X).layers[0].H.__array_interface__["data"][0]
    assert again == address


def test_threads_never_share_a_buffer() -> None:
    net = network("lstm")
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


def test_the_pools_hold_at_most_their_byte_budget_and_larger_passes_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release_workspace()
    gc.collect()
    before = arrays.pooled_bytes()
    monkeypatch.setattr(arrays, "POOL_MAX_BYTES", before + 64 * 1024)
    net = network("gru")
    rng = np.random.default_rng(3)
    small, large = rng.normal(size=(1, 4, 3)), rng.normal(size=(8, 200, 3))
    expected = [net.forward(X).hidden().copy() for X in (small, large)]
    for _ in range(3):
        for X, H in zip((small, large), expected, strict=True):
            np.testing.assert_array_equal(net.forward(X).hidden(), H)
            assert before < arrays.pooled_bytes() <= before + 64 * 1024
    release_workspace()
    gc.collect()
    assert arrays.pooled_bytes() == before
