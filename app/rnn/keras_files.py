"""Keras 3 files, read with h5py and never with Keras: a `.keras` zip (config.json, the model's
layers, and model.weights.h5) or a bare `.weights.h5` (no config: the layers are read off the
variables' shapes).

In the h5 file a recurrent layer `lstm` keeps its cell's variables in layers/lstm/cell/vars/ as
0: kernel (D, G·H), 1: recurrent_kernel (H, G·H), 2: bias (G·H,), or (2, 3H) for a GRU with
reset_after=True, absent with use_bias=False; a Dense `dense` keeps layers/dense/vars/ 0: kernel
(H, Q), 1: bias (Q,). The reading is bounded before any value is read: the zip's members and
unpacked sizes, the h5 file's objects, datasets, ranks and numbers; links to other files and
values stored outside the file are refused. What the layers mean is keras_layers' business.
"""

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

from app.rnn.arrays import Array
from app.rnn.errors import WeightsError

__all__ = ["RECURRENT_CLASSES", "KerasLayer", "is_keras", "read_layers"]

_ZIP_MAGIC, _HDF5_MAGIC = b"PK\x03\x04", b"\x89HDF\r\n\x1a\n"
_MAX_ZIP_MEMBERS, _MAX_CONFIG_BYTES = 16, 2**20
_MAX_OBJECTS, _MAX_DATASETS = 512, 128  # a 4-layer LSTM with Adam's state holds 46
# Keras' recurrent layers → our cells; a bare file's recurrent layer is known by its gates
RECURRENT_CLASSES = {"SimpleRNN": "rnn", "LSTM": "lstm", "GRU": "gru"}
_GATES_TO_CLASS = {1: "SimpleRNN", 4: "LSTM", 3: "GRU"}


@dataclass
class KerasLayer:
    """One layer: its name, Keras class, Keras config ({} from a bare .weights.h5) and
    variables in Keras' order and layouts."""

    name: str
    kind: str
    options: dict[str, Any] = field(default_factory=dict)
    tensors: list[Array] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # its datasets not in [cell/]vars/<i>


def is_keras(data: bytes) -> bool:
    """True for a zip (a .keras file) or an HDF5 file (.weights.h5), by their magic bytes."""
    return data.startswith(_ZIP_MAGIC) or data.startswith(_HDF5_MAGIC)


def read_layers(data: bytes, max_numbers: int) -> list[KerasLayer]:
    """The model's layers in order (config.json's, or for a bare .weights.h5 the recurrent ones
    in Keras' naming order, then the rest), with their variables; at most `max_numbers`
    numbers are read."""
    if data.startswith(_ZIP_MAGIC):
        options, h5 = _unzip(data)
        layers = _from_config(options)
        variables = _variables(h5, max_numbers)
        for layer, key in zip(layers, _h5_names(layers), strict=True):
            layer.tensors, layer.unread = variables.pop(key, ([], []))
        if variables:
            raise WeightsError(
                f"model.weights.h5 holds variables of layer(s) {', '.join(sorted(variables))} "
                "that config.json does not list"
            )
    elif data.startswith(_HDF5_MAGIC):
        layers = _from_shapes(_variables(data, max_numbers))
    else:
        raise WeightsError("not a Keras file: neither a .keras zip nor a .weights.h5 file")
    return layers


