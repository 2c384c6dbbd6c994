"""Models: create, import, list, read, delete, weights, forward, backward, connectivity."""

from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile, status
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from app.rnn import ModelConfig, keras_files
from app.rnn import weights as weights_io
from app.services.errors import InputError
from app.store import ModelRecord
from app.web.arrays import to_array
from app.web.binary import TRACE_MEDIA_TYPE, TraceResponse, wants_binary
from app.web.body import json_body, json_body_doc, parse_json
from app.web.deps import CallerDep, ModelsDep, OwnedModel, ReadableModel, SettingsDep
from app.web.errors import validation_message
from app.web.owners import can_manage, secret_of, share_token
from app.web.responses import FastJSONResponse
from app.web.schemas.common import ERROR_RESPONSES
from app.web.schemas.models import (
    BackwardRequest,
    BackwardResponse,
    ConnectivityRequest,
    ConnectivityResponse,
    CreateModelRequest,
    ForwardRequest,
    ForwardResponse,
    ModelInfo,
    ShareLink,
)
from app.web.traces import backward_payload, forward_payload

router = APIRouter(prefix="/api/v1/models", tags=["models"], responses=ERROR_RESPONSES)

CreateModelBody = Annotated[CreateModelRequest, json_body(CreateModelRequest)]
# the binary trace format (app.web.binary), for a client whose Accept names it
_BINARY_TRACE: dict[int | str, dict[str, Any]] = {
    200: {"content": {TRACE_MEDIA_TYPE: {}}, "description": "the answer as a binary trace"}
}


def _answer(
    request: Request, payload: dict[str, Any], dtype: str
) -> FastJSONResponse | TraceResponse:
    """The trace as binary when the client's Accept asks for it, else as JSON."""
    if wants_binary(request):
        return TraceResponse(payload, dtype)
    return FastJSONResponse(payload)


# `?fields=states`: the states only (H, C; dH, dC), the rest being derivable from them
Fields = Annotated[
    Literal["all", "states"],
    Query(
        description="all: every array; states: per layer H (and C) forward, no dA backward, "
        "which the page derives from the states, the inputs and the weights"
    ),
]
ForwardBody = Annotated[ForwardRequest, json_body(ForwardRequest)]
BackwardBody = Annotated[BackwardRequest, json_body(BackwardRequest)]
ConnectivityBody = Annotated[ConnectivityRequest, json_body(ConnectivityRequest)]

SAFETENSORS = "application/octet-stream"


def model_info(record: ModelRecord) -> ModelInfo:
    shapes = weights_io.pytorch_shapes(ModelConfig.from_dict(record.config))
    return ModelInfo(
        id=record.id,
        name=record.name,
        config=record.config,
        created_at=record.created_at,
        updated_at=record.updated_at,
        weights_version=record.weights_version,
        parameter_count=sum(int(np.prod(shape)) for shape in shapes.values()),
        shapes={name: list(shape) for name, shape in shapes.items()},
    )


def _config_document(text: str | None) -> Any:
    """The import form's `config` field parsed: JSON (a ModelConfig or {"config": ModelConfig});
    None when absent, empty or null (the file says)."""
    if text is None or not text.strip():
        return None
    try:
        document = parse_json(text)
    except ValueError as error:
        raise InputError("config", f"config is not valid JSON: {error}") from None
    if isinstance(document, dict) and isinstance(document.get("config"), dict):
        document = document["config"]
    return document


def _config_form(document: Any) -> ModelConfig | None:
    """The import form's `config` for a safetensors file: a whole ModelConfig."""
    if document is None:  # as if absent, the file's metadata says
        return None
    try:
        return ModelConfig.model_validate(document)
    except ValidationError as error:
        raise InputError(*validation_message(error, "config")) from None


def _state(value: Any, field: str) -> Any:
    return None if value is None else to_array(value, field, (2, 3))


def _lengths(value: Any) -> Any:
    return None if value is None else to_array(value, "lengths", (1,))


@router.post(
    "", status_code=status.HTTP_201_CREATED, openapi_extra=json_body_doc(CreateModelRequest)
)
def create_model(models: ModelsDep, caller: CallerDep, body: CreateModelBody) -> ModelInfo:
    """Create a model from a config, with freshly initialised weights; it belongs to the
    caller."""
    return model_info(models.create(body.config, body.name, caller.owner, not caller.instructor))


@router.get("")
def list_models(models: ModelsDep, caller: CallerDep) -> list[ModelInfo]:
    """The caller's models (every model for the instructor), oldest first."""
    return [
        model_info(record) for record in models.list_all() if can_manage(caller, record.owner_id)
    ]


