"""The models' domain: create, import, read, delete, forward and backward, with the settings'
limits checked before any computation. Routes and the stream call these; nothing here knows HTTP.
"""

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from app.api.arrays import to_array
from app.api.errors import InputError, LimitError
from app.api.schemas import BackwardRequest, ForwardRequest, ModelConfigBody, ModelInfo
from app.api.strictjson import strict_loads
from app.api.traces import backward_payload, forward_payload
from app.config import Settings
from app.rnn import BackwardResult, ForwardTrace, ModelConfig, Network, jacobian_norms
from app.rnn import spectral_radius as compute_spectral_radius
from app.rnn import weights as weights_io
from app.rnn.arrays import Array
from app.rnn.network import StepGrads
from app.store import ModelRecord, Store, new_id

__all__ = ["Limits", "ModelService", "PreparedData", "Run"]

_CACHE_SIZE = 16


class Limits:
    """The settings' bounds on every size a client controls, as checks that name the field."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def check(
        self, field: str, what: str, setting: str, got: float, status_code: int = 422
    ) -> None:
        limit = getattr(self.settings, setting)
        if got > limit:
            raise LimitError(field, what, setting, limit, got, status_code)

    def config(self, config: ModelConfig) -> None:
        self.check("config.input_size", "D", "max_input_size", config.input_size)
        self.check("config.hidden_size", "H", "max_hidden_size", config.hidden_size)
        self.check("config.output_size", "Q", "max_output_size", config.output_size)
        self.check("config.num_layers", "L", "max_layers", config.num_layers)

    def data(self, config: ModelConfig, B: int, T: int, field: str = "inputs") -> None:
        self.check(field, "the batch size B", "max_batch", B)
        self.check(field, "the number of steps T", "max_steps", T)
        width = config.input_size + config.num_layers * config.gates * config.hidden_size
        self.check(field, "the trace size B·T·(D + L·G·H)", "max_elements", B * T * width)

    def step_grads(self, config: ModelConfig, T: int) -> None:
        G, H = config.gates, config.hidden_size
        width = config.input_size + H + (config.num_layers - 1) * 2 * H
        what = "the size of the per-step gradients T·(D + H)·G·H"
        self.check("step_grads", what, "max_step_grads_elements", T * width * G * H)

    def jacobian_cost(self, config: ModelConfig, T: int) -> int:
        return T * config.gates * config.hidden_size**2 * config.num_layers

    def jacobian(self, config: ModelConfig, T: int) -> None:
        what = "the cost T·G·H²·L"
        self.check("jacobian", what, "max_jacobian_elements", self.jacobian_cost(config, T))

    def upload(self, size: int) -> None:
        self.check("weights", "the file size in bytes", "max_upload_bytes", size, 413)


@dataclass
class PreparedData:
    """A request's arrays in the engine's layout: X (B, T, D), H0/C0 (L, B, H), targets with a
    batch axis; `batched` says whether the answer keeps it."""

    X: Array
    H0: Array | None
    C0: Array | None
    targets: Array | None
    batched: bool


@dataclass
class Run:
    """A forward (and maybe backward) pass, as the stream needs it."""

    trace: ForwardTrace
    result: BackwardResult | None
    batched: bool


@dataclass
class _CachedNetwork:
    version: int
    network: Network
    spectral_radius: list[dict[str, float]]


class ModelService:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.limits = Limits(settings)
        self._cache: OrderedDict[str, _CachedNetwork] = OrderedDict()
        self._lock = threading.Lock()

    # Models ---------------------------------------------------------------------------------

    def _check_room(self) -> None:
        count = self.store.count_models()
        if count >= self.settings.max_models:
            raise LimitError(
                "models",
                "the number of stored models",
                "max_models",
                self.settings.max_models,
                count + 1,
                409,
            )

    def create(self, config_body: ModelConfigBody, name: str) -> ModelInfo:
        config = ModelConfig.from_dict(config_body.model_dump())
        self.limits.config(config)
        self._check_room()
        network = Network(config)
        return self._store_new(config, network.params, name)

    def import_model(self, data: bytes, config_text: str | None, name: str) -> ModelInfo:
        """A safetensors file in PyTorch's names + a JSON config (else the file's metadata)."""
        self.limits.upload(len(data))
        config: ModelConfig | None = None
        if config_text is not None and config_text.strip():
            config = self._parse_config(config_text)
            self.limits.config(config)
        config, params = weights_io.load(data, config)
        self.limits.config(config)
        self._check_room()
        return self._store_new(config, params, name)

    def _parse_config(self, text: str) -> ModelConfig:
        try:
            document = strict_loads(text)
        except ValueError as error:
            raise InputError("config", f"config is not valid JSON: {error}") from None
        if isinstance(document, dict) and isinstance(document.get("config"), dict):
            document = document["config"]
        try:
            body = ModelConfigBody.model_validate(document)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in ("config", *first["loc"]))
            raise InputError(where, f"{where}: {first['msg']}") from None
        return ModelConfig.from_dict(body.model_dump())

    def _store_new(self, config: ModelConfig, params: dict[str, Array], name: str) -> ModelInfo:
        now = time.time()
        record = ModelRecord(
            id=new_id(), name=name, config=config.to_dict(), created_at=now, updated_at=now
        )
        self.store.create_model(record, weights_io.save(config, params))
        return self.info_of(record)

    def info(self, model_id: str) -> ModelInfo:
        return self.info_of(self.store.get_model(model_id))

    def list_all(self) -> list[ModelInfo]:
        return [self.info_of(record) for record in self.store.list_models()]

    def delete(self, model_id: str) -> None:
        self.store.delete_model(model_id)
        with self._lock:
            self._cache.pop(model_id, None)

    def weights_file(self, model_id: str) -> bytes:
        return self.store.read_weights(model_id)

    @staticmethod
    def info_of(record: ModelRecord) -> ModelInfo:
        config = ModelConfig.from_dict(record.config)
        shapes = weights_io.pytorch_shapes(config)
        return ModelInfo(
            id=record.id,
            name=record.name,
            config=record.config,
            created_at=record.created_at,
            updated_at=record.updated_at,
            weights_version=record.weights_version,
            parameter_count=sum(int(np.prod(s)) for s in shapes.values()),
            shapes={k: list(v) for k, v in shapes.items()},
        )

    def network(self, model_id: str) -> tuple[Network, list[dict[str, float]]]:
        """The stored network (cached per weights version) and its spectral radii."""
        record = self.store.get_model(model_id)
        with self._lock:
            cached = self._cache.get(model_id)
            if cached is not None and cached.version == record.weights_version:
                self._cache.move_to_end(model_id)
                return cached.network, cached.spectral_radius
        _, params = weights_io.load(self.store.read_weights(model_id))
        network = Network(ModelConfig.from_dict(record.config), params)
        cached = _CachedNetwork(record.weights_version, network, compute_spectral_radius(network))
        with self._lock:
            self._cache[model_id] = cached
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return network, cached.spectral_radius

    # Passes ---------------------------------------------------------------------------------

    def prepare(
        self,
        config: ModelConfig,
        inputs: Any,
        h0: Any = None,
        c0: Any = None,
        targets: Any = None,
        needs_targets: bool = False,
    ) -> PreparedData:
        """Convert and check a request's arrays: shapes, limits, batch axis."""
        X = to_array(inputs, "inputs", (2, 3), config.dtype)
        batched = X.ndim == 3
        if not batched:
            X = X[None]
        B, T, D = X.shape
        self.limits.data(config, B, T)
        if config.input_size != D:
            raise InputError(
                "inputs",
                f"inputs have D = {D} inputs per step, the model expects {config.input_size}",
            )
        H0 = self._state("h0", h0, config, B, batched)
        C0 = self._state("c0", c0, config, B, batched)
        if C0 is not None and config.cell != "lstm":
            raise InputError("c0", f"c0 is the lstm's cell state; this model is a {config.cell}")
        prepared_targets = None
        if targets is not None:
            prepared_targets = self._targets(targets, config, B, T, batched)
        elif needs_targets:
            raise InputError("targets", "targets are required for a backward pass")
        return PreparedData(X, H0, C0, prepared_targets, batched)

    def _state(
        self, field: str, value: Any, config: ModelConfig, B: int, batched: bool
    ) -> Array | None:
        if value is None:
            return None
        L, H = config.num_layers, config.hidden_size
        S = to_array(value, field, (2, 3), config.dtype)
        if S.shape == (L, H):
            return np.ascontiguousarray(np.broadcast_to(S[:, None], (L, B, H)))
        if batched and S.shape == (L, B, H):
            return S
        expected = f"(L, H) = {(L, H)}" + (f" or (L, B, H) = {(L, B, H)}" if batched else "")
        raise InputError(field, f"{field} has shape {S.shape}, expected {expected}")

    def _targets(self, value: Any, config: ModelConfig, B: int, T: int, batched: bool) -> Array:
        Y = to_array(value, "targets", (0, 1, 2, 3), "float64")
        step_axes = (T,) if config.output_mode == "sequence" else ()
        shape = (*step_axes, config.output_size)
        allowed = [shape]
        if config.loss == "cross_entropy":
            allowed.append(shape[:-1])
        if batched:
            allowed = [(B, *s) for s in allowed]
        if Y.shape not in allowed:
            described = " or ".join(str(s) for s in allowed)
            raise InputError("targets", f"targets have shape {Y.shape}, expected {described}")
        return Y if batched else Y[None]

    def forward(self, model_id: str, request: ForwardRequest) -> dict[str, Any]:
        network, spectral = self.network(model_id)
        data = self.prepare(network.config, request.inputs, request.h0, request.c0)
        trace = network.forward(data.X, data.H0, data.C0)
        return forward_payload(trace, spectral, data.batched)

    def backward(self, model_id: str, request: BackwardRequest) -> dict[str, Any]:
        network, spectral = self.network(model_id)
        config = network.config
        data = self.prepare(
            config, request.inputs, request.h0, request.c0, request.targets, needs_targets=True
        )
        T = data.X.shape[1]
        if request.step_grads == "full":
            self.limits.step_grads(config, T)
        want_jacobian = request.jacobian
        if want_jacobian:
            self.limits.jacobian(config, T)
        elif want_jacobian is None:
            want_jacobian = (
                self.limits.jacobian_cost(config, T) <= self.settings.jacobian_auto_elements
            )
        mode: StepGrads = request.step_grads
        trace = network.forward(data.X, data.H0, data.C0)
        assert data.targets is not None
        result = network.backward(trace, data.targets, request.truncate, mode)
        norms = (
            [jacobian_norms(network, trace, layer=k) for k in range(config.num_layers)]
            if want_jacobian
            else None
        )
        return backward_payload(trace, result, spectral, data.batched, norms)

    def run(
        self,
        model_id: str,
        inputs: Any,
        targets: Any,
        h0: Any,
        c0: Any,
        truncate: int | None,
    ) -> Run:
        """A forward pass and, with targets, a backward pass (for the stream)."""
        network, _ = self.network(model_id)
        data = self.prepare(network.config, inputs, h0, c0, targets)
        trace = network.forward(data.X, data.H0, data.C0)
        result = None
        if data.targets is not None:
            result = network.backward(trace, data.targets, truncate, "norms")
        return Run(trace, result, data.batched)
