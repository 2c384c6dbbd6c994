"""Importing PyTorch models as they are over the REST API: two biases trained step for step as
torch.optim trains them, bias=False, no head, the head under its own name; against PyTorch."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load as load_torch_safetensors
from safetensors.torch import save as save_torch_safetensors

from tests.web.routes.test_training import wait_for

KINDS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
D, H, Q = 3, 4, 2


class Model(torch.nn.Module):
    """A user's model: the recurrent layer named `lstm`, the Linear head `fc`."""

    def __init__(self, cell: str, bias: bool = True) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.lstm = KINDS[cell](D, H, num_layers=2, batch_first=True, bias=bias)
        self.fc = torch.nn.Linear(H, Q)
        with torch.no_grad():  # b_ih and b_hh of their own, clearly different sizes
            for parameter in self.lstm.parameters():
                parameter.add_(torch.randn_like(parameter) * 0.3)
        self.double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.lstm(x)[0])


def upload(client, state: dict, config: dict, **form: str):
    data = {"config": json.dumps(config), **form}
    files = {"weights": ("w.safetensors", save_torch_safetensors(state))}
    return client.post("/api/v1/models/import", files=files, data=data)


def base_config(cell: str) -> dict:
    return {"cell": cell, "input_size": D, "hidden_size": H, "output_size": Q, "num_layers": 2}