@router.post("/import", status_code=status.HTTP_201_CREATED)
async def import_model(
    models: ModelsDep,
    caller: CallerDep,
    weights: Annotated[
        UploadFile,
        File(
            description="safetensors in PyTorch's names and layouts, or a Keras 3 file "
            "(.keras or .weights.h5)"
        ),
    ],
    config: Annotated[
        str | None,
        Form(
            description="the model config as a JSON string, else the file's metadata; for a "
            "Keras file, fields over those the file says"
        ),
    ] = None,
    name: Annotated[str, Form(max_length=200)] = "",
    head_prefix: Annotated[
        str | None,
        Form(
            max_length=200,
            description="the Linear head's module name (fc, decoder, …); else the one found",
        ),
    ] = None,
) -> ModelInfo:
    """Import a PyTorch RNN/LSTM/GRU, with or without biases, with a Linear head under any
    name or none, from a safetensors file; every tensor's name, dtype and shape is checked
    against the config. Or a Keras 3 SimpleRNN/LSTM/GRU stack with or without a Dense head,
    from a .keras or .weights.h5 file (read without Keras)."""
    data = await weights.read()
    document = _config_document(config)
    if keras_files.is_keras(data):
        if head_prefix:
            raise InputError("head_prefix", "head_prefix: a Keras file's head is its Dense layer")
        if document is not None and not isinstance(document, dict):
            raise InputError("config", "config: for a Keras file, an object of config fields")
        given: ModelConfig | dict[str, Any] | None = document or {}
    else:
        given = _config_form(document)
    record = await run_in_threadpool(
        models.import_model,
        data,
        given,
        name,
        caller.owner,
        not caller.instructor,
        head_prefix or None,
    )
    return model_info(record)


@router.get("/{model_id}")
def get_model(record: ReadableModel) -> ModelInfo:
    return model_info(record)


@router.delete("/{model_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_model(model_id: str, models: ModelsDep, _: OwnedModel) -> Response:
    models.delete(model_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{model_id}/share", status_code=status.HTTP_201_CREATED)
def share_model(record: OwnedModel, settings: SettingsDep) -> ShareLink:
    """A read-only share link: its holder may read, forward, backward, download and stream-run
    this model (token in `X-Share-Token` or `?share=`), never delete, train or change it."""
    token = share_token(secret_of(settings), record.id)
    return ShareLink(model_id=record.id, token=token, url=f"/?model={record.id}&share={token}")


@router.get(
    "/{model_id}/weights",
    response_class=Response,
    responses={200: {"content": {SAFETENSORS: {}}, "description": "a safetensors file"}},
)
def get_weights(model_id: str, models: ModelsDep, _: ReadableModel) -> Response:
    """The weights as safetensors in PyTorch's names and layouts (config in the metadata):
    `model.load_state_dict(safetensors.torch.load_file(path))` accepts it."""
    return Response(
        models.weights_file(model_id),
        media_type=SAFETENSORS,
        headers={"Content-Disposition": f'attachment; filename="{model_id}.safetensors"'},
    )


@router.post(
    "/{model_id}/forward",
    response_model=ForwardResponse,
    responses=_BINARY_TRACE,
    openapi_extra=json_body_doc(ForwardRequest),
)
def forward(
    model_id: str,
    models: ModelsDep,
    _: ReadableModel,
    body: ForwardBody,
    request: Request,
    fields: Fields = "all",
) -> FastJSONResponse | TraceResponse:
    """Outputs (after the head), logits (before it) and the per-layer, per-timestep trace."""
    inputs = to_array(body.inputs, "inputs", (2, 3))
    run = models.forward(
        model_id, inputs, _state(body.h0, "h0"), _state(body.c0, "c0"), _lengths(body.lengths)
    )
    # written straight from the arrays (app.web.responses); the schema is response_model's
    payload = forward_payload(run, states_only=fields == "states")
    return _answer(request, payload, run.trace.config.dtype)


@router.post(
    "/{model_id}/backward",
    response_model=BackwardResponse,
    responses=_BINARY_TRACE,
    openapi_extra=json_body_doc(BackwardRequest),
)
def backward(
    model_id: str,
    models: ModelsDep,
    _: ReadableModel,
    body: BackwardBody,
    request: Request,
    fields: Fields = "all",
) -> FastJSONResponse | TraceResponse:
    """Loss, gradients in PyTorch's names and layouts, and the per-timestep gradient trace."""
    run = models.backward(
        model_id,
        to_array(body.inputs, "inputs", (2, 3)),
        to_array(body.targets, "targets", (0, 1, 2, 3)),
        _state(body.h0, "h0"),
        _state(body.c0, "c0"),
        body.truncate,
        body.step_grads,
        body.jacobian,
        _lengths(body.lengths),
    )
    payload = backward_payload(run, states_only=fields == "states")
    return _answer(request, payload, run.trace.config.dtype)


@router.post(
    "/{model_id}/connectivity",
    response_model=ConnectivityResponse,
    openapi_extra=json_body_doc(ConnectivityRequest),
)
def connectivity(
    model_id: str, models: ModelsDep, _: ReadableModel, body: ConnectivityBody
) -> ConnectivityResponse:
    """‖∂Y_t/∂X_s‖_F for every input step s: how much the output at t depends on each input."""
    inputs = to_array(body.inputs, "inputs", (2, 3))
    if body.lengths is not None:
        raise InputError("lengths", "the input connectivity runs over all T steps: no lengths")
    answer = models.connectivity(
        model_id, inputs, body.t, _state(body.h0, "h0"), _state(body.c0, "c0")
    )
    return ConnectivityResponse(
        t=answer.t,
        norms=answer.norms.tolist(),
        output_steps=answer.output_steps,
        reach_90=answer.reach_90,
    )
