"""The WebSocket stream of a model: per-timestep frames and live training metrics."""

from fastapi import APIRouter, WebSocket

from app.settings import extra_origins
from app.web.crosssite import ORIGIN_REFUSED_CODE, origin_allowed
from app.web.deps import caller_of, models_of, settings_of, tasks_of, training_of
from app.web.stream import StreamConnection

router = APIRouter(tags=["stream"])


@router.websocket("/api/v1/models/{model_id}/stream")
async def stream(websocket: WebSocket, model_id: str) -> None:
    """Protocol v1: see the StreamCommand and StreamFrame schemas and docs/api.md."""
    origin = websocket.headers.get("origin")
    settings = settings_of(websocket)
    if not origin_allowed(origin, websocket.headers.get("host"), extra_origins(settings)):
        # Accepted only to say why: the close frame is the one frame another site's page gets.
        await websocket.accept()
        await websocket.close(
            code=ORIGIN_REFUSED_CODE,
            reason=f"origin {origin!r} is not allowed (RNN_EXPLORER_ALLOWED_ORIGINS)"[:123],
        )
        return
    connection = StreamConnection(
        websocket,
        model_id,
        models=models_of(websocket),
        settings=settings,
        slots=websocket.app.state.stream_slots,
        sampler=tasks_of(websocket).sampler,
        training=training_of(websocket),
        caller=caller_of(websocket),
    )
    await connection.serve()
