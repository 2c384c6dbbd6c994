"""The spiral lesson's claims, through the real API: the T = 1 net is the tutorial's
three_layer_net (its backprop re-implemented here gives the API's gradients), the per-layer
gradient norms the equation shows, the training runs, and the course's rnn_forward."""

import numpy as np
import pytest

from tests.lessons import helpers as api

LESSON = "spiral"
SIGMOID, RELU = "Spiral (sigmoid)", "Spiral (ReLU)"


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def tutorial_backprop(nonlinearity, X, y, W1, b1, W2, b2, W3, b3):
    """three_layer_net's forward and backprop for one iteration, as the tutorial writes them
    (reg = 0): its dW1, dW2, dW3 and its plot measure sum|dW| / sum(shape) of dW1 and dW2."""
    num_examples = X.shape[0]
    if nonlinearity == "RELU":
        hidden_layer = np.maximum(0, np.dot(X, W1) + b1)
        hidden_layer2 = np.maximum(0, np.dot(hidden_layer, W2) + b2)
    else:
        hidden_layer = sigmoid(np.dot(X, W1) + b1)
        hidden_layer2 = sigmoid(np.dot(hidden_layer, W2) + b2)
    scores = np.dot(hidden_layer2, W3) + b3
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    dscores = probs
    dscores[range(num_examples), y] -= 1
    dscores /= num_examples
    dW3 = (hidden_layer2.T).dot(dscores)
    if nonlinearity == "RELU":
        dhidden2 = np.dot(dscores, W3.T)
        dhidden2[hidden_layer2 <= 0] = 0
        dW2 = np.dot(hidden_layer.T, dhidden2)
        dhidden = np.dot(dhidden2, W2.T)
        dhidden[hidden_layer <= 0] = 0
    else:
        dhidden2 = dscores.dot(W3.T) * (hidden_layer2 * (1 - hidden_layer2))
        dW2 = (hidden_layer.T).dot(dhidden2)
        dhidden = dhidden2.dot(W2.T) * (hidden_layer * (1 - hidden_layer))
    dW1 = np.dot(X.T, dhidden)
    measure = [np.sum(np.abs(dW)) / np.sum(np.abs(dW.shape)) for dW in (dW1, dW2)]
    return (dW1, dW2, dW3), measure


def tutorial_weights(w):
    """The tutorial's W1 (2, 50), b1, W2 (50, 50), b2, W3 (50, 3), b3 from PyTorch's layout."""
    return (
        w["rnn.weight_ih_l0"].T,
        w["rnn.bias_ih_l0"] + w["rnn.bias_hh_l0"],
        w["rnn.weight_ih_l1"].T,
        w["rnn.bias_ih_l1"] + w["rnn.bias_hh_l1"],
        w["head.weight"].T,
        w["head.bias"],
    )


def first_look(client, name, batch=1):
    preset = api.preset(client, name)
    model_id = api.create_model(client, preset["model"])
    sample = api.preset_sample(client, preset, seed=0, batch=batch)
    return preset, model_id, sample


@pytest.mark.parametrize(("name", "nonlinearity"), [(SIGMOID, "SIGM"), (RELU, "RELU")])
def test_the_api_gradients_are_the_tutorials_backprop(client, name, nonlinearity) -> None:
    _, model_id, data = first_look(client, name, batch=300)
    X = np.asarray(data["inputs"])[:, 0, :]  # (300, 1, 2) → the tutorial's (300, 2)
    y = np.asarray(data["targets"])
    result = api.backward(client, model_id, inputs=data["inputs"], targets=data["targets"])
    weights = tutorial_weights(api.torch_weights(client, model_id))
    (dW1, dW2, dW3), _ = tutorial_backprop(nonlinearity, X, y, *weights)
    grads = result["grads"]
    np.testing.assert_allclose(np.asarray(grads["rnn.weight_ih_l0"]).T, dW1, atol=1e-12)
    np.testing.assert_allclose(np.asarray(grads["rnn.weight_ih_l1"]).T, dW2, atol=1e-12)
    np.testing.assert_allclose(np.asarray(grads["head.weight"]).T, dW3, atol=1e-12)
    assert not np.any(grads["rnn.weight_hh_l0"])  # T = 1: W_hh gets no gradient


def test_the_untrained_relu_net_gets_fewer_than_half_of_the_points_right(client) -> None:
    _, model_id, data = first_look(client, RELU, batch=300)
    predicted = np.argmax(api.forward(client, model_id, inputs=data["inputs"])["outputs"], axis=-1)
    assert len(predicted) == 300
    assert np.mean(predicted == np.asarray(data["targets"])) < 0.5


def layer_norms(client, name):
    """‖dW_xh‖ of layers 1 and 2 on the page's sample, as the backward equation shows them, and
    the tutorial's measure of dW1 and dW2 on the same point."""
    _, model_id, data = first_look(client, name)
    result = api.backward(client, model_id, inputs=data["inputs"], targets=data["targets"])
    shown = [layer["step_grad_norms"]["W_xh"][0] for layer in result["trace"]["layers"]]
    whole = [result["grad_norms"][f"rnn.weight_ih_l{k}"] for k in (0, 1)]
    np.testing.assert_allclose(shown, whole, rtol=1e-12)  # T = 1: step 0's part is all of it
    X = np.asarray(data["inputs"])  # one sequence (1, 2): one example of the tutorial
    weights = tutorial_weights(api.torch_weights(client, model_id))
    _, measure = tutorial_backprop("SIGM" if "sigmoid" in name else "RELU", X, [0], *weights)
    assert data["targets"] == 0  # the sample on show is a point of class 0
    return shown, measure


