"""Models: create, import, list, read, delete, weights, forward, backward."""

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Response, UploadFile, status
from starlette.concurrency import run_in_threadpool

from app.api.deps import ModelsDep
from app.api.schemas import (
    ERROR_RESPONSES,
    BackwardRequest,
    BackwardResponse,
    CreateModelRequest,
    ForwardRequest,
    ForwardResponse,
    ModelInfo,
)
from app.api.strictjson import StrictJSONRoute

router = APIRouter(
    prefix="/api/v1/models",
    tags=["models"],
    route_class=StrictJSONRoute,
    responses=ERROR_RESPONSES,
)

SAFETENSORS = "application/octet-stream"


@router.post("", status_code=status.HTTP_201_CREATED)
def create_model(body: CreateModelRequest, models: ModelsDep) -> ModelInfo:
    """Create a model from a config, with freshly initialised weights."""
    return models.create(body.config, body.name)


@router.get("")
def list_models(models: ModelsDep) -> list[ModelInfo]:
    """Every stored model, oldest first."""
    return models.list_all()


@router.post("/import", status_code=status.HTTP_201_CREATED)
async def import_model(
    models: ModelsDep,
    weights: Annotated[UploadFile, File(description="safetensors, PyTorch names and layouts")],
    config: Annotated[
        str | None,
        Form(description="the model config as a JSON string; else the file's metadata"),
    ] = None,
    name: Annotated[str, Form(max_length=200)] = "",
) -> ModelInfo:
    """Import a PyTorch RNN/LSTM/GRU + Linear head from a safetensors file; every tensor's
    name, dtype and shape is checked against the config."""
    data = await weights.read()
    return await run_in_threadpool(models.import_model, data, config, name)


@router.get("/{model_id}")
def get_model(model_id: str, models: ModelsDep) -> ModelInfo:
    return models.info(model_id)


@router.delete("/{model_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_model(model_id: str, models: ModelsDep) -> Response:
    models.delete(model_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{model_id}/weights",
    response_class=Response,
    responses={200: {"content": {SAFETENSORS: {}}, "description": "a safetensors file"}},
)
def get_weights(model_id: str, models: ModelsDep) -> Response:
    """The weights as safetensors in PyTorch's names and layouts (config in the metadata):
    `model.load_state_dict(safetensors.torch.load_file(path))` accepts it."""
    return Response(
        models.weights_file(model_id),
        media_type=SAFETENSORS,
        headers={"Content-Disposition": f'attachment; filename="{model_id}.safetensors"'},
    )


@router.post("/{model_id}/forward", response_model=ForwardResponse)
def forward(model_id: str, body: ForwardRequest, models: ModelsDep) -> dict[str, Any]:
    """Outputs (after the head), logits (before it) and the per-layer, per-timestep trace."""
    return models.forward(model_id, body)


@router.post("/{model_id}/backward", response_model=BackwardResponse)
def backward(model_id: str, body: BackwardRequest, models: ModelsDep) -> dict[str, Any]:
    """Loss, gradients in PyTorch's names and layouts, and the per-timestep gradient trace."""
    return models.backward(model_id, body)