def renamed(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The server's names (rnn., head.) → the module's (lstm., fc.)."""
    return {
        ("lstm." if k.startswith("rnn.") else "fc.") + k.split(".", 1)[1]: v
        for k, v in state.items()
    }


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("cell", sorted(KINDS))
def test_five_training_steps_over_the_api_give_pytorchs_weights(client, cell, optimizer) -> None:
    model = Model(cell)
    response = upload(client, dict(model.state_dict()), base_config(cell))
    assert response.status_code == 201, response.text
    info = response.json()
    assert info["config"]["bias"] == "two" and info["config"]["linear_head"]
    model_id = info["id"]
    exported = load_torch_safetensors(client.get(f"/api/v1/models/{model_id}/weights").content)
    fresh = Model(cell)
    fresh.load_state_dict(renamed(exported), strict=True)
    for name, tensor in model.state_dict().items():  # bit for bit, bias_hh as imported
        assert torch.equal(fresh.state_dict()[name], tensor), name

    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(4, 6, D)), rng.normal(size=(4, 6, Q))
    body = {
        "data": {"inputs": X.tolist(), "targets": Y.tolist()},
        "optimizer": optimizer,
        "lr": 0.05,
        "steps": 5,
        "batch_size": 4,  # the whole data set every step, as the torch loop below
        "validation_fraction": 0.0,
    }
    session = client.post(f"/api/v1/models/{model_id}/train", json=body)
    assert session.status_code == 202, session.text
    assert wait_for(client, session.json()["id"], ("finished",))["step"] == 5

    torch_optimiser = (torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam)(
        model.parameters(), lr=0.05
    )
    for _ in range(5):
        torch_optimiser.zero_grad()
        torch.nn.functional.mse_loss(model(torch.from_numpy(X)), torch.from_numpy(Y)).backward()
        torch_optimiser.step()
    trained = renamed(
        load_torch_safetensors(client.get(f"/api/v1/models/{model_id}/weights").content)
    )
    assert trained.keys() == model.state_dict().keys()
    for name, tensor in model.state_dict().items():
        np.testing.assert_allclose(
            trained[name].numpy(), tensor.numpy(), rtol=0, atol=1e-9, err_msg=name
        )


def passes_match(client, model_id: str, module, out: int) -> dict:
    """Forward outputs, loss and every gradient over the API against the torch module."""
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(2, 5, D)), rng.normal(size=(2, 5, out))
    forward = client.post(f"/api/v1/models/{model_id}/forward", json={"inputs": X.tolist()})
    backward = client.post(
        f"/api/v1/models/{model_id}/backward",
        json={"inputs": X.tolist(), "targets": Y.tolist()},
    )
    assert forward.status_code == backward.status_code == 200, backward.text
    module.zero_grad()
    prediction = module(torch.from_numpy(X))
    prediction = prediction[0] if isinstance(prediction, tuple) else prediction
    loss = torch.nn.functional.mse_loss(prediction, torch.from_numpy(Y))
    loss.backward()
    np.testing.assert_allclose(forward.json()["outputs"], prediction.detach(), rtol=0, atol=1e-12)
    assert backward.json()["loss"] == pytest.approx(loss.item(), abs=1e-12)
    return backward.json()["grads"]


@pytest.mark.parametrize("cell", sorted(KINDS))
def test_a_bare_module_without_biases_or_head_imports_and_runs_as_torch(client, cell) -> None:
    bare = KINDS[cell](D, H, num_layers=2, batch_first=True, bias=False).double()
    response = upload(client, dict(bare.state_dict()), {**base_config(cell), "output_size": H})
    assert response.status_code == 201, response.text
    info = response.json()
    assert info["config"]["bias"] == "none" and not info["config"]["linear_head"]
    assert sorted(info["shapes"]) == sorted(f"rnn.{name}" for name in bare.state_dict())
    grads = passes_match(client, info["id"], bare, H)
    assert sorted(grads) == sorted(f"rnn.{name}" for name, _ in bare.named_parameters())
    for name, parameter in bare.named_parameters():
        np.testing.assert_allclose(grads[f"rnn.{name}"], parameter.grad, rtol=0, atol=1e-12)
    exported = load_torch_safetensors(client.get(f"/api/v1/models/{info['id']}/weights").content)
    again = KINDS[cell](D, H, num_layers=2, batch_first=True, bias=False).double()
    again.load_state_dict({k[4:]: v for k, v in exported.items()}, strict=True)
    for name, tensor in bare.state_dict().items():
        assert torch.equal(again.state_dict()[name], tensor), name


def test_the_head_is_found_under_any_name_or_named_by_head_prefix(client) -> None:
    model = Model("gru")
    state = {k.replace("fc.", "decoder."): v for k, v in model.state_dict().items()}
    found = upload(client, state, base_config("gru"))
    assert found.status_code == 201, found.text
    grads = passes_match(client, found.json()["id"], model, Q)
    for name, parameter in model.fc.named_parameters():
        np.testing.assert_allclose(grads[f"head.{name}"], parameter.grad, rtol=0, atol=1e-12)

    two = {**state, "proj.weight": torch.zeros(Q, H), "proj.bias": torch.zeros(Q)}
    ambiguous = upload(client, two, base_config("gru"))
    assert ambiguous.status_code == 422
    detail = ambiguous.json()["detail"]
    assert "ambiguous" in detail and "decoder.weight" in detail and "proj.bias" in detail
    named = upload(client, two, base_config("gru"), head_prefix="decoder")
    assert named.status_code == 422 and "unexpected tensor(s) proj.bias" in named.json()["detail"]
    wrong = upload(client, state, base_config("gru"), head_prefix="out")
    assert wrong.status_code == 422 and "head_prefix 'out'" in wrong.json()["detail"]
    assert upload(client, state, base_config("gru"), head_prefix="decoder").status_code == 201


def test_a_headless_import_with_other_output_size_is_a_422_naming_it(client) -> None:
    bare = torch.nn.LSTM(D, H, batch_first=True).double()
    response = upload(client, dict(bare.state_dict()), {**base_config("lstm"), "num_layers": 1})
    assert response.status_code == 422
    assert "output_size must equal hidden_size" in response.json()["detail"]


@pytest.mark.parametrize("bias", ["two", "none"])
def test_a_model_made_here_may_have_two_biases_or_none_but_has_its_head(client, bias) -> None:
    config = {**base_config("lstm"), "bias": bias}
    made = client.post("/api/v1/models", json={"config": config})
    assert made.status_code == 201, made.text
    shapes = made.json()["shapes"]
    assert ("rnn.bias_hh_l1" in shapes) == (bias == "two") and "head.weight" in shapes
    module = Model("lstm", bias=bias == "two")
    exported = client.get(f"/api/v1/models/{made.json()['id']}/weights").content
    module.load_state_dict(renamed(load_torch_safetensors(exported)), strict=True)
    passes_match(client, made.json()["id"], module, Q)
    headless = client.post(
        "/api/v1/models",
        json={"config": {**config, "output_size": H, "linear_head": False}},
    )
    assert headless.status_code == 422
    (error,) = headless.json()["detail"]
    assert error["loc"][-1] == "config" and "linear_head" in error["msg"]


def test_a_headless_model_streams_and_answers_connectivity_as_torch(client) -> None:
    torch.manual_seed(6)
    bare = torch.nn.GRU(D, H, num_layers=2, batch_first=True).double()
    info = upload(client, dict(bare.state_dict()), {**base_config("gru"), "output_size": H})
    assert info.status_code == 201, info.text
    url = f"/api/v1/models/{info.json()['id']}"
    rng = np.random.default_rng(9)
    X, Y = rng.normal(size=(5, D)), rng.normal(size=(5, H))
    rest = client.post(
        f"{url}/backward",
        json={"inputs": X.tolist(), "targets": Y.tolist(), "step_grads": "full", "jacobian": True},
    )
    assert rest.status_code == 200, rest.text
    assert rest.json()["trace"]["head"]["step_grad_norms"] == {}
    with client.websocket_connect(f"{url}/stream") as ws:
        ws.send_json({"type": "run", "inputs": X.tolist(), "targets": Y.tolist()})
        frames = []
        while not frames or frames[-1]["type"] not in ("summary", "error"):
            frames.append(ws.receive_json())
    assert frames[-1]["type"] == "summary", frames[-1]
    H_torch = bare(torch.from_numpy(X[None]))[0][0].detach().numpy()  # (T, H): outputs are H
    for frame in frames:
        if frame["type"] == "forward":
            np.testing.assert_allclose(frame["output"], H_torch[frame["t"]], rtol=0, atol=1e-12)
        if frame["type"] == "backward":
            assert "head_step_grad_norms" not in frame

    t = 3
    answer = client.post(f"{url}/connectivity", json={"inputs": X.tolist(), "t": t})
    assert answer.status_code == 200, answer.text
    jacobian = torch.autograd.functional.jacobian(
        lambda x: bare(x[None])[0][0, t], torch.from_numpy(X)
    )  # (H, T, D): ∂Y_t/∂X_s
    expected = np.sqrt((jacobian.numpy() ** 2).sum(axis=(0, 2)))
    np.testing.assert_allclose(answer.json()["norms"], expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cell", sorted(KINDS))
def test_a_module_without_recurrent_biases_but_a_linear_head_round_trips_bit_for_bit(
    client, cell
) -> None:
    model = Model(cell, bias=False)
    response = upload(client, dict(model.state_dict()), base_config(cell))
    assert response.status_code == 201, response.text
    info = response.json()
    assert info["config"]["bias"] == "none" and info["config"]["linear_head"]
    passes_match(client, info["id"], model, Q)
    exported = load_torch_safetensors(client.get(f"/api/v1/models/{info['id']}/weights").content)
    again = Model(cell, bias=False)
    with torch.no_grad():  # nothing of the original left to hide a missing tensor
        for parameter in again.parameters():
            parameter.zero_()
    again.load_state_dict(renamed(exported), strict=True)
    assert sorted(again.state_dict()) == sorted(model.state_dict())
    for name, tensor in model.state_dict().items():
        assert torch.equal(again.state_dict()[name], tensor), name
