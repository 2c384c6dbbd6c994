"""The stream of a bidirectional model with `lengths`, against torch: every forward and backward
frame's rows (both directions, every layer) equal PyTorch's float64 computation of the packed
batch, unrolled step by step with the cells' own equations so that each H_t, C_t and
pre-activation is a tensor whose gradient autograd gives (the unrolled pass is first checked
equal to torch.nn.RNN/LSTM/GRU on pack_padded_sequence). Each step of each unit uses its own
copy of the weights, so autograd also gives every step's contribution to a weight gradient
(the frames' step_grad_norms)."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save as save_torch_safetensors
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

KINDS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
D, H, Q, T = 3, 4, 2, 5
LENGTHS = [3, 5, 2]  # sequence 0, the one frames show, ends before T
B = len(LENGTHS)
CLOSE = {"rtol": 0, "atol": 1e-10}


class Model(torch.nn.Module):
    def __init__(self, cell: str, layers: int) -> None:
        super().__init__()
        torch.manual_seed(11)
        self.rnn = KINDS[cell](D, H, num_layers=layers, batch_first=True, bidirectional=True)
        self.head = torch.nn.Linear(2 * H, Q)
        with torch.no_grad():
            for parameter in self.rnn.parameters():
                parameter.add_(torch.randn_like(parameter) * 0.3)
        self.double()

    def packed(self, x: torch.Tensor, lengths: list[int]) -> torch.Tensor:
        packed = pack_padded_sequence(x, torch.tensor(lengths), True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]


def upload(client, model: Model, cell: str, layers: int) -> str:
    config = {
        "cell": cell,
        "input_size": D,
        "hidden_size": H,
        "output_size": Q,
        "num_layers": layers,
    }
    files = {"weights": ("w.safetensors", save_torch_safetensors(dict(model.state_dict())))}
    response = client.post(
        "/api/v1/models/import", files=files, data={"config": json.dumps(config)}
    )
    assert response.status_code == 201, response.text
    assert response.json()["config"]["bidirectional"] is True
    return str(response.json()["id"])


def step(cell: str, w: dict, x, h, c):
    """One step of the cell with weights w: (h, c, the pre-activation's blocks (side by side:
    A_t), gates by name)."""
    W_ih, W_hh, b_ih, b_hh = w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"]
    if cell == "rnn":
        a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
        return torch.tanh(a), None, [a], {}
    if cell == "lstm":
        a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
        i, f, o = (torch.sigmoid(a[j * H : (j + 1) * H]) for j in (0, 1, 3))
        g = torch.tanh(a[2 * H : 3 * H])
        c = f * c + i * g
        return o * torch.tanh(c), c, [a], {"i": i, "f": f, "g": g, "o": o, "C": c}
    gi, gh = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
    a_rz = gi[: 2 * H] + gh[: 2 * H]
    r, z = torch.sigmoid(a_rz[:H]), torch.sigmoid(a_rz[H:])
    a_n = gi[2 * H :] + r * gh[2 * H :]
    n = torch.tanh(a_n)
    return (1 - z) * n + z * h, None, [a_rz, a_n], {"r": r, "z": z, "n": n}


class Unrolled:
    """The packed batch unrolled by hand: per (layer, direction, sequence), one tensor per real
    step (input order) for H, C, A and the gates; weights copied per own step."""

    def __init__(self, model: Model, cell: str, layers: int, X: np.ndarray, Y: np.ndarray):
        self.cell, self.layers = cell, layers
        params = dict(model.rnn.named_parameters())
        self.copies: dict[tuple[int, int], list[dict]] = {}
        for k in range(layers):
            for r in (0, 1):
                suffix = f"_l{k}" + ("_reverse" if r else "")
                self.copies[k, r] = [
                    {
                        n: params[n + suffix].detach().clone().requires_grad_(True)
                        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                    }
                    for _ in range(T)
                ]
        self.head = [
            {n: p.detach().clone().requires_grad_(True) for n, p in model.head.named_parameters()}
            for _ in range(T)
        ]
        self.states: dict[tuple[int, int, int], list[dict]] = {}  # (k, r, b) → by input step
        x = torch.from_numpy(X)
        total = torch.zeros((), dtype=torch.float64)
        self.logits = torch.zeros(B, T, Q, dtype=torch.float64)
        self.top = torch.zeros(B, T, 2 * H, dtype=torch.float64)
        for b, length in enumerate(LENGTHS):
            inputs = [x[b, t] for t in range(length)]
            for k in range(layers):
                both = [self._direction(k, r, b, inputs) for r in (0, 1)]
                inputs = [torch.cat([both[0][t]["H"], both[1][t]["H"]]) for t in range(length)]
            for t in range(length):
                w = self.head[t]
                logits = inputs[t] @ w["weight"].T + w["bias"]
                total = total + ((logits - torch.from_numpy(Y[b, t])) ** 2).sum()
                self.logits[b, t] = logits.detach()
                self.top[b, t] = inputs[t].detach()
            self.logits[b, length:] = model.head.bias.detach()  # the head of a zero state
        self.loss = total / (sum(LENGTHS) * Q)
        self.loss.backward()

    def _direction(self, k: int, r: int, b: int, inputs: list) -> list[dict]:
        length = len(inputs)
        h = torch.zeros(H, dtype=torch.float64)
        c = torch.zeros(H, dtype=torch.float64)
        by_input: list[dict] = [{}] * length
        for s in range(length):  # own steps; the reverse reads x_{l−1−s}
            t = length - 1 - s if r else s
            h, c_new, a, gates = step(self.cell, self.copies[k, r][s], inputs[t], h, c)
            c = c if c_new is None else c_new
            for tensor in (h, *a, *gates.values()):
                tensor.retain_grad()
            by_input[t] = {"H": h, "A": a, "gates": gates}
        self.states[k, r, b] = by_input
        return by_input

    def row(self, k: int, r: int, t: int, what: str, grad: bool = False) -> np.ndarray:
        """Sequence 0's row at input step t (zeros in its padding)."""
        if t >= LENGTHS[0]:
            return np.zeros(H if what != "A" else sum(len(a) for a in self.states[k, r, 0][0]["A"]))
        found = self.states[k, r, 0][t]
        if what == "A":
            return np.concatenate([(a.grad if grad else a.detach()).numpy() for a in found["A"]])
        tensor = found["gates"][what] if what in found["gates"] else found[what]
        return (tensor.grad if grad else tensor.detach()).numpy()

    def dH_norm(self, k: int, r: int, t: int) -> float:
        rows = [self.states[k, r, b][t]["H"].grad for b in range(B) if t < LENGTHS[b]]
        return float(np.sqrt(sum(float((g**2).sum()) for g in rows)))

    def step_norms(self, k: int, r: int, s: int) -> dict[str, float]:
        w = self.copies[k, r][s]

        def norm(tensor) -> float:
            return 0.0 if tensor.grad is None else float(tensor.grad.norm())

        norms = {
            "W_xh": norm(w["weight_ih"]),
            "W_hh": norm(w["weight_hh"]),
            "b_h": norm(w["bias_ih"]),
        }
        if self.cell == "gru":
            grad = w["bias_hh"].grad
            norms["b_hn"] = 0.0 if grad is None else float(grad[2 * H :].norm())
        return norms