def test_the_sigmoid_nets_first_layer_gets_a_twentieth_of_the_seconds_gradient(client) -> None:
    (first, second), _ = layer_norms(client, SIGMOID)
    assert first * 20 < second
    assert 0.015 < first < 0.03 and 0.8 < second < 1.2  # "about 0.02", "about 1"


def test_with_relu_the_first_layers_gradient_stays_within_a_factor_of_two(client) -> None:
    (relu_first, relu_second), relu_measure = layer_norms(client, RELU)
    (sigmoid_first, _), sigmoid_measure = layer_norms(client, SIGMOID)
    assert relu_second / 2 < relu_first < relu_second
    assert abs(relu_first - 0.23) < 0.02 and abs(relu_second - 0.34) < 0.02
    assert relu_first > 5 * sigmoid_first
    assert relu_measure[0] > 5 * sigmoid_measure[0]  # the tutorial's sum|dW1| / sum(shape)
    assert [sum(shape) for shape in ((2, 50), (50, 50))] == [52, 100]


def training_accuracy(client, name):
    preset, model_id, _ = first_look(client, name)
    link = api.step_link(
        client, LESSON, f"Training the {'sigmoid' if 'sigmoid' in name else 'ReLU'} net"
    )
    assert link["preset"] == name and link["tab"] == "train"
    records = api.train_preset(client, model_id, preset, steps=link["steps"])
    assert records[-1]["step"] == 300
    return records[-1]["metrics"]["accuracy"], records


def second_over_first_layer(records) -> dict[int, float]:
    """layer 2's ‖dW_xh‖ over layer 1's at each report (the dashboard's dashed curves)."""
    return {r["step"]: r["layer_grad_norms"][1] / r["layer_grad_norms"][0] for r in records}


@pytest.mark.slow
def test_after_300_steps_the_sigmoid_net_is_below_70_percent(client) -> None:
    accuracy, records = training_accuracy(client, SIGMOID)
    assert accuracy < 0.7
    assert records[-1]["loss"] < records[0]["loss"]  # slower, not stuck
    # while it trains, layer 1 gets more than 10 times less gradient than layer 2 (steps 200, 300)
    ratios = second_over_first_layer(records)
    assert ratios[200] > 10 and ratios[300] > 10, ratios


@pytest.mark.slow
def test_after_300_steps_the_relu_net_is_above_95_percent(client) -> None:
    accuracy, records = training_accuracy(client, RELU)
    assert accuracy > 0.95
    ratios = second_over_first_layer(records)
    assert ratios[200] < 10 and ratios[300] < 10, ratios


def softmax_columns(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def rnn_cell_forward(xt, a_prev, parameters):
    Wax, Waa, Wya = parameters["Wax"], parameters["Waa"], parameters["Wya"]
    ba, by = parameters["ba"], parameters["by"]
    a_next = np.tanh(np.dot(Waa, a_prev) + np.dot(Wax, xt) + ba)
    yt_pred = softmax_columns(np.dot(Wya, a_next) + by)
    return a_next, yt_pred


def rnn_forward(x, a0, parameters):
    """The course's rnn_forward: x (n_x, m, T_x) → a (n_a, m, T_x), y_pred (n_y, m, T_x)."""
    _n_x, m, T_x = x.shape
    n_y, n_a = parameters["Wya"].shape
    a = np.zeros((n_a, m, T_x))
    y_pred = np.zeros((n_y, m, T_x))
    a_next = a0
    for t in range(T_x):
        a_next, yt_pred = rnn_cell_forward(x[:, :, t], a_next, parameters)
        a[:, :, t] = a_next
        y_pred[:, :, t] = yt_pred
    return a, y_pred


def test_the_courses_rnn_forward_gives_the_apis_hidden_states(client) -> None:
    preset = api.preset(client, "rnn_forward (course)")
    model_id = api.create_model(client, preset["model"])
    X = np.asarray(
        client.get("/api/v1/presets/rnn_forward (course)/example?seed=0").json()["inputs"]
    )
    assert X.shape == (4, 10, 3)  # (m, T_x, n_x)
    result = api.forward(client, model_id, inputs=X.tolist())
    w = api.torch_weights(client, model_id)
    # our matrices (rows) …
    W_xh, W_hh, W_hq = w["rnn.weight_ih_l0"].T, w["rnn.weight_hh_l0"].T, w["head.weight"].T
    assert (W_xh.shape, W_hh.shape, W_hq.shape) == ((3, 5), (5, 5), (5, 2))
    # … transposed into the course's layout (columns)
    b_h = w["rnn.bias_ih_l0"] + w["rnn.bias_hh_l0"]
    parameters = {
        "Wax": W_xh.T,
        "Waa": W_hh.T,
        "Wya": W_hq.T,
        "ba": b_h[:, None],
        "by": w["head.bias"][:, None],
    }
    a, y_pred = rnn_forward(X.transpose(2, 0, 1), np.zeros((5, 4)), parameters)
    H = np.asarray([layer["H"] for layer in result["trace"]["layers"]])[0]  # (m, T_x, n_a)
    np.testing.assert_allclose(a.transpose(1, 2, 0), H, atol=1e-12)
    np.testing.assert_allclose(y_pred.transpose(1, 2, 0), np.asarray(result["outputs"]), atol=1e-12)


def test_the_lesson_is_served_with_its_steps(client) -> None:
    listed = {lesson["name"]: lesson for lesson in client.get("/api/v1/lessons").json()}
    assert listed[LESSON]["tutorial"] == "numpy-net-spiral-and-rnn-cell.txt"
    lesson = client.get(f"/api/v1/lessons/{LESSON}").json()
    assert 4 <= len(lesson["steps"]) <= 7
    assert lesson["steps"][1]["query"].startswith("task=spiral&preset=Spiral+%28sigmoid%29")
    assert "the first layer" in lesson["steps"][1]["html"]
