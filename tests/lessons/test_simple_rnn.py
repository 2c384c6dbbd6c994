"""The numbers of lessons/1-simple-rnn.md, from the server, against the layer written out as the
lesson's pseudo-code: Keras' SimpleRNN(100) on a (250, 32) input."""

import numpy as np
from fastapi.testclient import TestClient
from safetensors.numpy import load

PRESET = "SimpleRNN shapes"


def test_the_simple_rnn_preset_maps_a_250_by_32_input_to_a_100_state_with_13300_weights(
    client: TestClient,
) -> None:
    preset = client.get(f"/api/v1/presets/{PRESET}").json()
    example = client.get(f"/api/v1/presets/{PRESET}/example").json()
    X = np.asarray(example["inputs"])
    assert X.shape == (1, 250, 32)  # the lesson's "250 timesteps of 32 features"
    created = client.post("/api/v1/models", json={"config": preset["model"]})
    assert created.status_code == 201, created.text
    model_id = created.json()["id"]
    weights = load(client.get(f"/api/v1/models/{model_id}/weights").content)
    # PyTorch's layout (H, D) / (H, H) and two bias vectors; the lesson's rows: W_xh = W_ihᵀ
    W_xh = weights["rnn.weight_ih_l0"].T
    W_hh = weights["rnn.weight_hh_l0"].T
    b_h = weights["rnn.bias_ih_l0"] + weights["rnn.bias_hh_l0"]
    assert W_xh.shape == (32, 100) and W_hh.shape == (100, 100) and b_h.shape == (100,)
    assert W_xh.size + W_hh.size + b_h.size == 13_300  # Keras' count for SimpleRNN(100) on 32

    forward = client.post(f"/api/v1/models/{model_id}/forward", json={"inputs": X[0].tolist()})
    assert forward.status_code == 200, forward.text
    H = np.asarray(forward.json()["trace"]["layers"][0]["H"])
    assert H.shape == (250, 100)
    # the pseudo-code of the lesson's loop step, run here as the independent truth
    state = np.zeros(100)
    for t in range(250):
        state = np.tanh(X[0, t] @ W_xh + state @ W_hh + b_h)
        np.testing.assert_allclose(H[t], state, atol=1e-10)
    # Keras returns H_T: the last column of the heatmap; the head's O_T is a map of it
    W_hq, b_q = weights["head.weight"].T, weights["head.bias"]
    O_T = np.asarray(forward.json()["outputs"]).reshape(-1)
    assert O_T.shape == (100,)
    np.testing.assert_allclose(O_T, H[-1] @ W_hq + b_q, atol=1e-10)
    assert not np.allclose(O_T, H[-1])  # O_T is not H_T


def test_the_first_answers_compute_states_is_a_linear_recurrence_of_one_number() -> None:
    """compute_states(X, wx, wRec): S[:, k+1] = X[:, k]·wx + S[:, k]·wRec, for scalars wx, wRec.
    Its state after the sequence is Σ_k wRec^(T−1−k) wx X_k: linear in X, one number per
    sequence — not SimpleRNN's 100 tanh units."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 250))
    wx, wRec = 0.7, 0.95

    def compute_states(X: np.ndarray) -> np.ndarray:
        S = np.zeros((X.shape[0], X.shape[1] + 1))
        for k in range(X.shape[1]):
            S[:, k + 1] = X[:, k] * wx + S[:, k] * wRec
        return S

    S = compute_states(X)
    assert S.shape == (3, 251)  # one number of state per sequence and step
    powers = wRec ** np.arange(249, -1, -1)
    np.testing.assert_allclose(S[:, -1], (X * wx) @ powers, rtol=1e-12)
    np.testing.assert_allclose(compute_states(2 * X), 2 * S, rtol=1e-12)  # linear: no tanh
