"""A linear head without a bias (torch's Linear(bias=False)) over the REST API: imported with
no b_q at all, run and trained as PyTorch runs and trains it, exported as its state dict."""

import numpy as np
import pytest
import torch
from safetensors.torch import load as load_torch_safetensors

from tests.web.routes.test_pytorch_import import (
    KINDS,
    Model,
    base_config,
    passes_match,
    renamed,
    upload,
)
from tests.web.routes.test_training import wait_for

D, H, Q = 3, 4, 2


class BiaslessHead(Model):
    """The user's model of test_pytorch_import with its head `fc` a Linear(H, Q, bias=False)."""

    def __init__(self, cell: str) -> None:
        super().__init__(cell)
        torch.manual_seed(11)
        self.fc = torch.nn.Linear(H, Q, bias=False).double()


def exported(client, model_id: str) -> dict[str, torch.Tensor]:
    content = client.get(f"/api/v1/models/{model_id}/weights").content
    return renamed(load_torch_safetensors(content))


@pytest.mark.parametrize("cell", sorted(KINDS))
def test_a_head_without_bias_imports_runs_trains_and_exports_as_torch(client, cell) -> None:
    model = BiaslessHead(cell)
    assert "fc.bias" not in model.state_dict()
    response = upload(client, dict(model.state_dict()), base_config(cell))
    assert response.status_code == 201, response.text
    info = response.json()
    assert info["config"]["linear_head"] and info["config"]["head_bias"] is False
    assert "head.weight" in info["shapes"] and "head.bias" not in info["shapes"]
    model_id = info["id"]

    # Forward (≤ 1e-12) and every gradient against autograd; b_q has none, being none.
    grads = passes_match(client, model_id, model, Q)
    assert sorted(grads) == sorted(renamed_names(model))
    for name, parameter in model.named_parameters():
        server = grads[("rnn." if name.startswith("lstm.") else "head.") + name.split(".", 1)[1]]
        np.testing.assert_allclose(server, parameter.grad, rtol=0, atol=1e-9, err_msg=name)
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(5, D)), rng.normal(size=(5, Q))
    backward = client.post(
        f"/api/v1/models/{model_id}/backward", json={"inputs": X.tolist(), "targets": Y.tolist()}
    )
    assert backward.status_code == 200, backward.text
    assert set(backward.json()["trace"]["head"]["step_grad_norms"]) == {"W_hq"}

    # The export loads strictly into the original module, bit for bit.
    again = BiaslessHead(cell)
    with torch.no_grad():  # nothing of the original left to hide a missing tensor
        for parameter in again.parameters():
            parameter.zero_()
    again.load_state_dict(exported(client, model_id), strict=True)
    for name, tensor in model.state_dict().items():
        assert torch.equal(again.state_dict()[name], tensor), name

    # Three SGD steps over POST /train against torch.optim.SGD.
    X, Y = rng.normal(size=(4, 6, D)), rng.normal(size=(4, 6, Q))
    body = {
        "data": {"inputs": X.tolist(), "targets": Y.tolist()},
        "optimizer": "sgd",
        "lr": 0.1,
        "steps": 3,
        "batch_size": 4,  # the whole data set every step, as the torch loop below
        "validation_fraction": 0.0,
    }
    session = client.post(f"/api/v1/models/{model_id}/train", json=body)
    assert session.status_code == 202, session.text
    assert wait_for(client, session.json()["id"], ("finished",))["step"] == 3
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        optimiser.zero_grad()
        torch.nn.functional.mse_loss(model(torch.from_numpy(X)), torch.from_numpy(Y)).backward()
        optimiser.step()
    trained = exported(client, model_id)
    assert trained.keys() == model.state_dict().keys()
    for name, tensor in model.state_dict().items():
        np.testing.assert_allclose(
            trained[name].numpy(), tensor.numpy(), rtol=0, atol=1e-9, err_msg=name
        )
    assert not torch.equal(trained["fc.weight"], again.state_dict()["fc.weight"])  # it moved


def renamed_names(model: torch.nn.Module) -> list[str]:
    return [
        ("rnn." if name.startswith("lstm.") else "head.") + name.split(".", 1)[1]
        for name, _ in model.named_parameters()
    ]


def test_a_model_made_here_without_head_bias_has_no_b_q(client) -> None:
    config = {**base_config("lstm"), "bias": "two", "head_bias": False}
    made = client.post("/api/v1/models", json={"config": config})
    assert made.status_code == 201, made.text
    assert "head.weight" in made.json()["shapes"] and "head.bias" not in made.json()["shapes"]
    module = BiaslessHead("lstm")
    module.load_state_dict(exported(client, made.json()["id"]), strict=True)
    grads = passes_match(client, made.json()["id"], module, Q)
    assert "head.bias" not in grads
    np.testing.assert_allclose(grads["head.weight"], module.fc.weight.grad, rtol=0, atol=1e-9)


def test_a_head_bias_the_config_refuses_is_a_422_naming_it(client) -> None:
    with_bias = Model("gru")  # its head has fc.bias
    said = upload(client, dict(with_bias.state_dict()), {**base_config("gru"), "head_bias": False})
    assert said.status_code == 422
    assert "unexpected tensor(s) head.bias" in said.json()["detail"]
    assert "without bias" in said.json()["detail"]
    headless = client.post(
        "/api/v1/models",
        json={"config": {**base_config("rnn"), "head_bias": "no"}},
    )
    assert headless.status_code == 422
    assert headless.json()["detail"][0]["loc"][-1] == "head_bias"
    bare = torch.nn.RNN(D, H, batch_first=True).double()
    refused = upload(
        client,
        dict(bare.state_dict()),
        {**base_config("rnn"), "num_layers": 1, "output_size": H, "head_bias": False},
    )
    assert refused.status_code == 422 and "head_bias" in refused.json()["detail"]


def test_the_openapi_schema_states_head_bias_and_its_rule(client) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    config = schemas["ModelConfig"]
    assert config["properties"]["head_bias"]["type"] == "boolean"
    assert config["properties"]["head_bias"]["default"] is True
    rule = {
        "if": {"required": ["linear_head"], "properties": {"linear_head": {"const": False}}},
        "then": {"properties": {"head_bias": {"const": True}}},
    }
    assert rule in config["allOf"]
