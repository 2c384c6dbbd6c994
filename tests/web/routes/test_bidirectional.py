"""Bidirectional models and variable-length batches over the REST API, against torch: a
bidirectional state dict imported and exported (strict load), forward and backward with
`lengths` against pack_padded_sequence, training steps as torch.optim takes them, and bad
lengths answered 422 naming the element."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load as load_torch_safetensors
from safetensors.torch import save as save_torch_safetensors
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from tests.web.routes.test_training import wait_for

KINDS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
D, H, Q, B, T = 3, 4, 2, 3, 5
LENGTHS = [5, 2, 4]


class Model(torch.nn.Module):
    """A user's bidirectional model: the recurrent module `encoder`, the head `fc` on 2H."""

    def __init__(self, cell: str) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.encoder = KINDS[cell](D, H, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = torch.nn.Linear(2 * H, Q)
        with torch.no_grad():
            for parameter in self.encoder.parameters():
                parameter.add_(torch.randn_like(parameter) * 0.3)
        self.double()

    def forward(self, x: torch.Tensor, lengths: list[int] | None = None):
        if lengths is None:
            out, final = self.encoder(x)
        else:
            packed = pack_padded_sequence(x, torch.tensor(lengths), True, enforce_sorted=False)
            out, final = self.encoder(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out, final, self.fc(out)


def server_names(state: dict) -> dict:
    """The module's names (encoder., fc.) → the export's (rnn., head.)."""
    return {
        ("rnn." if k.startswith("encoder.") else "head.") + k.split(".", 1)[1]: v
        for k, v in state.items()
    }


def upload(client, model: torch.nn.Module, cell: str) -> str:
    config = {"cell": cell, "input_size": D, "hidden_size": H, "output_size": Q, "num_layers": 2}
    files = {"weights": ("w.safetensors", save_torch_safetensors(dict(model.state_dict())))}
    response = client.post(
        "/api/v1/models/import", files=files, data={"config": json.dumps(config)}
    )
    assert response.status_code == 201, response.text
    info = response.json()
    assert info["config"]["bidirectional"] is True  # read off the *_reverse tensors
    assert info["shapes"]["rnn.weight_ih_l1_reverse"] == [
        (3 if cell == "gru" else 4 if cell == "lstm" else 1) * H,
        2 * H,
    ]
    return info["id"]


@pytest.mark.parametrize("cell", sorted(KINDS))
def test_import_and_export_round_trip_loads_strictly(client, cell: str) -> None:
    model = Model(cell)
    model_id = upload(client, model, cell)
    exported = load_torch_safetensors(client.get(f"/api/v1/models/{model_id}/weights").content)
    twin = Model(cell)
    with torch.no_grad():
        for parameter in twin.parameters():
            parameter.zero_()
    twin.load_state_dict(
        {("encoder." if k.startswith("rnn.") else "fc.") + k.split(".", 1)[1]: v
         for k, v in exported.items()},
        strict=True,
    )  # fmt: skip
    for name, tensor in model.state_dict().items():
        assert torch.equal(twin.state_dict()[name], tensor), name


@pytest.mark.parametrize("lengths", [None, LENGTHS])
@pytest.mark.parametrize("cell", sorted(KINDS))
def test_forward_and_backward_with_lengths_equal_packed_torch(client, cell, lengths) -> None:
    model = Model(cell)
    model_id = upload(client, model, cell)
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, Q))
    request = {"inputs": X.tolist()} | ({} if lengths is None else {"lengths": lengths})
    forward = client.post(f"/api/v1/models/{model_id}/forward", json=request)
    backward = client.post(
        f"/api/v1/models/{model_id}/backward", json=request | {"targets": Y.tolist()}
    )
    assert forward.status_code == backward.status_code == 200, backward.text

    out, final, logits = model(torch.from_numpy(X), lengths)
    if lengths is None:
        loss = torch.nn.functional.mse_loss(logits, torch.from_numpy(Y))
    else:
        real = torch.from_numpy(np.arange(T)[None, :] < np.array(lengths)[:, None])
        loss = torch.nn.functional.mse_loss(logits[real], torch.from_numpy(Y)[real])
    loss.backward()
    ours = forward.json()
    close = {"rtol": 0, "atol": 1e-9}
    np.testing.assert_allclose(ours["logits"], logits.detach().numpy(), **close)
    top = ours["trace"]["layers"][-1]
    H_both = np.concatenate([top["H"], top["reverse"]["H"]], axis=2)
    np.testing.assert_allclose(H_both, out.detach().numpy(), **close)
    h_n = final[0] if cell == "lstm" else final
    np.testing.assert_allclose(ours["trace"]["final_state"]["h"], h_n.detach().numpy(), **close)
    if cell == "lstm":
        np.testing.assert_allclose(
            ours["trace"]["final_state"]["c"], final[1].detach().numpy(), **close
        )
    answer = backward.json()
    assert answer["loss"] == pytest.approx(loss.item(), rel=1e-12)
    grads = answer["grads"]
    for name, parameter in server_names(dict(model.named_parameters())).items():
        np.testing.assert_allclose(grads[name], parameter.grad.numpy(), err_msg=name, **close)
    reverse = answer["trace"]["layers"][0]["reverse"]
    assert np.asarray(reverse["dH"]).shape == (B, T, H)
    assert set(reverse["step_grad_norms"]) >= {"W_xh", "W_hh", "b_h"}


