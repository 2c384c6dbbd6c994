"""`Client`: the RNN Explorer API from Python, answers as NumPy arrays.

    from rnn_explorer import Client

    client = Client("http://127.0.0.1:8000")
    model = client.create_model(cell="lstm", input_size=1, hidden_size=16, output_size=1)
    run = client.forward(model["id"], np.sin(np.linspace(0, 6, 50))[:, None])
    run["trace"]["layers"][0]["H"]  # (T, H) hidden states, an ndarray

Every call is one HTTP request (docs/api.md); an answer of 400 or more raises ApiError with the
server's own message. Traces travel in the binary trace format (no JSON parse of numbers) and
come back as arrays in the model's dtype.
"""

import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
import orjson
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from rnn_explorer.trace_format import TRACE_MEDIA_TYPE, decode_trace

__all__ = ["ApiError", "Client"]

_ENDED = {"finished", "early_stopped", "stopped", "failed", "interrupted"}


class ApiError(Exception):
    """An answer of 400 or more: `status` and the server's `detail` (its words, and where)."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"{status}: {detail}")
        self.status, self.detail = status, detail


def _plain(value: Any) -> Any:
    """Arrays (and NumPy scalars) → lists and numbers for a JSON body."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _arrays(value: Any) -> Any:
    """A JSON answer's lists of numbers → ndarrays (other values as they are)."""
    if isinstance(value, dict):
        return {key: _arrays(item) for key, item in value.items()}
    if isinstance(value, list) and value and all(_numeric(item) for item in value):
        return np.asarray(value, dtype=np.float64)
    if isinstance(value, list):
        return [_arrays(item) for item in value]
    return value