def stream(client, model_id: str, body: dict) -> list:
    with client.websocket_connect(f"/api/v1/models/{model_id}/stream") as ws:
        ws.send_json({"type": "run", **body})
        frames = []
        while not frames or frames[-1]["type"] not in ("summary", "error"):
            frames.append(ws.receive_json())
    return frames


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", sorted(KINDS))
def test_bidirectional_frames_with_lengths_equal_packed_torch(client, cell, layers) -> None:
    model = Model(cell, layers)
    model_id = upload(client, model, cell, layers)
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, Q))
    truth = Unrolled(model, cell, layers, X, Y)
    # the unrolled pass is torch's packed one
    packed = model.packed(torch.from_numpy(X), LENGTHS).detach().numpy()
    np.testing.assert_allclose(truth.top.numpy(), packed, rtol=0, atol=1e-13)

    body = {"inputs": X.tolist(), "targets": Y.tolist(), "lengths": LENGTHS}
    start, *steps, summary = stream(client, model_id, body)
    assert start["type"] == "start", start
    assert start["bidirectional"] is True and start["lengths"] == LENGTHS
    assert [f["t"] for f in steps] == [*range(T), *range(T - 1, -1, -1)]
    gate_names = {"rnn": [], "lstm": ["i", "f", "g", "o", "C"], "gru": ["r", "z", "n"]}[cell]
    own = [LENGTHS[0] - 1 - t if t < LENGTHS[0] else t for t in range(T)]
    for frame in steps:
        t = frame["t"]
        assert frame.get("padding", False) is (t >= LENGTHS[0])
        for r, part in ((0, frame), (1, frame["reverse"])):
            for k in range(layers):
                if frame["type"] == "forward":
                    np.testing.assert_allclose(part["H"][k], truth.row(k, r, t, "H"), **CLOSE)
                    assert sorted(part["gates"][k]) == sorted(gate_names)
                    if t >= LENGTHS[0]:  # the padding: H and C are 0, A and the gates mean nothing
                        if cell == "lstm":
                            assert not np.any(part["gates"][k]["C"])
                        continue
                    np.testing.assert_allclose(part["A"][k], truth.row(k, r, t, "A"), **CLOSE)
                    for name in gate_names:
                        np.testing.assert_allclose(
                            part["gates"][k][name], truth.row(k, r, t, name), **CLOSE
                        )
                    continue
                np.testing.assert_allclose(part["dH"][k], truth.row(k, r, t, "H", True), **CLOSE)
                np.testing.assert_allclose(part["dA"][k], truth.row(k, r, t, "A", True), **CLOSE)
                if cell == "lstm":
                    np.testing.assert_allclose(
                        part["dC"][k], truth.row(k, r, t, "C", True), **CLOSE
                    )
                assert part["dH_norm"][k] == pytest.approx(truth.dH_norm(k, r, t), abs=1e-10)
                expected = truth.step_norms(k, r, t if r == 0 else own[t])
                assert part["step_grad_norms"][k] == pytest.approx(expected, abs=1e-10)
        if frame["type"] == "forward":
            np.testing.assert_allclose(frame["logits"], truth.logits[0, t].numpy(), **CLOSE)
        else:
            head = truth.head[t]["weight"].grad
            assert frame["head_step_grad_norms"]["W_hq"] == pytest.approx(
                0.0 if head is None else float(head.norm()), abs=1e-10
            )
    assert summary["loss"] == pytest.approx(truth.loss.item(), rel=1e-12)
    assert summary["frames"] == 2 * T


