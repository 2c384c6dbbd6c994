"""A pass run inside `cancel.cancellable` gives way between timesteps, in every cell, both ways;
outside the block (or in another thread) the same pass runs to its end."""

import threading

import numpy as np
import pytest

from app.rnn import ModelConfig, Network, cancel


def network(cell: str) -> Network:
    config = ModelConfig(input_size=3, hidden_size=5, output_size=2, cell=cell)
    return Network(config)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("after", [0, 3, 9, 14])
def test_every_cell_gives_way_after_the_step_its_check_says(cell: str, after: int) -> None:
    net = network(cell)
    X = np.random.default_rng(0).normal(size=(2, 8, 3))
    targets = np.zeros((2, 8, 2))
    trace = net.forward(X)
    asked = 0

    def should_stop() -> bool:
        nonlocal asked
        asked += 1
        return asked > after

    with pytest.raises(cancel.Cancelled), cancel.cancellable(should_stop):
        net.backward(net.forward(X), targets)
    assert asked == after + 1  # once a timestep, 8 forward then 8 backward, until it said stop
    # the same passes outside the block are untouched by it
    again = net.forward(X)
    np.testing.assert_array_equal(again.hidden(), trace.hidden())
    assert np.isfinite(net.backward(again, targets).loss)


def test_the_check_belongs_to_the_thread_that_set_it() -> None:
    net = network("lstm")
    X = np.ones((1, 6, 3))
    finished: list[bool] = []
    with cancel.cancellable(lambda: True):
        thread = threading.Thread(target=lambda: finished.append(net.forward(X) is not None))
        thread.start()
        thread.join(10)
        with pytest.raises(cancel.Cancelled):
            net.forward(X)
    assert finished == [True]
    assert cancel.current() is None
