"""The models' domain: create, import, read, delete, forward and backward, with the settings'
limits checked before any computation. Routes and the stream call these; nothing here knows HTTP.

Arrays come in as the client gave them (one sequence (T, D) or a batch (B, T, D)), already NumPy
arrays; the answers say whether the batch axis was given (`batched`).
"""

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from app.rnn import BackwardResult, ForwardTrace, ModelConfig, Network, jacobian_norms
from app.rnn import spectral_radius as compute_spectral_radius
from app.rnn import weights as weights_io
from app.rnn.arrays import Array
from app.rnn.connectivity import input_connectivity, output_steps, reach
from app.rnn.keras_layers import load as load_keras
from app.rnn.network import StepGrads
from app.services.errors import InputError, LimitError
from app.services.limits import Limits
from app.services.prepared import PreparedData, prepare
from app.settings import Settings
from app.store import ModelRecord, Store, new_id

__all__ = ["Connectivity", "ModelService", "Pass", "PreparedData"]

# Networks kept built, per worker, so that a page's requests do not re-read the weights each time.
_CACHE_SIZE = 16


@dataclass
class Connectivity:
    """‖∂Y_t/∂X_s‖_F for s = 0…T−1 (norms: (T,)) of sequence 0, for the output at input step t;
    output_steps: the steps with an output; reach_90: the fewest last steps holding 90% of the
    squared norm."""

    t: int
    norms: Array
    output_steps: list[int]
    reach_90: int


@dataclass
class Pass:
    """A forward pass and, when asked for, its backward pass, with what the answer shows."""

    trace: ForwardTrace
    result: BackwardResult | None
    spectral_radius: list[dict[str, float]]
    batched: bool
    jacobian_norms: list[Array] | None = None


@dataclass
class _CachedNetwork:
    version: int
    network: Network
    spectral_radius: list[dict[str, float]]