def _numeric(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(_numeric(item) for item in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Client:
    """The API of one server, as one owner.

    base_url: the server ("http://127.0.0.1:8000"). token: a bearer token (`POST
    /api/v1/tokens`); without one the client makes one on its first call, a fresh owner whose
    models only this client (and share links) can reach; `client.token` keeps it for next time.
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        token: str | None = None,
        *,
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---- requests ----------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        if self.token is None:
            made = self._http.post("/api/v1/tokens")
            self._check(made)
            self.token = str(made.json()["token"])
        return {"authorization": f"Bearer {self.token}"}

    @staticmethod
    def _check(response: httpx.Response) -> None:
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ApiError(response.status_code, detail)

    def _call(self, method: str, path: str, body: Any = None, **options: Any) -> httpx.Response:
        headers = {**self._headers(), **options.pop("headers", {})}
        if body is not None:
            headers["content-type"] = "application/json"
            options["content"] = orjson.dumps(_plain(body))
        response = self._http.request(method, f"/api/v1{path}", headers=headers, **options)
        self._check(response)
        return response

    def _json(self, method: str, path: str, body: Any = None, **options: Any) -> Any:
        response = self._call(method, path, body, **options)
        return response.json() if response.content else None

    def _trace(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        response = self._call("POST", path, body, headers={"accept": TRACE_MEDIA_TYPE})
        if response.headers.get("content-type", "").startswith(TRACE_MEDIA_TYPE):
            return decode_trace(response.content)
        answer: dict[str, Any] = _arrays(response.json())
        return answer

    # ---- models ------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        answer: dict[str, Any] = self._http.get("/api/v1/health").json()
        return answer

    def models(self) -> list[dict[str, Any]]:
        """This owner's models."""
        answer: list[dict[str, Any]] = self._json("GET", "/models")
        return answer

    def model(self, model_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._json("GET", f"/models/{quote(model_id)}")
        return answer

    def create_model(
        self, config: Mapping[str, Any] | None = None, *, name: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A new model: `config` (ModelConfig, docs/design.md) and/or its fields as keywords."""
        body: dict[str, Any] = {"config": {**(config or {}), **fields}}
        if name is not None:
            body["name"] = name
        answer: dict[str, Any] = self._json("POST", "/models", body)
        return answer

    def delete_model(self, model_id: str) -> None:
        self._call("DELETE", f"/models/{quote(model_id)}")

    def weights(self, model_id: str) -> dict[str, np.ndarray]:
        """The weights in PyTorch's names and layouts (`load_state_dict` takes them)."""
        return load_safetensors(self._call("GET", f"/models/{quote(model_id)}/weights").content)

    def import_weights(
        self,
        weights: str | Path | bytes | Mapping[str, np.ndarray],
        config: Mapping[str, Any] | None = None,
        *,
        name: str = "",
        head_prefix: str | None = None,
    ) -> dict[str, Any]:
        """A model from a safetensors file (a path, its bytes, or a dict of arrays in PyTorch's
        names); `config` as for create_model, else the file's own metadata. The head is the
        Linear under `head_prefix` (fc, decoder, …), else the one the server finds."""
        if isinstance(weights, Mapping):
            data = save_safetensors({key: np.ascontiguousarray(v) for key, v in weights.items()})
        elif isinstance(weights, bytes):
            data = weights
        else:
            data = Path(weights).read_bytes()
        form = {"name": name}
        if head_prefix is not None:
            form["head_prefix"] = head_prefix
        if config is not None:
            form["config"] = orjson.dumps(_plain(config)).decode()
        files = {"weights": ("weights.safetensors", data, "application/octet-stream")}
        response = self._call("POST", "/models/import", data=form, files=files)
        answer: dict[str, Any] = response.json()
        return answer

    def import_keras(
        self, path: str | Path | bytes, *, name: str = "", **config: Any
    ) -> dict[str, Any]:
        """A model from a Keras 3 file: `.keras` (its config says the layers) or `.weights.h5`
        (the shapes say them; config fields such as output_mode="last", head="softmax" or
        nonlinearity="relu" say what they cannot). Keras is not needed to import."""
        data, filename = (path, "model.keras") if isinstance(path, bytes) else (
            Path(path).read_bytes(), Path(path).name
        )  # fmt: skip
        form = {"name": name, "config": orjson.dumps(_plain(config)).decode()}
        files = {"weights": (filename, data, "application/octet-stream")}
        answer: dict[str, Any] = self._call("POST", "/models/import", data=form, files=files).json()
        return answer

    def import_torch(
        self, module: Any, *, head: str | None = None, name: str = "", **config: Any
    ) -> dict[str, Any]:
        """A model from a torch.nn.Module: its one RNN/LSTM/GRU and its Linear head (`head`
        names it among several); config fields (e.g. loss, output_mode) as keywords."""
        from rnn_explorer.torch_models import torch_state_and_config

        state, found = torch_state_and_config(module, head)
        return self.import_weights(state, {**found, **config}, name=name)

    # ---- passes ------------------------------------------------------------------------------

    def forward(
        self, model_id: str, inputs: Any, h0: Any = None, c0: Any = None, lengths: Any = None
    ) -> dict[str, Any]:
        """Outputs, logits and the per-step trace; inputs (T, D) or (B, T, D); lengths (B,)
        each sequence's real steps (the rest is padding, as pack_padded_sequence has it)."""
        body = {"inputs": inputs, "h0": h0, "c0": c0, "lengths": lengths}
        return self._trace(f"/models/{quote(model_id)}/forward", _without_none(body))

    def backward(self, model_id: str, inputs: Any, targets: Any, **options: Any) -> dict[str, Any]:
        """The loss, gradients (PyTorch names) and the per-step backward trace; options:
        h0, c0, lengths, truncate, step_grads ("norms" | "full"), jacobian (docs/api.md)."""
        body = {"inputs": inputs, "targets": targets, **options}
        return self._trace(f"/models/{quote(model_id)}/backward", _without_none(body))

    def generate(self, model_id: str, prefix: str = "", length: int = 100, **options: Any) -> Any:
        """Text from a character model: options temperature, top_k, seed (docs/api.md)."""
        body = {"prefix": prefix, "length": length, **options}
        return self._json("POST", f"/models/{quote(model_id)}/generate", _without_none(body))

    # ---- training ----------------------------------------------------------------------------

    def train(self, model_id: str, **request: Any) -> dict[str, Any]:
        """Start a training session (TrainRequest fields as keywords: task, task_params,
        optimizer, lr, steps, … or data={"inputs", "targets"}); returns its SessionInfo."""
        answer: dict[str, Any] = self._json("POST", f"/models/{quote(model_id)}/train", request)
        return answer

    def session(self, session_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._json("GET", f"/training/{quote(session_id)}")
        return answer

    def history(self, session_id: str, after_step: int = -1, limit: int = 1000) -> dict[str, Any]:
        params = {"after_step": after_step, "limit": limit}
        answer: dict[str, Any] = self._json(
            "GET", f"/training/{quote(session_id)}/history", params=params
        )
        return answer

    def control(self, session_id: str, action: str) -> dict[str, Any]:
        """pause, resume, step or stop; returns the SessionInfo once the session has acted."""
        answer: dict[str, Any] = self._json("POST", f"/training/{quote(session_id)}/{action}")
        return answer

    def pause(self, session_id: str) -> dict[str, Any]:
        return self.control(session_id, "pause")

    def resume(self, session_id: str) -> dict[str, Any]:
        return self.control(session_id, "resume")

    def step(self, session_id: str) -> dict[str, Any]:
        return self.control(session_id, "step")

    def stop(self, session_id: str) -> dict[str, Any]:
        return self.control(session_id, "stop")

    def follow(
        self, session_id: str, every: float = 0.25, timeout: float | None = None
    ) -> Iterator[dict[str, Any]]:
        """Each progress record of the session as it comes, until the session ends (or
        pauses, or `timeout` seconds pass): records in step order, none twice."""
        after = -1
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            page = self.history(session_id, after_step=after)
            yield from page["records"]
            after = page["last_step"] if page["last_step"] is not None else after
            if page["records"]:
                continue
            info = self.session(session_id)
            if info["status"] in _ENDED or info["status"] == "paused":
                # the last records may have come after the history was read
                yield from self.history(session_id, after_step=after)["records"]
                return
            if deadline is not None and time.monotonic() > deadline:
                return
            time.sleep(every)

    def wait(self, session_id: str, timeout: float | None = None) -> dict[str, Any]:
        """Follow the session to its end; returns its SessionInfo then."""
        for _ in self.follow(session_id, timeout=timeout):
            pass
        return self.session(session_id)

    # ---- the page ----------------------------------------------------------------------------

    def link(self, model_id: str, inputs: Any = None, lengths: Any = None) -> str:
        """The explorer page for the model (a read-only share link, so a browser that is not
        this client's owner opens it); with `inputs` (T, D), or a padded batch (B, T, D) with
        `lengths` (B,), the page runs them instead of its task's sample (each sequence to its
        own end)."""
        shared: dict[str, Any] = self._json("POST", f"/models/{quote(model_id)}/share")
        url = f"{self.base_url}{shared['url']}"
        if inputs is not None:
            text = orjson.dumps(_plain(inputs)).decode()
            url += "#inputs=" + quote(text, safe="[],.-e")
            if lengths is not None:
                url += "&lengths=" + quote(orjson.dumps(_plain(lengths)).decode(), safe="[],")
        return url

    def show(
        self, model_id: str, inputs: Any = None, height: int = 800, *, lengths: Any = None
    ) -> Any:
        """In Jupyter: the explorer page for the model (and inputs, a padded batch with its
        lengths) inline, as an IFrame."""
        from IPython.display import IFrame

        return IFrame(self.link(model_id, inputs, lengths), width="100%", height=height)


def _without_none(body: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}
