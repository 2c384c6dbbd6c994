"""Bodies of POST /api/v1/models/{id}/generate: text from a character model."""

from pydantic import BaseModel, ConfigDict, Field

from app.rnn.config import Whole, WholeOrNone
from app.tasks.generation import MAX_TEMPERATURE
from app.web.schemas.common import RequestBody


class GenerateRequest(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"prefix": "The ferryman ", "length": 80, "temperature": 0.8, "seed": 7}]
        },
    )

    prefix: str = Field(
        "",
        max_length=100_000,
        description="the text the model reads first (at most max_steps characters, each in the "
        "model's vocabulary); empty: it reads a newline (else a space, else its first "
        "character) and the text starts from nothing",
    )
    length: Whole = Field(ge=1, description="characters to generate (at most max_generate_length)")
    temperature: float = Field(
        1.0,
        gt=0,
        le=MAX_TEMPERATURE,
        allow_inf_nan=False,
        description="divides the logits: below 1 sharper, above 1 flatter",
    )
    top_k: WholeOrNone = Field(
        None, ge=1, le=2**31, description="draw only among the k likeliest characters"
    )
    seed: WholeOrNone = Field(
        None,
        ge=0,
        le=2**63 - 1,
        description="the same seed gives the same text; null: a fresh one (< 2^53)",
    )


class GenerateResponse(BaseModel):
    text: str = Field(description="prefix + continuation")
    prefix: str
    continuation: str = Field(description="the generated characters")
    probabilities: list[float] = Field(
        description="per generated character, its probability in the distribution it was "
        "drawn from (after temperature and top_k)"
    )
    start: str | None = Field(description="the character read for an empty prefix, else null")
    seed: int = Field(description="the seed used: pass it again for the same text")
    temperature: float
    top_k: int | None
    vocabulary: str = Field(description="the model's characters in id order")