def test_frames_equal_the_rest_trace_of_the_same_bidirectional_pass(client) -> None:
    """Both directions float for float as REST answers them, and no `padding` without lengths."""
    model = Model("gru", 2)
    model_id = upload(client, model, "gru", 2)
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, Q))
    body = {"inputs": X.tolist(), "targets": Y.tolist(), "lengths": LENGTHS}
    rest = client.post(f"/api/v1/models/{model_id}/backward", json=body).json()
    forward = client.post(
        f"/api/v1/models/{model_id}/forward", json={"inputs": X.tolist(), "lengths": LENGTHS}
    ).json()
    _, *steps, _ = stream(client, model_id, body)
    for frame in steps:
        t = frame["t"]
        for k in range(2):
            if frame["type"] == "forward":
                reverse = forward["trace"]["layers"][k]["reverse"]
                assert frame["reverse"]["H"][k] == reverse["H"][0][t]
                assert frame["reverse"]["A"][k] == reverse["A"][0][t]
            else:
                reverse = rest["trace"]["layers"][k]["reverse"]
                assert frame["reverse"]["dH"][k] == reverse["dH"][0][t]
                assert frame["reverse"]["dH_norm"][k] == reverse["dH_norm"][t]
                s = LENGTHS[0] - 1 - t if t < LENGTHS[0] else t
                assert frame["reverse"]["step_grad_norms"][k] == {
                    n: v[s] for n, v in reverse["step_grad_norms"].items()
                }
    whole = stream(client, model_id, {"inputs": X.tolist(), "targets": Y.tolist()})
    assert "lengths" not in whole[0]
    assert not any("padding" in frame for frame in whole)


@pytest.mark.parametrize(
    ("lengths", "field"),
    [
        ([0, 5, 2], "lengths[0]"),
        ([3, 6, 2], "lengths[1]"),
        ([3, 2.5, 2], "lengths[1]"),
        ([3, 5], "lengths"),
        ([[3, 5, 2]], "lengths"),
        ([3, True, 2], "lengths[1]"),
        ("3", "run.lengths"),
    ],
)
def test_bad_lengths_are_error_frames_worded_as_rest(client, make_model, lengths, field) -> None:
    model_id = make_model(bidirectional=True)
    inputs = np.zeros((B, T, 2)).tolist()
    rest = client.post(
        f"/api/v1/models/{model_id}/forward", json={"inputs": inputs, "lengths": lengths}
    )
    assert rest.status_code == 422
    (error,) = stream(client, model_id, {"inputs": inputs, "lengths": lengths})
    assert error["type"] == "error"
    assert error["field"] == field
    assert "internal error" not in error["detail"]
    if field != "run.lengths":  # the REST body names it without the command's type
        assert (error["detail"], error["field"]) == (
            rest.json()["detail"],
            rest.json()["field"],
        )
