"""Tasks: the built-in sequence tasks, their parameters, default configs and samples."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from app.services.tasks import DrawnSample, finite
from app.web.arrays import to_list
from app.web.body import json_body, json_body_doc
from app.web.deps import TasksDep
from app.web.schemas.common import ERROR_RESPONSES
from app.web.schemas.tasks import SampleRequest, TaskInfo, TaskSample

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"], responses=ERROR_RESPONSES)

SampleBody = Annotated[SampleRequest, json_body(SampleRequest)]

_RESERVED = ("seed", "batch_size")


def _sample_answer(drawn: DrawnSample) -> dict[str, Any]:
    sample = drawn.sample

    def answer(array: Any) -> Any:
        return to_list(array if drawn.batched else array[0])

    return {
        "task": drawn.task,
        "seed": drawn.seed,
        "inputs": answer(sample.inputs),
        "targets": answer(sample.targets),
        "meta": finite(sample.meta),
        "config": drawn.config,
    }


@router.get("")
def list_tasks(tasks: TasksDep) -> list[TaskInfo]:
    """Every built-in task with its parameters (bounds included) and default configs."""
    return [TaskInfo(**task) for task in tasks.list_all()]


@router.get("/{name}")
def get_task(name: str, tasks: TasksDep) -> TaskInfo:
    return TaskInfo(**tasks.describe(name))


@router.get("/{name}/sample", response_model=TaskSample)
def sample_task(
    name: str,
    request: Request,
    tasks: TasksDep,
    seed: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    batch_size: Annotated[
        int | None, Query(ge=1, description="absent: one sequence without a batch axis")
    ] = None,
) -> dict[str, Any]:
    """One example (inputs, targets) drawn from `seed`; any other query parameter is one of
    the task's parameters (e.g. `?seed=3&length=20`)."""
    query = {k: v for k, v in request.query_params.items() if k not in _RESERVED}
    params = tasks.query_params(name, query)
    return _sample_answer(tasks.sample(name, seed, batch_size, params))


@router.post(
    "/{name}/sample", response_model=TaskSample, openapi_extra=json_body_doc(SampleRequest)
)
def sample_task_with_params(name: str, tasks: TasksDep, body: SampleBody) -> dict[str, Any]:
    """Like GET, with the parameters in a JSON body (for text parameters such as a corpus)."""
    return _sample_answer(tasks.sample(name, body.seed, body.batch_size, body.params))
