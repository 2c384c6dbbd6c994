"""The lesson "Binary addition and BPTT" (lessons/5-binary-addition.md) over the API, against
the tutorial's forward pass and BPTT re-implemented here in NumPy."""

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.rnn.arrays import Array
from tests.lessons.helpers import (
    as_array,
    backward,
    forward,
    history,
    lesson_step,
    make_model,
    params,
    preset,
    sample,
    train,
    training_of,
)

LESSON = "binary-addition"
PRESET = "Binary addition"


def sigmoid(x: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-x))


def tutorial_bptt(P: dict[str, Array], X: Array, y: Array) -> dict[str, Any]:
    """The tutorial's loops for one pair: X (8, 2) and y (8,), least significant bit first.
    synapse_0 = W_xh, synapse_h = W_hh, synapse_1 = W_hq; no biases."""
    synapse_0, synapse_h, synapse_1 = P["layer0.W_xh"], P["layer0.W_hh"], P["W_hq"]
    layer_2_deltas, layer_1_values = [], [np.zeros((1, 16))]
    for position in range(8):
        x = X[position][None]
        layer_1 = sigmoid(x @ synapse_0 + layer_1_values[-1] @ synapse_h)
        layer_2 = sigmoid(layer_1 @ synapse_1)
        layer_2_error = y[position] - layer_2
        layer_2_deltas.append(layer_2_error * layer_2 * (1 - layer_2))
        layer_1_values.append(layer_1.copy())
    future_layer_1_delta = np.zeros((1, 16))
    layer_1_deltas = [np.zeros((1, 16))] * 8
    synapse_0_update = np.zeros_like(synapse_0)
    synapse_h_update = np.zeros_like(synapse_h)
    synapse_1_update = np.zeros_like(synapse_1)
    for position in range(8):
        t = 7 - position  # the backward loop runs from the last bit to the first
        x = X[t][None]
        layer_1 = layer_1_values[-position - 1]
        prev_layer_1 = layer_1_values[-position - 2]
        layer_2_delta = layer_2_deltas[-position - 1]
        layer_1_delta = (future_layer_1_delta @ synapse_h.T + layer_2_delta @ synapse_1.T) * (
            layer_1 * (1 - layer_1)
        )
        synapse_1_update += layer_1.T @ layer_2_delta
        synapse_h_update += prev_layer_1.T @ layer_1_delta
        synapse_0_update += x.T @ layer_1_delta
        layer_1_deltas[t] = layer_1_delta
        future_layer_1_delta = layer_1_delta
    return {
        "layer_1": np.vstack(layer_1_values[1:]),
        "layer_2_delta": np.vstack(layer_2_deltas),
        "layer_1_delta": np.vstack(layer_1_deltas),
        "synapse_0_update": synapse_0_update,
        "synapse_h_update": synapse_h_update,
        "synapse_1_update": synapse_1_update,
    }


def carries(a: Array, b: Array) -> Array:
    """(N,) operands → (N, 8): 1 where bit t carries a 1 into bit t + 1."""
    out = np.zeros((len(a), 8), dtype=bool)
    carry = np.zeros(len(a), dtype=int)
    for t in range(8):
        carry = ((a >> t) & 1) + ((b >> t) & 1) + carry >= 2
        out[:, t] = carry
        carry = carry.astype(int)
    return out


def test_the_lesson_is_served_with_its_steps(client: TestClient) -> None:
    listed = {lesson["name"]: lesson for lesson in client.get("/api/v1/lessons").json()}
    assert listed[LESSON]["tutorial"] == "binary-addition-bptt.txt"
    assert len(listed[LESSON]["steps"]) == 5
    step = lesson_step(client, LESSON, "The carry lives in the hidden state")
    assert step["setup"]["link"] == {"preset": PRESET, "sample": 2, "unit": 8, "t": 1}
    assert "task=binary_addition" in step["query"]


def test_the_network_is_the_tutorials_before_training(client: TestClient) -> None:
    model = make_model(client, PRESET)
    P = params(client, model)
    assert {name: value.shape for name, value in P.items()} == {
        "layer0.W_xh": (2, 16),
        "layer0.W_hh": (16, 16),
        "layer0.b_h": (16,),
        "W_hq": (16, 1),
        "b_q": (1,),
    }
    assert not P["layer0.b_h"].any() and not P["b_q"].any()
    drawn = sample(client, "binary_addition", seed=2)
    assert drawn["meta"]["a"] == [107] and drawn["meta"]["b"] == [33]
    X = as_array(drawn["inputs"])
    assert X[0].tolist() == [1.0, 1.0]  # the last bits of 107 and 33
    result = forward(client, model, inputs=X.tolist())
    ours = tutorial_bptt(P, X, as_array(drawn["targets"])[:, 0])
    np.testing.assert_allclose(
        as_array(result["trace"]["layers"][0]["H"]), ours["layer_1"], atol=1e-12
    )


