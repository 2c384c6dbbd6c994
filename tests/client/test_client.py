"""The Python client against a real server, checked against PyTorch on the same weights.

A user imports a torch.nn.Module through the client, runs forward and backward, trains and
follows the session; every number the client returns is compared with PyTorch's own."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from rnn_explorer import ApiError, Client, decode_trace
from tests.servers import LiveServer

torch.set_default_dtype(torch.float64)


class Sequence(torch.nn.Module):
    """A user's model: its own names for the layer (`lstm`) and the head (`fc`)."""

    def __init__(self, cell: str) -> None:
        super().__init__()
        kind = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
        self.lstm = kind(input_size=3, hidden_size=5, num_layers=2, batch_first=True)
        self.fc = torch.nn.Linear(5, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        H, _ = self.lstm(x)
        return self.fc(H), H


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("client") / "data") as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[Client]:
    with Client(server.base_url) as made:
        yield made


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_an_imported_torch_module_runs_as_pytorch_runs_it(client: Client, cell: str) -> None:
    torch.manual_seed(0)
    module = Sequence(cell)
    model = client.import_torch(module, name=f"my {cell}")
    assert model["config"]["cell"] == cell and model["config"]["dtype"] == "float64"

    x = np.random.default_rng(1).normal(size=(4, 7, 3))
    run = client.forward(model["id"], x)
    outputs, H = (t.detach().numpy() for t in module(torch.from_numpy(x)))
    assert isinstance(run["outputs"], np.ndarray)
    np.testing.assert_allclose(run["outputs"], outputs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(run["trace"]["layers"][1]["H"], H, rtol=0, atol=1e-12)

    targets = np.random.default_rng(2).normal(size=(4, 7, 2))
    answer = client.backward(model["id"], x, targets)
    module.zero_grad()
    prediction, _ = module(torch.from_numpy(x))
    torch.nn.functional.mse_loss(prediction, torch.from_numpy(targets)).backward()
    assert answer["loss"] == pytest.approx(
        torch.nn.functional.mse_loss(prediction, torch.from_numpy(targets)).item(), abs=1e-12
    )
    theirs = {f"rnn.{k}": p.grad for k, p in module.lstm.named_parameters()}
    theirs |= {f"head.{k}": p.grad for k, p in module.fc.named_parameters()}
    ours = answer["grads"]
    # PyTorch's two biases get the same gradient; the answer names both
    for name, grad in theirs.items():
        np.testing.assert_allclose(np.asarray(ours[name]), grad.numpy(), rtol=0, atol=1e-12)

    assert model["config"]["bias"] == "two"  # PyTorch's two biases, kept apart
    weights = client.weights(model["id"])
    theirs_state = {f"rnn.{k}": v for k, v in module.lstm.state_dict().items()}
    theirs_state |= {f"head.{k}": v for k, v in module.fc.state_dict().items()}
    assert weights.keys() == theirs_state.keys()
    for name, tensor in theirs_state.items():  # bit for bit, both biases included
        np.testing.assert_array_equal(weights[name], tensor.numpy())


def test_a_module_whose_head_has_no_bias_imports_and_exports_without_b_q(client: Client) -> None:
    torch.manual_seed(4)
    module = Sequence("gru")
    module.fc = torch.nn.Linear(5, 2, bias=False)
    module.double()
    model = client.import_torch(module)
    assert model["config"]["head_bias"] is False and model["config"]["linear_head"]
    x, targets = np.random.default_rng(3).normal(size=(2, 4, 3)), np.zeros((2, 4, 2))
    answer = client.backward(model["id"], x, targets)
    module.zero_grad()
    prediction, _ = module(torch.from_numpy(x))
    torch.nn.functional.mse_loss(prediction, torch.from_numpy(targets)).backward()
    assert "head.bias" not in answer["grads"]
    np.testing.assert_allclose(answer["grads"]["head.weight"], module.fc.weight.grad, atol=1e-12)
    weights = client.weights(model["id"])
    again = Sequence("gru")
    again.fc = torch.nn.Linear(5, 2, bias=False)
    renamed = {
        ("lstm." if k.startswith("rnn.") else "fc.") + k.split(".", 1)[1]: v
        for k, v in weights.items()
    }
    again.double().load_state_dict(
        {k: torch.from_numpy(v) for k, v in renamed.items()}, strict=True
    )
    for name, tensor in module.state_dict().items():
        assert torch.equal(again.state_dict()[name], tensor), name


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_bare_module_without_biases_imports_without_a_head(client: Client, cell: str) -> None:
    torch.manual_seed(4)
    kind = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    bare = kind(input_size=3, hidden_size=5, batch_first=True, bias=False)
    model = client.import_torch(bare, name=f"bare {cell}")
    assert model["config"]["bias"] == "none" and not model["config"]["linear_head"]
    x = np.random.default_rng(3).normal(size=(2, 6, 3))
    targets = np.random.default_rng(4).normal(size=(2, 6, 5))  # shaped like H
    answer = client.backward(model["id"], x, targets)
    bare.zero_grad()
    H, _ = bare(torch.from_numpy(x))
    loss = torch.nn.functional.mse_loss(H, torch.from_numpy(targets))
    loss.backward()
    np.testing.assert_allclose(answer["outputs"], H.detach().numpy(), rtol=0, atol=1e-12)
    assert answer["loss"] == pytest.approx(loss.item(), abs=1e-12)
    assert sorted(answer["grads"]) == sorted(f"rnn.{k}" for k, _ in bare.named_parameters())
    for name, parameter in bare.named_parameters():
        np.testing.assert_allclose(answer["grads"][f"rnn.{name}"], parameter.grad, atol=1e-12)
    weights = client.weights(model["id"])
    again = kind(input_size=3, hidden_size=5, batch_first=True, bias=False)
    again.load_state_dict({k[4:]: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    for name, tensor in bare.state_dict().items():
        assert torch.equal(again.state_dict()[name], tensor), name


def test_a_state_dict_with_its_own_head_name_imports_as_is(client: Client) -> None:
    torch.manual_seed(5)
    module = Sequence("gru")
    state = {k: v.numpy() for k, v in module.state_dict().items()}  # lstm.*, fc.*
    config = {"cell": "gru", "input_size": 3, "hidden_size": 5, "output_size": 2, "num_layers": 2}
    model = client.import_weights(state, config, head_prefix="fc")
    assert model["config"]["linear_head"] and model["config"]["bias"] == "two"
    x = np.random.default_rng(6).normal(size=(2, 4, 3))
    outputs, _ = module(torch.from_numpy(x))
    run = client.forward(model["id"], x)
    np.testing.assert_allclose(run["outputs"], outputs.detach().numpy(), rtol=0, atol=1e-12)


def test_the_binary_trace_is_the_json_answer(client: Client, server: LiveServer) -> None:
    model = client.create_model(cell="gru", input_size=2, hidden_size=4, output_size=1)
    x = np.random.default_rng(3).normal(size=(6, 2))
    binary = client.forward(model["id"], x)
    answer = client._http.post(
        f"/api/v1/models/{model['id']}/forward",
        json={"inputs": x.tolist()},
        headers={"authorization": f"Bearer {client.token}"},
    ).json()
    assert binary["trace"]["layers"][0].keys() == answer["trace"]["layers"][0].keys()
    for key in ("H", "A"):
        np.testing.assert_array_equal(
            binary["trace"]["layers"][0][key], answer["trace"]["layers"][0][key]
        )
    for gate, values in answer["trace"]["layers"][0]["gates"].items():
        np.testing.assert_array_equal(binary["trace"]["layers"][0]["gates"][gate], values)
    np.testing.assert_array_equal(binary["outputs"], answer["outputs"])
    with pytest.raises(ValueError, match="not a binary trace"):
        decode_trace(b"{}")


def test_a_refusal_raises_with_the_servers_words(client: Client) -> None:
    model = client.create_model(cell="rnn", input_size=2, hidden_size=3, output_size=1)
    with pytest.raises(ApiError) as refused:
        client.forward(model["id"], np.ones((5, 3)))  # three features for a model of two
    assert refused.value.status == 422
    assert "inputs" in str(refused.value.detail)
    other = Client(client.base_url)
    with pytest.raises(ApiError) as hidden:
        other.model(model["id"])  # another owner's model is not there for them
    assert hidden.value.status == 404


def test_training_is_followed_record_by_record_to_its_end(client: Client) -> None:
    model = client.create_model(cell="lstm", input_size=1, hidden_size=8, output_size=1)
    rng = np.random.default_rng(4)
    inputs = rng.normal(size=(16, 10, 1))
    targets = np.cumsum(inputs, axis=1) / 4
    session = client.train(
        model["id"], data={"inputs": inputs, "targets": targets}, steps=30, report_every=5, lr=0.05
    )
    records = list(client.follow(session["id"], timeout=120))
    steps = [record["step"] for record in records]
    assert steps == sorted(set(steps)) and steps[-1] == 30
    final = client.session(session["id"])
    assert final["status"] == "finished"
    assert records[-1]["loss"] < records[0]["loss"]
    # the trained weights are what forward now uses
    trained = client.weights(model["id"])
    assert client.model(model["id"])["weights_version"] > model["weights_version"]
    assert set(trained) >= {"rnn.weight_ih_l0", "head.weight"}


def test_a_link_opens_the_model_for_anyone_and_carries_the_inputs(
    client: Client, tmp_path: Path
) -> None:
    model = client.create_model(cell="rnn", input_size=1, hidden_size=3, output_size=1)
    link = client.link(model["id"], np.array([[0.5], [-1.0], [2e-3]]))
    assert "share=" in link and link.endswith("#inputs=[[0.5],[-1.0],[0.002]]")
    padded = client.link(model["id"], np.zeros((2, 3, 1)), lengths=np.array([3, 1]))
    assert padded.endswith("#inputs=[[[0.0],[0.0],[0.0]],[[0.0],[0.0],[0.0]]]&lengths=[3,1]")
    frame = client.show(model["id"])
    assert frame.src.startswith(client.base_url) and "share=" in frame.src


def test_a_bidirectional_module_with_padded_sequences_runs_as_pytorch_runs_it(
    client: Client,
) -> None:
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch.manual_seed(6)
    gru = torch.nn.GRU(
        input_size=3, hidden_size=5, num_layers=2, batch_first=True, bidirectional=True
    )
    model = client.import_torch(gru, name="bidirectional gru")
    assert model["config"]["bidirectional"] and model["config"]["output_size"] == 10
    x = np.random.default_rng(7).normal(size=(3, 6, 3))
    lengths = [6, 2, 4]
    run = client.forward(model["id"], x, lengths=lengths)
    packed = pack_padded_sequence(torch.from_numpy(x), torch.tensor(lengths), True, False)
    out, h_n = gru(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=6)
    np.testing.assert_allclose(run["outputs"], out.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        run["trace"]["final_state"]["h"], h_n.detach().numpy(), rtol=0, atol=1e-12
    )
