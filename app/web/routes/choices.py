"""The choices a client may make, read off the engine's and the service's own definitions, so the
page builds its menus and bounds from the server instead of copies of them."""

import annotated_types
from fastapi import APIRouter

from app.rnn import OPTIMISERS
from app.rnn.config import (
    BIASES,
    CELL_FIELDS,
    CELLS,
    DTYPES,
    HEADS,
    INITS,
    LOSSES,
    NONLINEARITIES,
    OUTPUT_MODES,
    ModelConfig,
)
from app.rnn.schedules import SCHEDULES
from app.web.deps import SettingsDep
from app.web.schemas.common import Choices

router = APIRouter(prefix="/api/v1", tags=["meta"])

# The settings a client's sizes are bounded by (the page's inputs take their max from these).
_LIMITS = (
    "max_input_size",
    "max_hidden_size",
    "max_output_size",
    "max_layers",
    "max_steps",
    "max_batch",
    "max_elements",
    "max_training_steps",
    "max_fps",
    "max_text_length",
    "max_generate_length",
)


@router.get("/choices")
def choices(settings: SettingsDep) -> Choices:
    """Every choice of a model config and a training session, the model config's defaults, and
    the service's limits on the sizes a client controls."""
    defaults = {
        name: field.default
        for name, field in ModelConfig.model_fields.items()
        if not field.is_required()
    }
    return Choices(
        model={
            "cell": list(CELLS),
            "nonlinearity": list(NONLINEARITIES),
            "head": list(HEADS),
            "loss": list(LOSSES),
            "output_mode": list(OUTPUT_MODES),
            "init": list(INITS),
            "dtype": list(DTYPES),
            "bias": list(BIASES),
        },
        model_defaults=defaults,
        model_bounds=_bounds(),
        cell_fields={name: list(cells) for name, cells in CELL_FIELDS.items()},
        training={"optimizer": list(OPTIMISERS), "schedule": list(SCHEDULES)},
        limits={name: getattr(settings, name) for name in _LIMITS},
    )


def _bounds() -> dict[str, dict[str, int | float]]:
    """Each numeric ModelConfig field's bounds, read off its pydantic constraints: min / max
    inclusive, exclusive_min / exclusive_max."""
    names = {
        annotated_types.Ge: ("min", "ge"),
        annotated_types.Le: ("max", "le"),
        annotated_types.Gt: ("exclusive_min", "gt"),
        annotated_types.Lt: ("exclusive_max", "lt"),
    }
    bounds: dict[str, dict[str, int | float]] = {}
    for name, field in ModelConfig.model_fields.items():
        for constraint in field.metadata:
            if type(constraint) in names:
                key, attribute = names[type(constraint)]
                bounds.setdefault(name, {})[key] = getattr(constraint, attribute)
    return bounds
