"""Training sessions: start one on a model, then pause, resume, step, stop and read it."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import TrainingDep
from app.api.schemas import ERROR_RESPONSES, SessionHistory, SessionInfo, TrainRequest
from app.api.strictjson import StrictJSONRoute

router = APIRouter(
    prefix="/api/v1",
    tags=["training"],
    route_class=StrictJSONRoute,
    responses=ERROR_RESPONSES,
)


@router.post("/models/{model_id}/train", status_code=status.HTTP_202_ACCEPTED)
def start_training(model_id: str, body: TrainRequest, training: TrainingDep) -> SessionInfo:
    """Start a session on a task (fields left out take the task's `default_training`) or on
    the given data. It trains in the background; 429 when `max_sessions` are active."""
    return training.start(model_id, body)


@router.get("/training")
def list_sessions(
    training: TrainingDep, model_id: Annotated[str | None, Query()] = None
) -> list[SessionInfo]:
    """Every session (of one model with `?model_id=`), oldest first."""
    return training.list_all(model_id)


@router.get("/training/{session_id}")
def get_session(session_id: str, training: TrainingDep) -> SessionInfo:
    """Status, step, control and the latest progress record, from any worker."""
    return training.status(session_id)


@router.get("/training/{session_id}/history")
def get_history(
    session_id: str,
    training: TrainingDep,
    after_step: Annotated[int, Query(ge=-1, le=2**53)] = -1,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> SessionHistory:
    """Progress records after `after_step`, step ascending (page with `last_step`)."""
    return training.history(session_id, after_step, limit)


def _control(action: str, summary: str) -> None:
    def endpoint(session_id: str, training: TrainingDep) -> SessionInfo:
        return training.control(session_id, action)

    endpoint.__doc__ = summary
    router.add_api_route(
        f"/training/{{session_id}}/{action}",
        endpoint,
        methods=["POST"],
        name=f"{action}_session",
        response_model=SessionInfo,
    )


_control("pause", "Pause after the current update (a snapshot is saved).")
_control("resume", "Continue a paused session, or an interrupted one from its snapshot.")
_control("step", "Make one update and pause (resumes an interrupted session for it).")
_control("stop", "Stop for good; the weights reached are kept. 409 once finished.")
