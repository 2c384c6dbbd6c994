"""A torch.nn.Module → the server's import: its recurrent layer and head in PyTorch's names.

The server reads a state dict whose recurrent layer is named `rnn` and whose Linear head is named
`head` (docs/api.md, "Models"). A user's module names them as it likes (`lstm`, `fc`, …): this
finds them, renames them, and reads the model config from the modules: PyTorch's two biases
(bias "two") or none (bias=False: "none"), and no head when the module has no Linear (the
output is then H_t, as a bare torch.nn.LSTM returns it). PyTorch is needed only
here, by the caller who has a module; the client itself does not import it.
"""

from typing import Any

import numpy as np

__all__ = ["torch_state_and_config"]

_CELLS = {"RNN": "rnn", "LSTM": "lstm", "GRU": "gru"}


def _named(module: Any, kinds: tuple[str, ...]) -> list[tuple[str, Any]]:
    return [
        (name, child)
        for name, child in module.named_modules()
        if type(child).__name__ in kinds and type(child).__module__.startswith("torch.nn")
    ]


def torch_state_and_config(
    module: Any, head: str | None = None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """module: a torch.nn.RNN/LSTM/GRU, or a module holding exactly one of them and (optionally)
    a Linear head (or several Linears, `head` naming the one). Returns the state dict in the
    server's names as NumPy arrays, and the model config (cell, sizes, layers, dtype, bias,
    bidirectional, linear_head, head_bias)."""
    recurrent = _named(module, tuple(_CELLS))
    if len(recurrent) != 1:
        found = ", ".join(name or "(the module itself)" for name, _ in recurrent) or "none"
        raise ValueError(f"the module must hold one torch.nn.RNN, LSTM or GRU; found {found}")
    _, rnn = recurrent[0]
    if getattr(rnn, "proj_size", 0):
        raise ValueError("LSTM projections (proj_size) are not supported by the server")
    linears = _named(module, ("Linear",))
    if head is not None:
        linears = [(name, child) for name, child in linears if name == head]
        if not linears:
            raise ValueError(f"the module has no Linear named {head!r}")
    if len(linears) > 1:
        names = ", ".join(name for name, _ in linears)
        raise ValueError(f"the module has several Linear layers ({names}): name the head")
    state = {
        f"rnn.{name}": tensor.detach().cpu().numpy() for name, tensor in rnn.state_dict().items()
    }
    dtype = str(next(iter(state.values())).dtype)
    config: dict[str, Any] = {
        "cell": _CELLS[type(rnn).__name__],
        "input_size": rnn.input_size,
        "hidden_size": rnn.hidden_size,
        "num_layers": rnn.num_layers,
        "dtype": dtype if dtype in ("float32", "float64") else "float32",
        "bias": "two" if rnn.bias else "none",
        "bidirectional": bool(rnn.bidirectional),
    }
    if config["cell"] == "rnn":
        config["nonlinearity"] = rnn.nonlinearity
    if linears:
        _, linear = linears[0]
        config["output_size"] = linear.out_features
        config["head_bias"] = linear.bias is not None  # Linear(bias=False): no b_q
        for name, tensor in linear.state_dict().items():
            state[f"head.{name}"] = tensor.detach().cpu().numpy()
    else:
        config["output_size"] = rnn.hidden_size * (2 if rnn.bidirectional else 1)
        config["linear_head"] = False
    return state, config
