"""Text generation: POST /api/v1/models/{id}/generate, one request for a whole continuation."""

from typing import Annotated

from fastapi import APIRouter

from app.services.generation import generate as generate_text
from app.web.body import json_body, json_body_doc
from app.web.deps import ModelsDep, ReadableModel
from app.web.schemas.common import ERROR_RESPONSES
from app.web.schemas.generate import GenerateRequest, GenerateResponse

router = APIRouter(prefix="/api/v1/models", tags=["models"], responses=ERROR_RESPONSES)

GenerateBody = Annotated[GenerateRequest, json_body(GenerateRequest)]


@router.post(
    "/{model_id}/generate",
    response_model=GenerateResponse,
    openapi_extra=json_body_doc(GenerateRequest),
)
def generate(
    model_id: str, models: ModelsDep, _: ReadableModel, body: GenerateBody
) -> GenerateResponse:
    """Continue `prefix` by `length` characters of a character model (trained on char_lm),
    stepping the cell in the engine with the carried state; the same seed gives the same text."""
    generated, seed, chars = generate_text(
        models, model_id, body.prefix, body.length, body.temperature, body.top_k, body.seed
    )
    return GenerateResponse(
        text=generated.text,
        prefix=generated.prefix,
        continuation=generated.continuation,
        probabilities=generated.probabilities,
        start=generated.start,
        seed=seed,
        temperature=body.temperature,
        top_k=body.top_k,
        vocabulary="".join(chars),
    )