def test_training_a_bidirectional_model_takes_torchs_steps(client) -> None:
    model = Model("gru")
    model_id = upload(client, model, "gru")
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(4, T, D)), rng.normal(size=(4, T, Q))
    body = {
        "data": {"inputs": X.tolist(), "targets": Y.tolist()},
        "optimizer": "adam",
        "lr": 0.05,
        "steps": 4,
        "batch_size": 4,
        "validation_fraction": 0.0,
    }
    session = client.post(f"/api/v1/models/{model_id}/train", json=body)
    assert session.status_code == 202, session.text
    assert wait_for(client, session.json()["id"], ("finished",))["step"] == 4
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(4):
        optimiser.zero_grad()
        _, _, logits = model(torch.from_numpy(X))
        torch.nn.functional.mse_loss(logits, torch.from_numpy(Y)).backward()
        optimiser.step()
    trained = load_torch_safetensors(client.get(f"/api/v1/models/{model_id}/weights").content)
    expected = server_names(dict(model.state_dict()))
    assert trained.keys() == expected.keys()
    for name, tensor in expected.items():
        np.testing.assert_allclose(trained[name].numpy(), tensor.numpy(), atol=1e-9, rtol=0)


@pytest.mark.parametrize(
    ("lengths", "field"),
    [
        ([5, 0, 1], "lengths[1]"),
        ([5, 2, 6], "lengths[2]"),
        ([1.5, 2, 3], "lengths[0]"),
        ([-1, 2, 3], "lengths[0]"),
        ([1, 2], "lengths"),
    ],
)
@pytest.mark.parametrize("route", ["forward", "backward"])
def test_bad_lengths_get_422_naming_the_element(client, make_model, lengths, field, route):
    model_id = make_model(bidirectional=True)
    X = np.zeros((B, T, 2)).tolist()
    body = {"inputs": X, "lengths": lengths}
    if route == "backward":
        body["targets"] = np.zeros((B, T, 3)).tolist()
    response = client.post(f"/api/v1/models/{model_id}/{route}", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field, response.json()
    assert field in response.json()["detail"]


def test_connectivity_refuses_what_it_does_not_compute(client, make_model) -> None:
    X = np.zeros((T, 2)).tolist()
    bidirectional = make_model(bidirectional=True)
    response = client.post(
        f"/api/v1/models/{bidirectional}/connectivity", json={"inputs": X, "t": 1}
    )
    assert response.status_code == 422 and response.json()["field"] == "model", response.text
    plain = make_model()
    response = client.post(
        f"/api/v1/models/{plain}/connectivity", json={"inputs": X, "t": 1, "lengths": [3]}
    )
    assert response.status_code == 422 and response.json()["field"] == "lengths", response.text


def test_one_sequence_takes_one_length_and_h0_counts_both_directions(client, make_model) -> None:
    model_id = make_model(bidirectional=True, num_layers=2)
    rng = np.random.default_rng(1)
    X, h0 = rng.normal(size=(T, 2)), rng.normal(size=(4, 4))
    whole = client.post(
        f"/api/v1/models/{model_id}/forward", json={"inputs": X[:3].tolist(), "h0": h0.tolist()}
    ).json()
    padded = client.post(
        f"/api/v1/models/{model_id}/forward",
        json={"inputs": X.tolist(), "h0": h0.tolist(), "lengths": [3]},
    ).json()
    # the first 3 steps of a padded sequence are the 3-step sequence; the padding's H is 0
    for ours, short in zip(padded["trace"]["layers"], whole["trace"]["layers"], strict=True):
        for H, H_short in ((ours["H"], short["H"]), (ours["reverse"]["H"], short["reverse"]["H"])):
            np.testing.assert_allclose(np.asarray(H)[:3], H_short, rtol=0, atol=1e-12)
            assert np.all(np.asarray(H)[3:] == 0.0)
    np.testing.assert_allclose(
        padded["trace"]["final_state"]["h"], whole["trace"]["final_state"]["h"], atol=1e-12
    )
    wrong = client.post(
        f"/api/v1/models/{model_id}/forward", json={"inputs": X.tolist(), "h0": h0[:2].tolist()}
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "h0", wrong.text


def test_jacobian_norms_are_not_computed_with_lengths(client, make_model) -> None:
    model_id = make_model()
    body = {"inputs": np.zeros((2, T, 2)).tolist(), "targets": np.zeros((2, T, 3)).tolist()}
    padded = body | {"lengths": [T, 2]}
    auto = client.post(f"/api/v1/models/{model_id}/backward", json=padded)
    assert auto.status_code == 200 and auto.json()["trace"]["layers"][0]["jacobian_norms"] is None
    full = client.post(f"/api/v1/models/{model_id}/backward", json=body)
    assert full.json()["trace"]["layers"][0]["jacobian_norms"] is not None  # cheap: computed
    asked = client.post(f"/api/v1/models/{model_id}/backward", json=padded | {"jacobian": True})
    assert asked.status_code == 422 and asked.json()["field"] == "jacobian", asked.text
