"""The WebSocket stream of a model: per-timestep frames and live training metrics."""

from fastapi import APIRouter, WebSocket

from app.web.deps import caller_of, models_of, settings_of, tasks_of, training_of
from app.web.stream import StreamConnection

router = APIRouter(tags=["stream"])


@router.websocket("/api/v1/models/{model_id}/stream")
async def stream(websocket: WebSocket, model_id: str) -> None:
    """Protocol v1: see the StreamCommand and StreamFrame schemas and docs/api.md."""
    connection = StreamConnection(
        websocket,
        model_id,
        models=models_of(websocket),
        settings=settings_of(websocket),
        stats=websocket.app.state.stream_stats,
        sampler=tasks_of(websocket).sampler,
        training=training_of(websocket),
        caller=caller_of(websocket),
    )
    await connection.serve()
