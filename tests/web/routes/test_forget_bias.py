"""The LSTM forget-gate bias over REST: echoed, applied to the weights, refused elsewhere."""

import numpy as np
from fastapi.testclient import TestClient
from safetensors.numpy import load


def test_an_lstm_created_with_a_forget_bias_has_it_in_its_weights(client: TestClient) -> None:
    weights = {}
    for bias in (0.0, 1.0):
        config = {
            "input_size": 2,
            "hidden_size": 4,
            "output_size": 1,
            "cell": "lstm",
            "seed": 9,
            "forget_bias": bias,
        }
        reply = client.post("/api/v1/models", json={"config": config})
        assert reply.status_code == 201, reply.text
        model_id = reply.json()["id"]
        assert client.get(f"/api/v1/models/{model_id}").json()["config"]["forget_bias"] == bias
        weights[bias] = load(client.get(f"/api/v1/models/{model_id}/weights").content)
    # PyTorch's two bias vectors sum to the engine's b_h; the shift lands in the forget block.
    total = {b: w["rnn.bias_ih_l0"] + w["rnn.bias_hh_l0"] for b, w in weights.items()}
    np.testing.assert_allclose(total[1.0][4:8] - total[0.0][4:8], 1.0, atol=1e-12)
    np.testing.assert_allclose(total[1.0][:4], total[0.0][:4], atol=1e-12)
    np.testing.assert_allclose(total[1.0][8:], total[0.0][8:], atol=1e-12)


def test_a_forget_bias_on_a_gru_is_a_clear_422(client: TestClient) -> None:
    config = {"input_size": 2, "hidden_size": 4, "output_size": 1, "cell": "gru", "forget_bias": 1}
    reply = client.post("/api/v1/models", json={"config": config})
    assert reply.status_code == 422
    assert "forget_bias applies to the lstm only" in reply.text
