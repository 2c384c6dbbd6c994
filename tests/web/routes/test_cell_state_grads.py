"""The backward answer's dC, the LSTM's total dL/dC_t, against PyTorch autograd.

The reference steps torch.nn.LSTMCell by hand (one cell per layer, holding the model's weights)
and keeps the gradient of every C_t it makes; the loss is PyTorch's, from the same head.
"""

import numpy as np
import pytest
import torch
from safetensors.numpy import load as load_safetensors

from app.rnn import weights as weights_io
from tests.rnn.torch_reference import as_tensor, assert_close, torch_loss


def _torch_cell_state_grads(
    state: dict[str, np.ndarray], config, X: np.ndarray, targets: np.ndarray
) -> list[np.ndarray]:
    """X: (B, T, D) → per layer dL/dC_t (B, T, H), through torch.nn.LSTMCell step by step."""
    dtype = torch.float64
    B, T, _ = X.shape
    L, H = config.num_layers, config.hidden_size
    cells = []
    for k in range(L):
        cell = torch.nn.LSTMCell(config.input_size if k == 0 else H, H).to(dtype)
        cell.load_state_dict(
            {
                "weight_ih": as_tensor(state[f"rnn.weight_ih_l{k}"], dtype),
                "weight_hh": as_tensor(state[f"rnn.weight_hh_l{k}"], dtype),
                "bias_ih": as_tensor(state[f"rnn.bias_ih_l{k}"], dtype),
                "bias_hh": as_tensor(state[f"rnn.bias_hh_l{k}"], dtype),
            }
        )
        cells.append(cell)
    head = torch.nn.Linear(H, config.output_size).to(dtype)
    head.load_state_dict(
        {
            "weight": as_tensor(state["head.weight"], dtype),
            "bias": as_tensor(state["head.bias"], dtype),
        }
    )
    inputs = [as_tensor(X[:, t], dtype) for t in range(T)]
    C_steps: list[list[torch.Tensor]] = []
    for cell in cells:
        h = torch.zeros(B, H, dtype=dtype)
        c = torch.zeros(B, H, dtype=dtype)
        outputs, cs = [], []
        for x in inputs:
            h, c = cell(x, (h, c))
            c.retain_grad()
            outputs.append(h)
            cs.append(c)
        C_steps.append(cs)
        inputs = outputs
    logits = head(torch.stack(inputs, dim=1))
    torch_loss(config, logits, targets).backward()
    return [np.stack([c.grad.numpy() for c in cs], axis=1) for cs in C_steps]


@pytest.mark.parametrize("num_layers", [1, 2])
def test_backward_dC_is_pytorch_autograd_of_each_cell_state(client, make_model, num_layers) -> None:
    model_id = make_model(cell="lstm", hidden_size=3, num_layers=num_layers, seed=7)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2, 5, 2))
    targets = rng.normal(size=(2, 5, 3))
    response = client.post(
        f"/api/v1/models/{model_id}/backward",
        json={"inputs": X.tolist(), "targets": targets.tolist()},
    )
    assert response.status_code == 200, response.text
    record = client.get(f"/api/v1/models/{model_id}/weights").content
    config, _ = weights_io.load(record)
    state = load_safetensors(record)  # PyTorch's names and layouts
    expected = _torch_cell_state_grads(state, config, X, targets)
    layers = response.json()["trace"]["layers"]
    for k, layer in enumerate(layers):
        # dC is sequence 0 of the batch, (T, H), while dH keeps the batch axis of the request.
        assert np.shape(layer["dC"]) == (5, 3)
        assert_close(layer["dC"], expected[k][0], f"layer {k} dC", tol=1e-10, axes=("step", "unit"))


def test_backward_dC_is_null_for_cells_without_a_cell_state(client, make_model) -> None:
    for cell in ("rnn", "gru"):
        model_id = make_model(cell=cell)
        body = client.post(
            f"/api/v1/models/{model_id}/backward",
            json={"inputs": [[0.1, 0.2], [0.3, -0.4]], "targets": [[0.0, 1.0, 0.0]] * 2},
        ).json()
        assert body["trace"]["layers"][0]["dC"] is None
