"""Task parameters: defaults, bounds and the errors that name the field and the bound."""

import numpy as np
import pytest

from app.rnn import RNNError
from app.tasks import TASKS, SizeLimits, TaskError

# The bounds a caller (the service, from its settings) passes to the tasks.
LIMITS = SizeLimits(
    max_batch=1024, max_elements=4_000_000, max_text_bytes=1_000_000, max_input_size=256
)


def test_every_task_describes_itself_as_json_with_bounds() -> None:
    for name, task in TASKS.items():
        described = task.describe(LIMITS)
        assert described["name"] == name
        assert described["description"]
        for param_name, spec in described["params"].items():
            assert spec["kind"] in ("int", "float", "choice", "text", "bool"), param_name
            if spec["kind"] in ("int", "float"):
                assert "min" in spec and "max" in spec, f"{name}.{param_name} is unbounded"
            if spec["kind"] == "text":
                assert spec["max"] == LIMITS.max_text_bytes


def test_task_error_is_a_value_error() -> None:
    assert issubclass(TaskError, RNNError)
    assert issubclass(TaskError, ValueError)


def test_every_task_samples_with_its_defaults_and_the_default_model_fits() -> None:
    from app.rnn import ModelConfig, Network

    for name, task in TASKS.items():
        sample = task.sample(seed=3, batch_size=2)
        config = ModelConfig.from_dict(task.model_config())
        task.check_config(config)
        net = Network(config)
        trace = net.forward(sample.inputs)
        loss = net.loss(trace, sample.targets)
        assert np.isfinite(loss), name
        assert sample.inputs.shape[0] == 2, name


def test_sampling_is_reproducible_by_seed() -> None:
    for name, task in TASKS.items():
        first, again = task.sample(seed=11, batch_size=4), task.sample(seed=11, batch_size=4)
        np.testing.assert_array_equal(first.inputs, again.inputs, err_msg=name)
        np.testing.assert_array_equal(first.targets, again.targets, err_msg=name)


def test_an_unknown_parameter_is_named() -> None:
    with pytest.raises(TaskError, match=r"has no parameter.*colour.*it takes bits"):
        TASKS["binary_addition"].sample(colour="red")


@pytest.mark.parametrize(
    ("task", "params", "message"),
    [
        ("binary_addition", {"bits": 9}, "bits must be at most 8, got 9"),
        ("binary_addition", {"bits": 1}, "bits must be at least 2, got 1"),
        ("binary_addition", {"bits": 2.5}, "bits must be an integer"),
        ("binary_addition", {"bits": True}, "bits must be an integer"),
        ("sine", {"length": 1001}, "length must be at most 1000"),
        ("sine", {"frequency": float("nan")}, "frequency must be finite"),
        ("sine", {"noise": "loud"}, "noise must be a number"),
        ("sine", {"mode": "both"}, "mode must be one of next, sequence"),
        ("sine", {"random_phase": 1}, "random_phase must be true or false"),
        ("copy", {"symbols": 21}, "symbols must be at most 20"),
        ("adding", {"length": 1}, "length must be at least 2"),
        ("char_lm", {"text": "a" * 1_000_001}, "text is 1000001 bytes; at most 1000000"),
        ("char_lm", {"text": b"\xff\xfe"}, "text is not valid UTF-8"),
        ("char_lm", {"text": 42}, "text must be text"),
        ("spiral", {"points": 5000}, "points must be at most 2000"),
        ("waveforms", {"length": 3}, "length must be at least 4"),
        ("csv_forecast", {"window": 0}, "window must be at least 1"),
    ],
)
def test_out_of_bounds_params_raise_naming_the_field_and_bound(
    task: str, params: dict, message: str
) -> None:
    with pytest.raises(TaskError, match=message):
        TASKS[task].sample(seed=0, limits=LIMITS, **params)


