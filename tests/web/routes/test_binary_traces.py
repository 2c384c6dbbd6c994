"""The binary trace format (app.web.binary) against the JSON answer of the same request.

Each test decodes the binary answer with NumPy alone, as docs/api.md shows, and compares it key by
key with the JSON answer: equal bit for bit once the JSON's float64 numbers are read in the
model's dtype (a float32 model's values are exact in both).
"""

import json
from typing import Any

import numpy as np
import pytest

TRACE = "application/vnd.rnn-explorer.trace"
DESCRIPTOR = {"dtype", "shape", "offset"}


def decode(body: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The binary trace → (the answer with NumPy arrays, every array descriptor of the header)."""
    assert body[:4] == b"RNNT"
    version, length = np.frombuffer(body, "<u4", count=2, offset=4)
    assert version == 1
    start = 12 + int(length)
    header = json.loads(body[12:start])
    descriptors: list[dict[str, Any]] = []

    def walk(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == DESCRIPTOR:
            descriptors.append(value)
            dtype = np.dtype(value["dtype"]).newbyteorder("<")
            count = int(np.prod(value["shape"]))
            flat = np.frombuffer(body, dtype, count=count, offset=start + value["offset"])
            return flat.reshape(value["shape"])
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return walk(header), descriptors


def assert_same(binary: Any, answer: Any, dtype: str, where: str = "answer") -> None:
    """Key by key; arrays equal bit for bit to the JSON numbers read in `dtype`."""
    if isinstance(binary, np.ndarray):
        assert binary.dtype == np.dtype(dtype), where
        expected = np.asarray(answer, dtype=np.float64).astype(dtype)
        assert binary.shape == expected.shape, where
        assert binary.tobytes() == expected.tobytes(), f"{where} differs"
    elif isinstance(binary, dict):
        assert set(binary) == set(answer), where
        for key in binary:
            assert_same(binary[key], answer[key], dtype, f"{where}.{key}")
    elif isinstance(binary, list):
        assert len(binary) == len(answer), where
        for i, (b, a) in enumerate(zip(binary, answer, strict=True)):
            assert_same(b, a, dtype, f"{where}[{i}]")
    else:
        assert binary == answer, where


def _request(cell: str, batched: bool, dtype: str) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = np.random.default_rng(7)
    T, D, Q = 5, 2, 3
    shape = (2, T) if batched else (T,)
    inputs = rng.normal(size=(*shape, D)).tolist()
    targets = rng.normal(size=(*shape, Q)).tolist()
    config = {"cell": cell, "num_layers": 2, "dtype": dtype}
    return config, {"inputs": inputs, "targets": targets}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("route", ["forward", "backward"])
def test_binary_trace_equals_json_answer(client, make_model, cell, dtype, batched, route):
    config, body = _request(cell, batched, dtype)
    if route == "forward":
        body = {"inputs": body["inputs"]}
    model_id = make_model(**config)
    url = f"/api/v1/models/{model_id}/{route}"
    answer = client.post(url, json=body)
    binary = client.post(url, json=body, headers={"Accept": TRACE})
    assert answer.status_code == binary.status_code == 200, binary.text
    assert binary.headers["content-type"] == TRACE
    assert answer.headers["content-type"].startswith("application/json")
    decoded, descriptors = decode(binary.content)
    assert descriptors, "the binary answer carries no array"
    assert_same(decoded, answer.json(), dtype)
    assert all(d["dtype"] == dtype for d in descriptors)


def test_binary_trace_buffers_are_aligned_for_typed_array_views(client, make_model):
    model_id = make_model(cell="lstm", dtype="float32")
    inputs = [[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]]  # odd sizes leave padding to place
    response = client.post(
        f"/api/v1/models/{model_id}/backward",
        json={"inputs": inputs, "targets": [[0.0, 1.0, 0.0]] * 3},
        headers={"Accept": TRACE},
    )
    body = response.content
    length = int(np.frombuffer(body, "<u4", count=1, offset=8)[0])
    start = 12 + length
    assert start % 8 == 0
    _, descriptors = decode(body)
    for descriptor in descriptors:
        assert descriptor["offset"] % 8 == 0, descriptor
        size = np.dtype(descriptor["dtype"]).itemsize * int(np.prod(descriptor["shape"]))
        assert start + descriptor["offset"] + size <= len(body)


@pytest.mark.parametrize(
    "accept",
    ["application/vnd.rnn-explorer.tracex", "text/plain", f"{TRACE};q=0", f"{TRACE};q=oops", ""],
)
def test_other_accept_headers_get_json(client, make_model, accept):
    model_id = make_model()
    response = client.post(
        f"/api/v1/models/{model_id}/forward",
        json={"inputs": [[0.1, 0.2]]},
        headers={"Accept": accept},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "outputs" in response.json()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("route", ["forward", "backward"])
def test_states_only_trace_is_the_full_answer_without_the_derivable_arrays(
    client, make_model, cell, batched, route
):
    config, body = _request(cell, batched, "float64")
    if route == "forward":
        body = {"inputs": body["inputs"]}
    model_id = make_model(**config)
    url = f"/api/v1/models/{model_id}/{route}"
    full = client.post(url, json=body).json()
    compact = client.post(f"{url}?fields=states", json=body, headers={"Accept": TRACE})
    assert compact.status_code == 200, compact.text
    decoded, _ = decode(compact.content)
    layers = decoded["trace"].pop("layers")
    expected_layers = full["trace"].pop("layers")
    assert_same(decoded, full, "float64")  # everything outside the layers is as in full
    for k, (layer, sent) in enumerate(zip(layers, expected_layers, strict=True)):
        if route == "forward":
            states = {"H": sent["H"]}
            if cell == "lstm":
                states["C"] = sent["gates"]["C"]
        else:
            states = {key: value for key, value in sent.items() if key != "dA"}
        assert_same(layer, states, "float64", f"layer {k}")


def test_states_only_json_answer_and_a_bad_fields_value(client, make_model):
    model_id = make_model(cell="lstm")
    url = f"/api/v1/models/{model_id}/forward"
    answer = client.post(f"{url}?fields=states", json={"inputs": [[0.1, 0.2]]})
    assert answer.status_code == 200
    assert set(answer.json()["trace"]["layers"][0]) == {"H", "C"}
    wrong = client.post(f"{url}?fields=everything", json={"inputs": [[0.1, 0.2]]})
    assert wrong.status_code == 422
    assert "fields" in wrong.text
