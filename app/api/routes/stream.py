"""The WebSocket stream of a model: per-timestep frames and live training metrics."""

from fastapi import APIRouter, WebSocket

from app.api.deps import get_models, get_settings, get_store, get_training
from app.api.streaming import StreamConnection

router = APIRouter(tags=["stream"])


@router.websocket("/api/v1/models/{model_id}/stream")
async def stream(websocket: WebSocket, model_id: str) -> None:
    """Protocol v1: see the StreamCommand and StreamFrame schemas and docs/api.md."""
    state = websocket.app.state
    connection = StreamConnection(
        websocket,
        model_id,
        models=get_models(websocket),
        store=get_store(websocket),
        settings=get_settings(websocket),
        stats=state.stream_stats,
        sampler=state.sampler,
        training=get_training(websocket),
    )
    await connection.serve()