def test_each_delta_of_the_tutorial_is_a_gradient_on_the_page(client: TestClient) -> None:
    assert preset(client, PRESET)["training"]["lr"] == 0.4  # 0.1 × the factor 4 below
    model = make_model(client, PRESET)
    P = params(client, model)
    for seed in (2, 5, 10):
        drawn = sample(client, "binary_addition", seed=seed)
        X, y = as_array(drawn["inputs"]), as_array(drawn["targets"])
        tutorial = tutorial_bptt(P, X, y[:, 0])
        result = backward(client, model, inputs=X.tolist(), targets=y.tolist())
        layer = result["trace"]["layers"][0]
        dO, dA, dH = as_array(result["trace"]["dO"]), as_array(layer["dA"]), as_array(layer["dH"])
        # our loss is a quarter of the tutorial's error, and its deltas point uphill
        np.testing.assert_allclose(dO, -tutorial["layer_2_delta"] / 4, rtol=0, atol=1e-12)
        np.testing.assert_allclose(dA, -tutorial["layer_1_delta"] / 4, rtol=0, atol=1e-9)
        grads = {name: as_array(g) for name, g in result["grads"].items()}
        np.testing.assert_allclose(
            grads["rnn.weight_hh_l0"].T, -tutorial["synapse_h_update"] / 4, atol=1e-12
        )
        np.testing.assert_allclose(
            grads["rnn.weight_ih_l0"].T, -tutorial["synapse_0_update"] / 4, atol=1e-12
        )
        np.testing.assert_allclose(
            grads["head.weight"].T, -tutorial["synapse_1_update"] / 4, atol=1e-12
        )
        # "(from O_t)" and "(from t+1)": at the last bit nothing comes from the future
        from_output = dO @ P["W_hq"].T
        np.testing.assert_allclose(dH[7], from_output[7], atol=1e-15)
        np.testing.assert_allclose(
            dH[:7] - from_output[:7], dA[1:] @ P["layer0.W_hh"].T, atol=1e-12
        )
        assert np.abs(dH[6] - from_output[6]).max() > 1e-6


@pytest.mark.slow
def test_training_gets_every_held_out_sum_exact_and_a_unit_holds_the_carry(
    client: TestClient,
) -> None:
    model = make_model(client, PRESET)
    info = train(client, model, training_of(client, PRESET), timeout=55)
    print(f"\nbinary addition: {info['status']} at step {info['step']}")
    assert info["status"] == "early_stopped"
    assert info["latest"]["metrics"]["accuracy"] == 1.0
    assert 5000 <= info["step"] <= 6000
    early = {record["step"]: record for record in history(client, info["id"])}
    assert early[2000]["metrics"]["accuracy"] < 0.05
    assert info["latest"]["metrics"]["accuracy_all_pairs"] == 1.0
    # Re-add 2,048 of the pairs, drawn at random, with the trained model's forward pass.
    half = 1 << 7
    a, b = np.divmod(np.random.default_rng(1).permutation(half * half)[:2048], half)
    bits = np.arange(8)
    X = np.stack([(a[:, None] >> bits) & 1, (b[:, None] >> bits) & 1], axis=2).astype(float)
    Y, H = [], []
    for part in np.array_split(np.arange(len(a)), 2):  # max_batch 1024
        result = forward(client, model, inputs=X[part].tolist())
        Y.append(as_array(result["outputs"])[..., 0])
        H.append(as_array(result["trace"]["layers"][0]["H"]))
    predicted = ((np.vstack(Y) > 0.5).astype(int) << bits).sum(axis=1)
    np.testing.assert_array_equal(predicted, a + b)
    # Unit 8 is a carry flag: above 0.5 exactly where a bit carries.
    flag = np.vstack(H)[:, :, 8] > 0.5
    np.testing.assert_array_equal(flag, carries(a, b))
    assert np.flatnonzero(carries(np.array([107]), np.array([33]))[0]).tolist() == [0, 1, 5, 6]