def _unzip(data: bytes) -> tuple[dict[str, Any], bytes]:
    """A .keras zip's config.json (parsed) and model.weights.h5 (bytes), sizes bounded."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = {info.filename: info for info in archive.infolist()}
        if len(members) > _MAX_ZIP_MEMBERS:
            raise WeightsError(
                f"the .keras zip holds {len(members)} files, above {_MAX_ZIP_MEMBERS}"
            )
        parts = []
        for name, bound in (
            ("config.json", _MAX_CONFIG_BYTES),
            ("model.weights.h5", len(data) * 4),
        ):
            if name not in members:
                raise WeightsError(f"not a .keras file: the zip holds no {name}")
            with archive.open(name) as member:  # its size as read, whatever the zip says
                parts.append(member.read(bound + 1))
            if max(members[name].file_size, len(parts[-1])) > bound:
                raise WeightsError(f"{name} in the .keras zip is above {bound} bytes unpacked")
        config = json.loads(parts[0])
    except (
        zipfile.BadZipFile,
        ValueError,
        OSError,
        RuntimeError,
        EOFError,
        NotImplementedError,
    ) as error:
        if isinstance(error, WeightsError):
            raise
        raise WeightsError(f"not a valid .keras file: {error}") from None
    if not isinstance(config, dict):
        raise WeightsError("not a valid .keras file: config.json is not an object")
    return config, parts[1]


def _h5_names(layers: list[KerasLayer]) -> list[str]:
    """Keras saves a model's layers under their class's snake-case name, numbered by class in
    the model's order (lstm, lstm_1, …), whatever the layers' own names."""
    names, seen = [], dict[str, int]()
    for layer in layers:
        snake = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", layer.kind)
        snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", snake).lower()
        count = seen[snake] = seen.get(snake, -1) + 1
        names.append(snake if count == 0 else f"{snake}_{count}")
    return names


def _variables(data: bytes, max_numbers: int) -> dict[str, tuple[list[Array], list[str]]]:
    """Per layer (its name in the h5 file), its variables (layers/<name>/[cell/]vars/<i>, in
    i's order) and the paths of any other datasets it holds (not read)."""
    try:
        with h5py.File(io.BytesIO(data), "r") as file:
            found: dict[str, list[tuple[int, h5py.Dataset]]] = {}
            _walk(file, "", found, [0, 0])
            total = sum(int(np.prod(ds.shape)) for datasets in found.values() for _, ds in datasets)
            if total > max_numbers:
                raise WeightsError(
                    f"the h5 file's variables hold {total} numbers, above the limit of "
                    f"{max_numbers} (setting RNN_EXPLORER_MAX_UPLOAD_BYTES / 2)"
                )
            return {
                name: (
                    [np.array(ds[()]) for i, ds in sorted(datasets, key=_first) if i >= 0],
                    [ds.name for i, ds in datasets if i < 0],
                )
                for name, datasets in found.items()
            }
    except WeightsError:
        raise
    except (OSError, KeyError, TypeError, ValueError, RuntimeError, OverflowError) as error:
        raise WeightsError(f"not a valid Keras weights file (HDF5): {error}") from None


def _first(pair: tuple[int, Any]) -> int:
    return pair[0]


def _walk(
    group: h5py.Group, path: str, found: dict[str, list[tuple[int, Any]]], counts: list[int]
) -> None:
    """Collect the datasets under `group`, following hard links only (no file is opened but
    the uploaded one), each a float array of rank ≤ 2 stored in the file."""
    for key in group:
        counts[0] += 1
        if counts[0] > _MAX_OBJECTS:
            raise WeightsError(f"the h5 file holds more than {_MAX_OBJECTS} objects")
        where = f"{path}/{key}"
        if not isinstance(group.get(key, getlink=True), h5py.HardLink):
            raise WeightsError(f"the h5 object {where} is a link; only stored values are read")
        item = group[key]
        if isinstance(item, h5py.Group):
            _walk(item, where, found, counts)
            continue
        if not isinstance(item, h5py.Dataset):
            raise WeightsError(f"the h5 object {where} is neither a group nor a dataset")
        counts[1] += 1
        if counts[1] > _MAX_DATASETS:
            raise WeightsError(f"the h5 file holds more than {_MAX_DATASETS} datasets")
        if item.external or item.is_virtual:
            raise WeightsError(f"the h5 dataset {where} keeps its values outside the file")
        if re.fullmatch(r"/(?:optimizer|vars)(?:/.*)?", where):
            continue  # the optimizer's state, the model's own variables: never read
        if item.dtype.kind != "f" or item.ndim > 2:
            raise WeightsError(
                f"the h5 dataset {where} is {item.dtype} of shape {item.shape}; "
                "expected floats of rank 1 or 2"
            )
        match = re.fullmatch(r"/layers/([^/]+)(?:/cell)?/vars/(\d+)", where)
        other = re.fullmatch(r"/layers/([^/]+)/.*", where)
        if match is not None:
            found.setdefault(match.group(1), []).append((int(match.group(2)), item))
        elif other is not None:  # a wrapper's (Bidirectional's) or an unknown layer's
            found.setdefault(other.group(1), []).append((-1, item))
        else:
            raise WeightsError(f"the h5 dataset {where} is not a Keras layer's variable")


def _from_config(document: dict[str, Any]) -> list[KerasLayer]:
    """config.json's layers in order: a Sequential's, or a Functional model's single chain."""
    kind, options = document.get("class_name"), document.get("config")
    if kind not in ("Sequential", "Functional") or not isinstance(options, dict):
        raise WeightsError(
            f"config.json describes a {kind!r}; expected a Sequential or Functional model"
        )
    entries = options.get("layers", [])
    if not isinstance(entries, list):
        raise WeightsError("config.json: the model's layers are not a list")
    layers: list[KerasLayer] = []
    previous = None
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
            raise WeightsError("config.json: a layer entry is not an object with a config")
        layer = KerasLayer(
            str(entry["config"].get("name")), str(entry.get("class_name")), entry["config"]
        )
        if kind == "Functional" and previous is not None and _inputs(entry) != [previous]:
            raise WeightsError(
                f"layer {layer.name} ({layer.kind}) does not take the previous layer's output "
                "alone; the server reads a chain of layers"
            )
        previous = layer.name
        if layer.kind != "InputLayer":
            layers.append(layer)
    return layers


def _inputs(entry: dict[str, Any]) -> list[str]:
    """The names of the layers a Functional model's layer reads (its keras_history)."""
    text = json.dumps(entry.get("inbound_nodes", []))
    return re.findall(r'"keras_history": \["([^"]+)"', text)


def _from_shapes(variables: dict[str, tuple[list[Array], list[str]]]) -> list[KerasLayer]:
    """A bare .weights.h5's layers: two or three variables with a recurrent kernel (H, G·H)
    make a recurrent layer, in Keras' naming order (lstm, lstm_1, lstm_2, …); the Dense head
    (layers/dense…) comes last; any other is an unknown layer."""
    layers, rest = [], []
    for name in sorted(variables, key=_naming_order):
        tensors, unread = variables[name]
        layer = KerasLayer(name, "Dense" if name.startswith("dense") else "unknown", {}, tensors)
        layer.unread = unread
        if not unread and len(tensors) in (2, 3) and all(t.ndim == 2 for t in tensors[:2]):
            rows, columns = tensors[1].shape
            if rows and columns % rows == 0 and columns // rows in _GATES_TO_CLASS:
                layer.kind = _GATES_TO_CLASS[columns // rows]
                layer.options = {"units": rows}
                if layer.kind == "GRU" and len(tensors) == 3:
                    layer.options["reset_after"] = tensors[2].ndim == 2
                layers.append(layer)
                continue
        rest.append(layer)
    return layers + rest


def _naming_order(name: str) -> tuple[str, int]:
    """Keras names a class's layers `lstm`, `lstm_1`, `lstm_2`, … in the order it made them."""
    match = re.fullmatch(r"(.*?)(?:_(\d+))?", name)
    assert match is not None
    return match.group(1), int(match.group(2) or 0)
