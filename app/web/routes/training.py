"""Training sessions: start one on a model, then pause, resume, step, stop and read it."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.services.training import Action
from app.web.body import json_body, json_body_doc
from app.web.deps import CallerDep, ManagedSession, OwnedModel, TrainingDep, VisibleSession
from app.web.owners import can_manage
from app.web.schemas.common import ERROR_RESPONSES
from app.web.schemas.training import SessionHistory, SessionInfo, TrainRequest
from app.web.sessions import session_info, start_session

router = APIRouter(prefix="/api/v1", tags=["training"], responses=ERROR_RESPONSES)

TrainBody = Annotated[TrainRequest, json_body(TrainRequest)]


@router.post(
    "/models/{model_id}/train",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=json_body_doc(TrainRequest),
)
def start_training(
    model_id: str, training: TrainingDep, body: TrainBody, _: OwnedModel
) -> SessionInfo:
    """Start a session on a task (fields left out take the task's `default_training`) or on
    the given data. It trains in the background; 429 when `max_sessions` are active."""
    return session_info(start_session(training, model_id, body), training)


@router.get("/training")
def list_sessions(
    training: TrainingDep, caller: CallerDep, model_id: Annotated[str | None, Query()] = None
) -> list[SessionInfo]:
    """The caller's sessions (every one for the instructor; of one model with `?model_id=`),
    oldest first."""
    return [
        session_info(record, training)
        for record in training.list_all(model_id)
        if can_manage(caller, record.owner_id)
    ]


@router.get("/training/{session_id}")
def get_session(record: VisibleSession, training: TrainingDep) -> SessionInfo:
    """Status, step, control and the latest progress record, from any worker."""
    return session_info(record, training)


@router.get("/training/{session_id}/history")
def get_history(
    session_id: str,
    training: TrainingDep,
    _: VisibleSession,
    after_step: Annotated[int, Query(ge=-1, le=2**53)] = -1,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> SessionHistory:
    """Progress records after `after_step`, step ascending (page with `last_step`)."""
    records = training.history(session_id, after_step, limit)
    last = int(records[-1]["step"]) if records else after_step
    return SessionHistory(session=session_id, records=records, last_step=last)


def _control(action: Action, summary: str) -> None:
    def endpoint(session_id: str, training: TrainingDep, _: ManagedSession) -> SessionInfo:
        return session_info(training.control(session_id, action), training)

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