class ModelService:
    def __init__(self, store: Store, settings: Settings, limits: Limits) -> None:
        self.store = store
        self.settings = settings
        self.limits = limits
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

    def _check_quota(self, owner_id: str, new_bytes: int) -> None:
        """One owner's share of the store: at most quota_models models and quota_bytes bytes
        (429: room comes back as the owner deletes models, not by waiting)."""
        models, size = self.store.owner_usage(owner_id)
        hint = "; delete one of your models to make room"
        if models >= self.settings.quota_models:
            raise LimitError(
                "models", "the number of your models", "quota_models",
                self.settings.quota_models, models + 1, 429, retry_after=60, hint=hint,
            )  # fmt: skip
        if size + new_bytes > self.settings.quota_bytes:
            raise LimitError(
                "models", "the bytes your models take", "quota_bytes",
                self.settings.quota_bytes, size + new_bytes, 429, retry_after=60, hint=hint,
            )  # fmt: skip

    def create(
        self, config: ModelConfig, name: str, owner_id: str = "", bounded: bool = True
    ) -> ModelRecord:
        """A model with fresh weights, belonging to `owner_id` ("" is the instructor's only)."""
        self.limits.config(config)
        self._check_room()
        return self._store_new(config, Network(config).params, name, owner_id, bounded)

    def import_model(
        self,
        data: bytes,
        config: ModelConfig | dict[str, Any] | None,
        name: str,
        owner_id: str = "",
        bounded: bool = True,
        head_prefix: str | None = None,
    ) -> ModelRecord:
        """Safetensors in PyTorch's names (weights.load) + a config, else the file's metadata;
        or a Keras file + a partial config over its own, ≤ max_upload_bytes/2 numbers read."""
        self.limits.upload(len(data))
        if isinstance(config, dict):
            config, params = load_keras(data, config, self.settings.max_upload_bytes // 2)
        else:
            if config is not None:
                self.limits.config(config)
            config, params = weights_io.load(data, config, head_prefix)
        self.limits.config(config)
        self._check_room()
        return self._store_new(config, params, name, owner_id, bounded)

    def _store_new(
        self,
        config: ModelConfig,
        params: dict[str, Array],
        name: str,
        owner_id: str,
        bounded: bool,
    ) -> ModelRecord:
        """Store a new model; `bounded`: within its owner's quota (not the instructor's)."""
        weights = weights_io.save(config, params)
        if bounded and owner_id:
            self._check_quota(owner_id, len(weights))
        now = time.time()
        record = ModelRecord(
            id=new_id(),
            name=name,
            config=config.to_dict(),
            created_at=now,
            updated_at=now,
            owner_id=owner_id,
        )
        self.store.create_model(record, weights)
        return record

    def get(self, model_id: str) -> ModelRecord:
        return self.store.get_model(model_id)

    def list_all(self) -> list[ModelRecord]:
        return self.store.list_models()

    def delete(self, model_id: str) -> None:
        self.store.delete_model(model_id)
        with self._lock:
            self._cache.pop(model_id, None)

    def weights_file(self, model_id: str) -> bytes:
        return self.store.read_weights(model_id)

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
        inputs: Array,
        h0: Array | None = None,
        c0: Array | None = None,
        targets: Array | None = None,
        needs_targets: bool = False,
        answered: bool = True,
        lengths: Array | None = None,
    ) -> PreparedData:
        """Check a request's arrays against the model and the limits (prepared.py)."""
        return prepare(
            self.limits, config, inputs, h0, c0, targets, needs_targets, answered, lengths
        )

    def forward(
        self,
        model_id: str,
        inputs: Array,
        h0: Array | None = None,
        c0: Array | None = None,
        lengths: Array | None = None,
    ) -> Pass:
        network, spectral = self.network(model_id)
        data = self.prepare(network.config, inputs, h0, c0, lengths=lengths)
        trace = network.forward(data.X, data.H0, data.C0, data.lengths)
        return Pass(trace, None, spectral, data.batched)

    def backward(
        self,
        model_id: str,
        inputs: Array,
        targets: Array,
        h0: Array | None = None,
        c0: Array | None = None,
        truncate: int | None = None,
        step_grads: StepGrads = "norms",
        jacobian: bool | None = None,
        lengths: Array | None = None,
    ) -> Pass:
        """Forward and backward; `jacobian` asks for ‖∂H_T/∂H_t‖ (None: only when cheap)."""
        self._truncate(truncate)
        network, spectral = self.network(model_id)
        config = network.config
        data = self.prepare(config, inputs, h0, c0, targets, needs_targets=True, lengths=lengths)
        T = data.X.shape[1]
        if step_grads == "full":
            self.limits.step_grads(config, T)
        if jacobian and data.lengths is not None:  # ‖∂H_T/∂H_t‖ is over all T steps
            raise InputError("jacobian", "jacobian norms are computed without lengths")
        if jacobian:
            self.limits.jacobian(config, T)
        elif jacobian is None:
            cost = self.limits.jacobian_cost(config, T)
            jacobian = data.lengths is None and cost <= self.settings.jacobian_auto_elements
        trace = network.forward(data.X, data.H0, data.C0, data.lengths)
        assert data.targets is not None
        result = network.backward(trace, data.targets, truncate, step_grads)
        norms = (
            [jacobian_norms(network, trace, layer=k) for k in range(config.num_layers)]
            if jacobian
            else None
        )
        return Pass(trace, result, spectral, data.batched, norms)

    def connectivity(
        self,
        model_id: str,
        inputs: Array,
        t: int,
        h0: Array | None = None,
        c0: Array | None = None,
    ) -> Connectivity:
        """How much the output at step t depends on each input step, for sequence 0."""
        network, _ = self.network(model_id)
        config = network.config
        if config.bidirectional:
            raise InputError(
                "model", "the input connectivity is computed for unidirectional models only"
            )
        data = self.prepare(config, inputs, h0, c0, answered=False)
        T = data.X.shape[1]
        steps = output_steps(network, T)
        if t not in steps:
            where = f"0 ≤ t ≤ {T - 1}" if config.output_mode == "sequence" else f"t = {T - 1}"
            raise InputError(
                "t", f"t = {t} is not an output step of these {T} inputs: expected {where}"
            )
        self.limits.connectivity(config, T)
        norms = input_connectivity(
            network,
            data.X[0],
            t,
            None if data.H0 is None else data.H0[:, 0],
            None if data.C0 is None else data.C0[:, 0],
        )
        return Connectivity(t, norms, steps, reach(norms, t))

    def _truncate(self, truncate: int | None) -> None:
        """A BPTT length is at most the longest sequence there can be (as for training)."""
        if truncate is not None:
            self.limits.check("truncate", "the BPTT length", "max_steps", truncate)

    def run(
        self,
        model_id: str,
        inputs: Array,
        targets: Array | None,
        h0: Array | None,
        c0: Array | None,
        truncate: int | None,
        lengths: Array | None = None,
    ) -> Pass:
        """A forward pass and, with targets, a backward pass (for the stream); lengths (B,) as
        for `forward`."""
        self._truncate(truncate)
        network, spectral = self.network(model_id)
        data = self.prepare(network.config, inputs, h0, c0, targets, lengths=lengths)
        trace = network.forward(data.X, data.H0, data.C0, data.lengths)
        result = None
        if data.targets is not None:
            result = network.backward(trace, data.targets, truncate, "norms")
        return Pass(trace, result, spectral, data.batched)
