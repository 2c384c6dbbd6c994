"""Presets: the classic tutorials' models and training configs, one request away."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.web.arrays import to_list
from app.web.deps import TasksDep
from app.web.schemas.common import ERROR_RESPONSES
from app.web.schemas.tasks import PresetExample, PresetInfo

router = APIRouter(prefix="/api/v1/presets", tags=["tasks"], responses=ERROR_RESPONSES)


@router.get("")
def list_presets(tasks: TasksDep) -> list[PresetInfo]:
    """Every preset: create its `model`, then POST its `training` to .../train."""
    return [PresetInfo(**preset) for preset in tasks.presets()]


@router.get("/{name}")
def get_preset(name: str, tasks: TasksDep) -> PresetInfo:
    return PresetInfo(**tasks.describe_preset(name))


@router.get("/{name}/example", response_model=PresetExample)
def preset_example(
    name: str, tasks: TasksDep, seed: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0
) -> dict[str, Any]:
    """Random inputs of a shapes-only preset's tutorial shape (422 for a training preset)."""
    inputs = tasks.preset_example(name, seed)
    config = tasks.preset(name).model
    return {"preset": name, "seed": seed, "inputs": to_list(inputs), "config": config}
