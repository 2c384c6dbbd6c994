"""Presets: every named tutorial builds a valid model and, when it trains, a valid session."""

import numpy as np
import pytest

from app.rnn import Network
from app.tasks import PRESETS, TASKS, TaskError
from app.training import TrainingConfig

REQUIRED = (
    "SimpleRNN shapes",
    "Char RNN (d2l)",
    "rnn_forward (course)",
    "Sine, tutorial weights",
    "Sine, orthogonal tanh",
    "Binary addition",
)


def test_the_issues_presets_exist() -> None:
    for name in REQUIRED:
        assert name in PRESETS


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_builds_a_valid_model_and_training_config(name: str) -> None:
    preset = PRESETS[name]
    preset.check(TASKS)
    net = Network(preset.model_config())
    described = preset.describe()
    assert described["name"] == name and described["description"]
    if preset.task is None:
        assert described["training"] is None
        trace = net.forward(preset.example_inputs(seed=0))
        assert np.isfinite(trace.Y).all()
    else:
        config = TrainingConfig.for_preset(name)
        assert config.task == preset.task
        sample = TASKS[preset.task].sample(seed=0, batch_size=2, **preset.task_params)
        assert np.isfinite(net.loss(net.forward(sample.inputs), sample.targets))


def test_simple_rnn_shapes_turn_250_by_32_into_100() -> None:
    preset = PRESETS["SimpleRNN shapes"]
    net = Network(preset.model_config())
    X = preset.example_inputs()
    assert X.shape == (1, 250, 32)
    trace = net.forward(X)
    assert trace.Y.shape == (1, 100) and trace.hidden().shape == (1, 250, 100)
    assert net.params["layer0.W_xh"].shape == (32, 100)
    assert net.params["layer0.W_hh"].shape == (100, 100)


def test_rnn_forward_course_shapes() -> None:
    preset = PRESETS["rnn_forward (course)"]
    net = Network(preset.model_config())
    trace = net.forward(preset.example_inputs())
    assert trace.X.shape == (4, 10, 3)  # (m, T_x, n_x)
    assert trace.hidden().shape == (4, 10, 5)  # a: (m, T_x, n_a)
    assert trace.Y.shape == (4, 10, 2)
    np.testing.assert_allclose(trace.Y.sum(axis=-1), 1.0)  # softmax at every step


def test_the_sine_comparison_differs_only_in_init_and_nonlinearity() -> None:
    tutorial, orthogonal = PRESETS["Sine, tutorial weights"], PRESETS["Sine, orthogonal tanh"]
    assert tutorial.group == orthogonal.group
    a, b = tutorial.model_config(), orthogonal.model_config()
    assert (a.nonlinearity, a.init, b.nonlinearity, b.init) == (
        "sigmoid",
        "uniform",
        "tanh",
        "orthogonal",
    )
    assert a.hidden_size == 100 and tutorial.task_params["length"] == 50
    assert tutorial.training == orthogonal.training
    W_hh = Network(a).params["layer0.W_hh"]
    assert W_hh.min() >= 0.0 and W_hh.max() <= 1.0  # uniform(0, 1)


def test_binary_addition_preset_is_the_tutorials_net() -> None:
    preset = PRESETS["Binary addition"]
    config = preset.model_config()
    assert (config.input_size, config.hidden_size, config.output_size) == (2, 16, 1)
    assert config.nonlinearity == "sigmoid" and config.head == "sigmoid"
    assert TrainingConfig.for_preset("Binary addition").lr == 0.4  # the tutorial's 0.1, see why


def test_comparison_groups_hold_the_memory_cells_and_the_activations() -> None:
    groups: dict[str, set[str]] = {}
    for preset in PRESETS.values():
        if preset.group:
            config = preset.model_config()
            groups.setdefault(preset.group, set()).add(
                config.cell if preset.task != "spiral" else config.nonlinearity
            )
    assert groups["copy-memory"] == {"rnn", "gru", "lstm"}
    assert groups["adding-memory"] == {"rnn", "gru", "lstm"}
    assert groups["spiral-activation"] == {"sigmoid", "relu"}


def test_shape_presets_have_no_training_and_task_presets_no_example_inputs() -> None:
    from app.training import TrainingError

    with pytest.raises(TrainingError, match="shows shapes only"):
        TrainingConfig.for_preset("SimpleRNN shapes")
    with pytest.raises(TaskError, match="sample the task instead"):
        PRESETS["Binary addition"].example_inputs()
    with pytest.raises(TrainingError, match="unknown preset 'Nope'"):
        TrainingConfig.for_preset("Nope")


def test_tutorial_sine_weights_kill_the_gradient_where_orthogonal_tanh_keeps_it() -> None:
    profiles = {}
    for name in ("Sine, tutorial weights", "Sine, orthogonal tanh"):
        preset = PRESETS[name]
        net = Network(preset.model_config())
        sample = TASKS["sine"].sample(seed=0, batch_size=8, **preset.task_params)
        result = net.backward(net.forward(sample.inputs), sample.targets)
        profiles[name] = result.grad_norm_per_step[-1]  # ‖dL/dH_t‖, t = 0…49, no truncation
    saturated, orthogonal = profiles["Sine, tutorial weights"], profiles["Sine, orthogonal tanh"]
    assert saturated[-1] > 0 and saturated[-2] < 1e-12 * saturated[-1]
    assert orthogonal[0] > 0.05 * orthogonal[-1]  # still there 49 steps back


def test_the_sine_tutorials_input_preset_feeds_x_t_at_position_t_into_u_transposed() -> None:
    preset = PRESETS["Sine, tutorial's input at position t"]
    config = preset.model_config()
    assert (config.input_size, config.hidden_size, config.output_size) == (50, 100, 1)
    assert (config.nonlinearity, config.init) == ("sigmoid", "uniform")
    sample = TASKS["sine"].sample(seed=3, **preset.task_params)
    assert sample.inputs.shape == (1, 50, 50)
    X = sample.inputs[0]
    np.testing.assert_array_equal(X, np.diag(np.diag(X)))  # X_t = x_t e_t
    params = Network(config).params
    assert params["layer0.W_xh"].shape == (50, 100)  # the tutorial's U (100, T = 50), transposed
    assert not params["layer0.b_h"].any() and not params["b_q"].any()  # it has no biases
