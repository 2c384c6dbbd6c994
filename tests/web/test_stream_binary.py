"""Binary stream frames (`"format": "binary"`): every frame decoded from its binary message
equals the JSON frame of the same pass, a float64 model's rows exactly, a float32 model's
exactly its float32 values; the start, summary and error messages stay JSON text."""

import json
from typing import Any

import numpy as np
import pytest

from rnn_explorer import decode_trace

LENGTHS = [3, 4]


def run(client, model_id: str, body: dict) -> list[Any]:
    """The messages of one run: dicts for text messages, bytes as sent for binary ones."""
    messages: list[Any] = []
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_json({"type": "run", **body})
        while True:
            message = ws.receive()
            if message.get("bytes") is not None:
                messages.append(message["bytes"])
                continue
            messages.append(json.loads(message["text"]))
            if messages[-1]["type"] in ("summary", "error"):
                return messages


def as_json(value: Any, dtype: str) -> Any:
    """A decoded frame as its JSON reads: arrays (checked to be in `dtype`) as float64 lists."""
    if isinstance(value, np.ndarray):
        assert value.dtype == np.dtype(dtype), value.dtype
        return value.astype(np.float64).tolist()
    if isinstance(value, dict):
        return {key: as_json(item, dtype) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item, dtype) for item in value]
    return value


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_binary_frames_equal_the_json_frames_of_the_same_pass(
    client, make_model, cell: str, dtype: str
) -> None:
    model_id = make_model(cell=cell, num_layers=2, bidirectional=True, dtype=dtype, seed=3)
    rng = np.random.default_rng(1)
    body = {
        "inputs": rng.normal(size=(2, 4, 2)).tolist(),
        "targets": rng.normal(size=(2, 4, 3)).tolist(),
        "lengths": LENGTHS,
    }
    text = run(client, model_id, body)
    binary = run(client, model_id, {**body, "format": "binary"})
    assert len(text) == len(binary) == 1 + 4 + 4 + 1
    assert binary[0] == {**text[0], "format": "binary"}
    assert binary[-1] == text[-1]  # the summary
    for message, frame in zip(binary[1:-1], text[1:-1], strict=True):
        assert isinstance(message, bytes) and message[:4] == b"RNNT"
        assert as_json(decode_trace(message), dtype) == frame
    # the float32 values themselves: the JSON writes them widened, the binary as they are
    first = decode_trace(binary[1])["reverse"]["H"][0]
    assert first.dtype == np.dtype(dtype) and first.tolist() == text[1]["reverse"]["H"][0]


def test_a_binary_frame_is_the_binary_trace_layout(client, make_model) -> None:
    """Read with the layout of docs/api.md by hand: prefix, padded header, aligned buffers."""
    model_id = make_model(cell="gru", bidirectional=True)
    inputs = [[0.1, -0.2], [0.3, 0.4], [0.5, -0.6]]
    text = run(client, model_id, {"inputs": inputs})
    message = run(client, model_id, {"inputs": inputs, "format": "binary"})[2]  # t = 1
    version, n = np.frombuffer(message, "<u4", count=2, offset=4)
    assert version == 1 and (12 + n) % 8 == 0
    header = json.loads(message[12 : 12 + n])
    descriptor = header["reverse"]["H"][0]
    assert descriptor["offset"] % 8 == 0 and descriptor["dtype"] == "float64"
    row = np.frombuffer(message, "<f8", descriptor["shape"][0], 12 + n + descriptor["offset"])
    assert row.tolist() == text[2]["reverse"]["H"][0]
    assert header["t"] == 1 and header["type"] == "forward"


@pytest.mark.parametrize("value", ["xml", "", 1, None])
def test_a_bad_format_is_an_error_frame_naming_it(client, make_model, value) -> None:
    model_id = make_model()
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_json({"type": "run", "inputs": [[0.0, 0.0]], "format": value})
        error = ws.receive_json()
        assert error["type"] == "error" and error["field"] == "run.format", error
        assert "'json' or 'binary'" in error["detail"]
        ws.send_json({"type": "run", "inputs": [[0.0, 0.0]], "format": "binary"})
        assert ws.receive_json()["format"] == "binary"
        assert ws.receive_bytes()[:4] == b"RNNT"
        assert ws.receive_json()["type"] == "summary"
