"""The sine lesson's claims, through the real API: the tutorial's own loop (re-implemented here,
with U, W, V taken from the model's weights) gives the page's hidden states; the saturation, the
gradient that stops, the orthogonal tanh's that holds up, and 300 training steps of each."""

import numpy as np
import pytest

from tests.lessons import helpers as api

LESSON = "sine"
POSITION = "Sine, tutorial's input at position t"
TUTORIAL, ORTHOGONAL = "Sine, tutorial weights", "Sine, orthogonal tanh"


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def tutorial_loop(x, U, W, V):
    """The tutorial's forward pass of one record: x (T, 1) → the states s (T, hidden_dim)."""
    T, hidden_dim = U.shape[1], U.shape[0]
    prev_s = np.zeros((hidden_dim, 1))
    states = []
    for t in range(T):
        new_input = np.zeros(x.shape)
        new_input[t] = x[t]
        mulu = np.dot(U, new_input)
        mulw = np.dot(W, prev_s)
        add = mulw + mulu
        s = sigmoid(add)
        mulv = np.dot(V, s)
        prev_s = s
        states.append(s[:, 0])
    return np.asarray(states), mulv


def look(client, name, seed=0):
    """The step's model as the page builds it, its sample, forward and backward."""
    preset = api.preset(client, name)
    model_id = api.create_model(client, preset["model"])
    data = api.preset_sample(client, preset, seed=seed)
    forward = api.forward(client, model_id, inputs=data["inputs"])
    backward = api.backward(client, model_id, inputs=data["inputs"], targets=data["targets"])
    return preset, model_id, data, forward, backward


def test_the_engine_runs_the_tutorials_loop_with_u_as_w_xh_transposed(client) -> None:
    _, model_id, data, forward, _ = look(client, POSITION)
    X = np.asarray(data["inputs"])
    assert X.shape == (50, 50)
    x = np.diag(X)[:, None]  # the tutorial's x (50, 1): X_t = x_t e_t
    np.testing.assert_array_equal(X, np.diag(x[:, 0]))
    w = api.torch_weights(client, model_id)
    W_xh, W_hh, W_hq = w["rnn.weight_ih_l0"].T, w["rnn.weight_hh_l0"].T, w["head.weight"].T
    assert (W_xh.shape, W_hh.shape, W_hq.shape) == ((50, 100), (100, 100), (100, 1))
    U, W, V = W_xh.T, W_hh.T, W_hq.T  # the tutorial's (100, 50), (100, 100), (1, 100)
    states, mulv = tutorial_loop(x, U, W, V)
    H = np.asarray(forward["trace"]["layers"][0]["H"])
    np.testing.assert_allclose(H, states, rtol=0, atol=1e-9)
    np.testing.assert_allclose(forward["outputs"], mulv[:, 0], rtol=0, atol=1e-9)
    # the equation's X_t W_xh at step t: x_t times row t of W_xh (column t of U)
    A = np.asarray(forward["trace"]["layers"][0]["A"])
    for t in (0, 3, 10, 49):
        previous = H[t - 1] if t else np.zeros(100)
        np.testing.assert_allclose(A[t] - previous @ W_hh, x[t, 0] * W_xh[t], atol=1e-9)
        assert not np.allclose(W_xh[t], W_xh[t + 1 if t < 49 else 0])  # another row each step


def test_the_textbook_preset_has_one_w_xh_row_for_every_step(client) -> None:
    preset = api.preset(client, TUTORIAL)
    shapes = client.post("/api/v1/models", json={"config": preset["model"]}).json()["shapes"]
    assert preset["model"]["input_size"] == 1 and preset["model"]["hidden_size"] == 100
    assert [100, 1] in shapes.values() and [100, 50] not in shapes.values()  # W_xh (1, 100)
    data = api.preset_sample(client, preset)
    assert np.asarray(data["inputs"]).shape == (50, 1)


@pytest.mark.parametrize("name", [TUTORIAL, POSITION])
def test_from_step_one_every_unit_saturates(client, name) -> None:
    _, _, _, forward, _ = look(client, name)
    A = np.asarray(forward["trace"]["layers"][0]["A"])[1:]
    H = np.asarray(forward["trace"]["layers"][0]["H"])[1:]
    assert A.shape == (49, 100)
    assert A.min() > 15 and A.max() < 60
    assert H.min() > 0.9999
    assert (H * (1 - H)).max() < 1e-6


@pytest.mark.parametrize("name", [TUTORIAL, POSITION])
def test_the_gradient_is_zero_before_the_last_step(client, name) -> None:
    _, _, _, _, backward = look(client, name)
    dH_norm = np.asarray(backward["trace"]["layers"][0]["dH_norm"])
    assert dH_norm[49] > 0
    assert np.all(dH_norm[:49] == 0)


def test_orthogonal_tanh_keeps_the_gradient_across_the_fifty_steps(client) -> None:
    _, _, _, forward, backward = look(client, ORTHOGONAL)
    A = np.asarray(forward["trace"]["layers"][0]["A"])
    assert np.abs(A).max() < 1
    dH_norm = np.asarray(backward["trace"]["layers"][0]["dH_norm"])
    assert np.all(dH_norm > 0)
    assert dH_norm[0] / dH_norm[49] > 0.1


def trained(client, name):
    preset, model_id, *_ = look(client, name)
    link = api.step_link(client, LESSON, "What learns")
    records = api.train_preset(client, model_id, preset, steps=link["steps"])
    assert records[-1]["step"] == link["steps"] == 300
    return preset, model_id, records


@pytest.mark.slow
def test_300_steps_leave_the_tutorial_weights_above_1000_predicting_a_constant(client) -> None:
    preset, model_id, records = trained(client, TUTORIAL)
    assert records[-1]["loss"] > 1000
    inputs, targets = _sample_pair(client, preset, 0)
    grads = api.backward(client, model_id, inputs=inputs, targets=targets)["grad_norms"]
    assert grads["rnn.weight_hh_l0"] < 1e-6 * grads["head.weight"]
    assert grads["rnn.weight_ih_l0"] < 1e-6 * grads["head.weight"]
    outputs = [
        api.forward(
            client, model_id, inputs=api.preset_sample(client, preset, seed=seed)["inputs"]
        )["outputs"]
        for seed in (0, 1, 2)
    ]
    targets = [api.preset_sample(client, preset, seed=seed)["targets"][0] for seed in (0, 1, 2)]
    assert max(abs(t - targets[0]) for t in targets) > 0.1  # different sines …
    assert max(abs(o[0] - outputs[0][0]) for o in outputs) < 1e-3  # … the same prediction


@pytest.mark.slow
def test_300_steps_bring_orthogonal_tanh_below_0_1(client) -> None:
    _, _, records = trained(client, ORTHOGONAL)
    assert records[-1]["loss"] < 0.1


def _sample_pair(client, preset, seed):
    data = api.preset_sample(client, preset, seed=seed)
    return data["inputs"], data["targets"]


def test_the_lesson_is_served_with_its_steps(client) -> None:
    listed = {lesson["name"]: lesson for lesson in client.get("/api/v1/lessons").json()}
    assert listed[LESSON]["tutorial"] == "sine-rnn-what-are-u-w-v.txt"
    lesson = client.get(f"/api/v1/lessons/{LESSON}").json()
    assert 4 <= len(lesson["steps"]) <= 7
    assert lesson["steps"][0]["query"].startswith("task=sine&preset=Sine")
    assert "column t of U" in lesson["steps"][0]["html"]
