import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.tasks import TASKS


def test_list_tasks_describes_every_task_with_params_and_defaults(client) -> None:
    response = client.get("/api/v1/tasks")
    assert response.status_code == 200
    tasks = {task["name"]: task for task in response.json()}
    assert sorted(tasks) == sorted(TASKS)
    sine = tasks["sine"]
    assert sine["params"]["length"] == {
        "kind": "int",
        "default": 50,
        "min": 2,
        "max": 1000,
        "description": "T: how many past values the network reads",
    }
    assert sine["default_config"]["input_size"] == 1
    assert sine["default_training"]["optimizer"] == "adam"


def test_get_task_and_unknown_task_is_404(client) -> None:
    body = client.get("/api/v1/tasks/binary_addition").json()
    assert body["name"] == "binary_addition"
    assert body["default_config"] == TASKS["binary_addition"].default_config
    missing = client.get("/api/v1/tasks/nosuchtask")
    assert missing.status_code == 404
    assert "nosuchtask" in missing.json()["detail"]
    assert "sine" in missing.json()["detail"]


def test_get_sample_is_one_reproducible_example_with_params_from_the_query(client) -> None:
    url = "/api/v1/tasks/sine/sample?seed=3&length=7&random_phase=false&phase=0.5"
    body = client.get(url).json()
    expected = TASKS["sine"].sample(3, 1, length=7, random_phase=False, phase=0.5)
    np.testing.assert_array_equal(body["inputs"], expected.inputs[0])
    np.testing.assert_array_equal(body["targets"], expected.targets[0])
    assert np.shape(body["inputs"]) == (7, 1)
    assert body["seed"] == 3 and body["task"] == "sine"
    assert body["config"]["output_mode"] == "last"
    assert client.get(url).json() == body


def test_post_sample_takes_a_batch_and_text_params(client) -> None:
    body = client.post(
        "/api/v1/tasks/char_lm/sample",
        json={"seed": 1, "batch_size": 3, "params": {"text": "hello world " * 20, "seq_len": 8}},
    ).json()
    assert np.shape(body["inputs"])[:2] == (3, 8)
    assert body["config"]["input_size"] == np.shape(body["inputs"])[2]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("length=abc", "length", "length must be a finite int"),
        ("frequency=nan", "frequency", "finite float"),
        ("random_phase=maybe", "random_phase", "true or false"),
        ("colour=red", "colour", "has no parameter 'colour'"),
    ],
)
def test_bad_sample_query_is_422_naming_the_param(client, query, field, message) -> None:
    response = client.get(f"/api/v1/tasks/sine/sample?{query}")
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert message in response.json()["detail"]


def test_sample_params_out_of_the_tasks_bounds_are_422(client) -> None:
    response = client.get("/api/v1/tasks/sine/sample?length=1")
    assert response.status_code == 422
    assert response.json()["detail"] == "length must be at least 2, got 1"
    response = client.get("/api/v1/tasks/sine/sample?seed=-1")
    assert response.status_code == 422


def test_sample_limits_are_the_settings(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, max_batch=4, max_text_length=50, max_steps=20)
    with TestClient(create_app(settings)) as client:
        batch = client.get("/api/v1/tasks/sine/sample?batch_size=5")
        assert batch.status_code == 422
        assert batch.json()["limit"] == {"setting": "max_batch", "value": 4}
        text = client.post("/api/v1/tasks/char_lm/sample", json={"params": {"text": "a" * 51}})
        assert text.status_code == 422
        assert text.json()["field"] == "params.text"
        assert text.json()["limit"] == {"setting": "max_text_length", "value": 50}
        long = client.get("/api/v1/tasks/sine/sample?length=21")
        assert long.json()["limit"] == {"setting": "max_steps", "value": 20}


def test_post_sample_is_strict_about_types(client) -> None:
    response = client.post("/api/v1/tasks/sine/sample", json={"seed": False})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "seed"]


def test_choices_are_the_engines_and_the_settings(client) -> None:
    from app.rnn.config import CELLS, INITS
    from app.rnn.optim import OPTIMISERS

    body = client.get("/api/v1/choices").json()
    assert body["model"]["cell"] == list(CELLS)
    assert body["model"]["init"] == list(INITS)
    assert body["training"]["optimizer"] == list(OPTIMISERS)
    assert body["model_defaults"]["init"] == "pytorch"
    assert body["limits"]["max_hidden_size"] == client.app.state.settings.max_hidden_size
    assert body["model_bounds"]["forget_bias"] == {"min": -10, "max": 10}
    assert body["model_bounds"]["seed"] == {"min": 0, "max": 2**63 - 1}
    assert body["cell_fields"] == {"nonlinearity": ["rnn"], "forget_bias": ["lstm"]}