def test_batch_size_and_seed_are_bounded() -> None:
    with pytest.raises(TaskError, match="batch_size must be at most 1024"):
        TASKS["sine"].sample(batch_size=1025, limits=LIMITS)
    with pytest.raises(TaskError, match="batch_size must be at least 1"):
        TASKS["sine"].sample(batch_size=0)
    with pytest.raises(TaskError, match="seed must be at least 0"):
        TASKS["sine"].sample(seed=-1)


def test_integral_floats_are_accepted_for_integer_params() -> None:
    sample = TASKS["binary_addition"].sample(bits=4.0)
    assert sample.inputs.shape == (1, 4, 2)


def test_check_config_names_the_field_that_does_not_fit() -> None:
    from app.rnn import ModelConfig

    task = TASKS["binary_addition"]
    wrong_size = ModelConfig.from_dict({**task.model_config(), "input_size": 3})
    with pytest.raises(TaskError, match="needs input_size = 2, the model has 3"):
        task.check_config(wrong_size)
    wrong_loss = ModelConfig.from_dict({**task.model_config(), "loss": "mse", "head": "identity"})
    task.check_config(wrong_loss)  # binary addition accepts the tutorial's squared error
    wrong_mode = ModelConfig.from_dict({**task.model_config(), "output_mode": "last"})
    with pytest.raises(TaskError, match="output_mode = 'sequence'"):
        task.check_config(wrong_mode)
    sine = TASKS["sine"]
    with pytest.raises(TaskError, match="needs loss 'mse'"):
        sine.check_config(
            ModelConfig.from_dict({**sine.model_config(), "loss": "bce", "head": "sigmoid"})
        )


def test_a_sample_too_large_for_memory_is_refused_before_it_is_drawn() -> None:
    params = {"length": 1000, "symbols": 20, "alphabet": 32}  # T = 1040, D = 34
    with pytest.raises(TaskError, match=r"batch_size 1024 × 36400 numbers .* 4000000"):
        TASKS["copy"].sample(seed=0, batch_size=1024, limits=LIMITS, **params)
    drawn = TASKS["copy"].sample(seed=0, batch_size=100, limits=LIMITS, **params)
    assert drawn.inputs.shape == (100, 1040, 34)


def test_a_sample_larger_than_the_batch_limit_is_refused_and_a_larger_limit_allows_it() -> None:
    with pytest.raises(TaskError, match="batch_size must be at most 1024"):
        TASKS["binary_addition"].sample(seed=0, batch_size=2000, limits=LIMITS)
    wider = SizeLimits(2048, LIMITS.max_elements, LIMITS.max_text_bytes, LIMITS.max_input_size)
    drawn = TASKS["binary_addition"].sample(seed=0, batch_size=2000, limits=wider)
    assert drawn.inputs.shape == (2000, 8, 2)


def test_long_sequences_get_a_smaller_validation_set_within_the_bound() -> None:
    params = {"length": 1000, "symbols": 20, "alphabet": 32}
    data = TASKS["copy"].make_data(params, 0, None, LIMITS)
    inputs, targets = data.validation.inputs, data.validation.targets
    assert inputs.size + targets.size <= LIMITS.max_elements
    assert inputs.shape[0] == LIMITS.max_elements // 36400
    assert TASKS["copy"].make_data({}, 0, None, LIMITS).validation.inputs.shape[0] == 512


def test_descriptions_and_samples_are_strict_json() -> None:
    import json

    from app.tasks import PRESETS

    for task in TASKS.values():
        json.dumps(task.describe(LIMITS), allow_nan=False)
        json.dumps(task.sample(seed=0, batch_size=2).meta, allow_nan=False)
    for preset in PRESETS.values():
        json.dumps(preset.describe(), allow_nan=False)
    text_default = TASKS["char_lm"].describe(LIMITS)["params"]["text"]
    assert text_default["default"] is None and text_default["max"] == 1_000_000  # elided corpus
