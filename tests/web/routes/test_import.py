"""PyTorch → safetensors → REST import → forward/backward, against torch autograd (float64)."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load as load_torch_safetensors
from safetensors.torch import save as save_torch_safetensors

TOLERANCE = 1e-9


class TorchModel(torch.nn.Module):
    """torch.nn.RNN/LSTM/GRU + a Linear head, with the names docs/design.md's weight files use."""

    def __init__(self, config: dict) -> None:
        super().__init__()
        kinds = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
        extra = {"nonlinearity": config["nonlinearity"]} if config["cell"] == "rnn" else {}
        self.rnn = kinds[config["cell"]](
            config["input_size"],
            config["hidden_size"],
            num_layers=config["num_layers"],
            batch_first=True,
            **extra,
        )
        self.head = torch.nn.Linear(config["hidden_size"], config["output_size"])
        self.last = config.get("output_mode") == "last"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1] if self.last else out)


CASES = {
    "rnn": {"cell": "rnn", "nonlinearity": "relu", "loss": "mse", "head": "identity"},
    "lstm": {"cell": "lstm", "loss": "mse", "head": "identity", "output_mode": "last"},
    "gru": {"cell": "gru", "loss": "cross_entropy", "head": "softmax"},
}


def make_torch_model(case: str, seed: int = 0) -> tuple[dict, TorchModel]:
    torch.manual_seed(seed)
    config = {
        "input_size": 3,
        "hidden_size": 5,
        "output_size": 4,
        "num_layers": 2,
        "nonlinearity": "tanh",
        "output_mode": "sequence",
        **CASES[case],
    }
    model = TorchModel(config).double()
    with torch.no_grad():  # larger weights than the default make the recurrence matter
        for parameter in model.parameters():
            parameter.mul_(2.0)
    return config, model


def upload(client, model: TorchModel, config: dict | None):
    state = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    data = {} if config is None else {"config": json.dumps(config)}
    return client.post(
        "/api/v1/models/import",
        files={"weights": ("model.safetensors", save_torch_safetensors(state))},
        data=data,
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_imported_pytorch_model_matches_torch_autograd(client, case) -> None:
    config, model = make_torch_model(case)
    response = upload(client, model, config)
    assert response.status_code == 201, response.text
    model_id = response.json()["id"]
    rng = np.random.default_rng(1)
    B, T = 3, 7
    inputs = rng.normal(size=(B, T, 3))
    if config["loss"] == "cross_entropy":
        targets = rng.integers(0, 4, size=(B, T))
    elif config["output_mode"] == "last":
        targets = rng.normal(size=(B, 4))
    else:
        targets = rng.normal(size=(B, T, 4))

    x = torch.tensor(inputs, requires_grad=False)
    logits = model(x)
    if config["loss"] == "cross_entropy":
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, 4), torch.tensor(targets).reshape(-1)
        )
        outputs = torch.softmax(logits, dim=-1)
    else:
        loss = torch.nn.functional.mse_loss(logits, torch.tensor(targets))
        outputs = logits
    model.zero_grad()
    loss.backward()

    forward = client.post(
        f"/api/v1/models/{model_id}/forward", json={"inputs": inputs.tolist()}
    ).json()
    np.testing.assert_allclose(forward["logits"], logits.detach().numpy(), atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(forward["outputs"], outputs.detach().numpy(), atol=TOLERANCE, rtol=0)
    backward = client.post(
        f"/api/v1/models/{model_id}/backward",
        json={"inputs": inputs.tolist(), "targets": targets.tolist()},
    ).json()
    assert abs(backward["loss"] - loss.item()) < TOLERANCE
    named = dict(model.named_parameters())
    assert sorted(backward["grads"]) == sorted(named)
    for name, parameter in named.items():
        assert parameter.grad is not None
        np.testing.assert_allclose(
            backward["grads"][name], parameter.grad.numpy(), atol=TOLERANCE, rtol=0, err_msg=name
        )


def test_downloaded_weights_load_into_torch_and_compute_the_same(client) -> None:
    config = {
        "cell": "lstm",
        "input_size": 2,
        "hidden_size": 6,
        "output_size": 3,
        "num_layers": 2,
        "seed": 9,
    }
    model_id = client.post("/api/v1/models", json={"config": config}).json()["id"]
    state = load_torch_safetensors(client.get(f"/api/v1/models/{model_id}/weights").content)
    model = TorchModel({**config, "nonlinearity": "tanh"}).double()
    assert model.load_state_dict(state, strict=True)
    inputs = np.random.default_rng(2).normal(size=(4, 5, 2))
    forward = client.post(
        f"/api/v1/models/{model_id}/forward", json={"inputs": inputs.tolist()}
    ).json()
    expected = model(torch.tensor(inputs)).detach().numpy()
    np.testing.assert_allclose(forward["outputs"], expected, atol=1e-12, rtol=0)


def test_import_uses_the_files_metadata_config_without_a_config_field(client) -> None:
    config = {"cell": "gru", "input_size": 2, "hidden_size": 3, "output_size": 1}
    model_id = client.post("/api/v1/models", json={"config": config}).json()["id"]
    weights = client.get(f"/api/v1/models/{model_id}/weights").content
    response = client.post(
        "/api/v1/models/import",
        files={"weights": ("w.safetensors", weights)},
        data={"name": "copy"},
    )
    assert response.status_code == 201
    copy = response.json()
    assert copy["name"] == "copy" and copy["config"]["cell"] == "gru"
    assert client.get(f"/api/v1/models/{copy['id']}/weights").content == weights


def broken_state(change: str) -> tuple[dict, dict]:
    config, model = make_torch_model("rnn")
    state = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    if change == "shape":
        state["rnn.weight_hh_l1"] = torch.zeros(5, 4, dtype=torch.float64)
    elif change == "dtype":
        state["head.bias"] = torch.zeros(4, dtype=torch.int64)
    elif change == "missing":
        del state["rnn.weight_ih_l1"]
    elif change == "unknown":
        state["rnn.weight_ih_l2"] = torch.zeros(5, 5, dtype=torch.float64)
    elif change == "nan":
        state["head.weight"][0, 1] = float("nan")
    return config, state


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("shape", "tensor rnn.weight_hh_l1 has shape (5, 4), expected (5, 5)"),
        ("dtype", "tensor head.bias has dtype int64"),
        ("missing", "tensor rnn.weight_ih_l1 is missing"),
        ("unknown", "unexpected tensor(s) rnn.weight_ih_l2"),
        ("nan", "tensor head.weight"),
    ],
)
def test_import_names_the_wrong_tensor(client, change, message) -> None:
    config, state = broken_state(change)
    response = client.post(
        "/api/v1/models/import",
        files={"weights": ("w.safetensors", save_torch_safetensors(state))},
        data={"config": json.dumps(config)},
    )
    assert response.status_code == 422
    assert message in response.json()["detail"]


