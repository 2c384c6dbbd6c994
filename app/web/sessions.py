"""Training sessions between the API and the service: a TrainRequest started (by POST
.../train and by the stream's train command), a session's row as the API shows it."""

from app.services.training import TrainingService
from app.store import SessionRecord
from app.web.arrays import to_array
from app.web.schemas.training import SessionInfo, TrainRequest

__all__ = ["session_info", "start_session"]


def session_info(record: SessionRecord, training: TrainingService) -> SessionInfo:
    latest = record.latest or {}
    reason = latest.get("reason")
    if record.status == "interrupted":
        reason = f"interrupted at step {record.step}: its worker ended; resume continues it"
    elif reason is None and record.status == "stopped":
        reason = f"stopped by request at step {record.step}"
    return SessionInfo(
        id=record.id,
        model_id=record.model_id,
        status=record.status,
        control=record.control,
        step=record.step,
        steps=record.total_steps,
        resumable=record.status == "interrupted",
        worker=record.owner,
        created_at=record.created_at,
        updated_at=record.updated_at,
        training=record.config,
        latest=record.latest,
        error=record.error,
        reason=reason,
        metrics=training.describe_metrics(record),
    )


def start_session(training: TrainingService, model_id: str, body: TrainRequest) -> SessionRecord:
    """Start the session a TrainRequest asks for (POST .../train, the stream's train)."""
    data = None
    if body.data is not None:
        data = (
            to_array(body.data.inputs, "data.inputs", (2, 3)),
            to_array(body.data.targets, "data.targets", (0, 1, 2, 3)),
        )
    fields = body.model_dump(exclude_unset=True, exclude={"data", "start_paused", "type"})
    return training.start(model_id, fields, data, body.start_paused)
