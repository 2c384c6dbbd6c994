"""app.web.columns: a run's binary messages, made a run at a time, are byte for byte the binary
trace layout of each step frame encoded alone (`binary.encode` of the frame with its rows as
arrays), for every cell, dtype, output mode, direction and padding the stream can send."""

from typing import Any

import numpy as np
import pytest

from app.rnn import ModelConfig, Network
from app.web import binary
from app.web.columns import RowPlacer, encode_rows
from app.web.frames import binary_messages, step_frames


def run(
    cell: str,
    dtype: str,
    output_mode: str = "sequence",
    bidirectional: bool = False,
    lengths: list[int] | None = None,
    backward: bool = True,
) -> tuple[Any, Any]:
    """A forward trace (and its backward pass) of a two-layer model on a batch of 2, T = 5."""
    config = ModelConfig(
        cell=cell,  # type: ignore[arg-type]
        input_size=3,
        hidden_size=4,
        output_size=2,
        num_layers=2,
        bidirectional=bidirectional,
        output_mode=output_mode,  # type: ignore[arg-type]
        dtype=dtype,  # type: ignore[arg-type]
        seed=7,
    )
    network = Network(config)
    rng = np.random.default_rng(0)
    trace = network.forward(
        rng.normal(size=(2, 5, 3)).astype(dtype),
        lengths=None if lengths is None else np.array(lengths),
    )
    if not backward:
        return trace, None
    shape = (2, 5, 2) if output_mode == "sequence" else (2, 2)
    return trace, network.backward(trace, rng.normal(size=shape).astype(dtype))


def one_at_a_time(trace: Any, result: Any) -> list[bytes]:
    """The reference: each frame built with its rows as arrays, then encoded on its own."""
    return [binary.encode(frame, trace.config.dtype) for frame in step_frames(trace, result)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_runs_messages_are_each_frame_encoded_alone(cell: str, dtype: str) -> None:
    trace, result = run(cell, dtype)
    messages = binary_messages(trace, result)
    assert len(messages) == 2 * 5
    assert messages == one_at_a_time(trace, result)


@pytest.mark.parametrize(
    "options",
    [
        {"output_mode": "last"},  # the one output row sits in the last frame, not at row t
        {"bidirectional": True},
        {"bidirectional": True, "lengths": [3, 5]},  # sequence 0 padded after t = 2
        {"output_mode": "last", "lengths": [2, 5]},  # its output at t = 1, in a later frame
        {"backward": False},
    ],
)
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_every_frame_shape_of_the_stream_is_encoded_exactly(cell: str, options: dict) -> None:
    trace, result = run(cell, "float32", **options)
    messages = binary_messages(trace, result)
    assert messages == one_at_a_time(trace, result)
    assert len(messages) == (10 if options.get("backward", True) else 5)


def test_rows_of_different_steps_and_repeated_columns_are_placed_in_order() -> None:
    """A frame whose rows are not all row t of their columns (here a column twice, and a row
    of another step) takes each row's bytes as they come, each padded to 8 bytes."""
    a = np.arange(12, dtype=np.float32).reshape(4, 3)  # 12-byte rows: padded to 16
    b = np.arange(8, dtype=np.float64).reshape(4, 2) / 7

    def frames(row: RowPlacer) -> Any:
        for t in range(4):
            yield {"t": t, "x": [row(a, t), row(b, t)], "again": row(a, 3 - t)}

    messages = list(encode_rows(frames, "float32"))
    expected = [
        binary.encode({"t": t, "x": [a[t], b[t]], "again": a[3 - t]}, "float32") for t in range(4)
    ]
    assert messages == expected


def test_a_frame_without_arrays_is_its_header_alone() -> None:
    messages = list(encode_rows(lambda row: iter([{"type": "forward", "t": 0}]), "float64"))
    assert messages == [binary.encode({"type": "forward", "t": 0}, "float64")]
