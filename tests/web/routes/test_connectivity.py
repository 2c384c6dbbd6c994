"""POST /models/{id}/connectivity against finite differences of the API's own /forward."""

import numpy as np
import pytest

from tests.differences import connectivity_by_differences


def forward_outputs(client, model_id: str, inputs: np.ndarray, h0=None, c0=None) -> np.ndarray:
    body: dict = {"inputs": inputs.tolist()}
    if h0 is not None:
        body["h0"] = h0.tolist()
    if c0 is not None:
        body["c0"] = c0.tolist()
    response = client.post(f"/api/v1/models/{model_id}/forward", json=body)
    assert response.status_code == 200, response.text
    return np.asarray(response.json()["outputs"])


def forward_difference_norms(client, model_id, inputs, t, mode="sequence", h0=None, c0=None):
    """(T,) ‖∂Y_t/∂X_s‖_F by central differences of /forward, one input element at a time."""

    def output_at_t(x: np.ndarray) -> np.ndarray:
        outputs = forward_outputs(client, model_id, x, h0, c0)
        return outputs[t] if mode == "sequence" else outputs

    return connectivity_by_differences(output_at_t, inputs)


@pytest.mark.parametrize(
    ("cell", "head", "loss", "mode"),
    [
        ("rnn", "identity", "mse", "sequence"),
        ("lstm", "softmax", "cross_entropy", "sequence"),
        ("gru", "sigmoid", "bce", "last"),
    ],
)
def test_connectivity_equals_finite_differences_of_forward(
    client, make_model, cell, head, loss, mode
) -> None:
    model_id = make_model(cell=cell, head=head, loss=loss, output_mode=mode, num_layers=2, seed=5)
    rng = np.random.default_rng(3)
    inputs = rng.normal(size=(5, 2))
    h0 = rng.normal(size=(2, 4)) * 0.5
    c0 = rng.normal(size=(2, 4)) * 0.5 if cell == "lstm" else None
    t = 2 if mode == "sequence" else 4
    body = {"inputs": inputs.tolist(), "t": t, "h0": h0.tolist()}
    if c0 is not None:
        body["c0"] = c0.tolist()
    response = client.post(f"/api/v1/models/{model_id}/connectivity", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["t"] == t
    assert answer["output_steps"] == ([0, 1, 2, 3, 4] if mode == "sequence" else [4])
    norms = np.asarray(answer["norms"])
    reference = forward_difference_norms(client, model_id, inputs, t, mode, h0, c0)
    assert norms.shape == (5,)
    assert all(norms[t + 1 :] == 0.0)
    scale = float(np.max(reference))
    assert scale > 1e-3, "the reference shows no dependence at all"
    worst = int(np.argmax(np.abs(norms - reference)))
    assert abs(norms[worst] - reference[worst]) <= 1e-6 * scale, (
        f"input step {worst}: API {norms[worst]}, finite differences {reference[worst]}"
    )
    squared = reference[: t + 1][::-1] ** 2
    expected_reach = int(np.argmax(np.cumsum(squared) >= 0.9 * squared.sum() * (1 - 1e-9)) + 1)
    assert answer["reach_90"] == expected_reach


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"inputs": [[0.0, 1.0]] * 3, "t": 3}, "t", "0 ≤ t ≤ 2"),
        ({"inputs": [[0.0, 1.0]] * 3, "t": -1}, "t", "greater than or equal to 0"),
        ({"inputs": [[0.0, 1.0]] * 3, "t": 1.5}, "t", "integer"),
        ({"inputs": [[0.0, 1.0]] * 3, "t": True}, "t", "integer"),
        ({"inputs": [[0.0, 1.0, 2.0]] * 3, "t": 0}, "inputs", "D = 3"),
        ({"inputs": [[0.0, 1.0], [0.0, "NaN"]], "t": 0}, "inputs", "inputs[1][1]"),
        ({"inputs": [[0.0, 1.0]]}, "t", "t"),
        ({"inputs": [[0.0, 1.0]], "t": 0, "h0": [[0.0] * 3]}, "h0", "h0 has shape"),
    ],
)
def test_connectivity_rejects_bad_input_with_422_naming_it(
    client, make_model, body, field, says
) -> None:
    model_id = make_model()
    response = client.post(f"/api/v1/models/{model_id}/connectivity", json=body)
    assert response.status_code == 422, response.text
    text = response.text
    assert field in text and says in text, text


def test_connectivity_of_a_many_to_one_model_is_only_at_the_last_step(client, make_model) -> None:
    model_id = make_model(output_mode="last")
    response = client.post(
        f"/api/v1/models/{model_id}/connectivity", json={"inputs": [[0.0, 1.0]] * 4, "t": 1}
    )
    assert response.status_code == 422
    assert "t = 3" in response.json()["detail"]


def test_connectivity_nan_literal_is_422(client, make_model) -> None:
    model_id = make_model()
    response = client.post(
        f"/api/v1/models/{model_id}/connectivity",
        content='{"inputs": [[0.0, NaN]], "t": 0}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert "inputs[0][1]" in response.text