@pytest.mark.parametrize(
    ("weights", "config", "field", "message"),
    [
        (b"not a safetensors file", None, None, "not a valid safetensors file"),
        (None, "{not json", "config", "config is not valid JSON"),
        (None, '{"input_size": 3, "hidden_size": NaN}', "config.hidden_size", "valid integer"),
        (None, '{"input_size": 3, "hidden_size": 5, "output_size": 4, "init_std": 1e999}',
         "config.init_std", "finite number"),
        (None, '{"input_size": 3, "hidden_size": 5, "output_size": 4, "cell": "tcn"}',
         "config.cell", "Input should be"),
    ],
)  # fmt: skip
def test_import_rejects_malformed_files_and_configs(client, weights, config, field, message):
    if weights is None:
        _, model = make_torch_model("rnn")
        weights = save_torch_safetensors(dict(model.state_dict()))
    data = {} if config is None else {"config": config}
    response = client.post(
        "/api/v1/models/import", files={"weights": ("w.safetensors", weights)}, data=data
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body.get("field") == field
    assert message in body["detail"]


def test_import_without_any_config_is_422(client) -> None:
    _, model = make_torch_model("rnn")
    response = client.post(
        "/api/v1/models/import",
        files={"weights": ("w.safetensors", save_torch_safetensors(dict(model.state_dict())))},
    )
    assert response.status_code == 422
    assert "carries no model config" in response.json()["detail"]


def test_import_enforces_the_size_limits(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    settings = Settings(data_dir=tmp_path, max_upload_bytes=4096, max_hidden_size=4)
    with TestClient(create_app(settings)) as client:
        big = client.post(
            "/api/v1/models/import", files={"weights": ("w.safetensors", b"\0" * 5000)}
        )
        assert big.status_code == 413
        assert big.json()["limit"] == {"setting": "max_upload_bytes", "value": 4096}
        config, model = make_torch_model("rnn")
        wide = upload(client, model, config)
        assert wide.status_code == 422
        assert wide.json()["limit"] == {"setting": "max_hidden_size", "value": 4}
