"""The reference for the stream's frames/s: a bare FastAPI WebSocket sending given frames.

`uvicorn benchmarks.bare_stream:app` with `BARE_STREAM_FRAMES` naming a file of the frames, one
JSON text per line (as the service sent them). On each socket it waits for one command, then sends
every frame with `send_text` as fast as the transport takes them: no pass, no encoding, no queue
— the floor that FastAPI, uvicorn and the websockets protocol set for the same bytes.
"""

import os
from pathlib import Path

from fastapi import FastAPI, WebSocket

app = FastAPI()
_FRAMES = Path(os.environ.get("BARE_STREAM_FRAMES", "/dev/null")).read_text().splitlines()


@app.get("/api/v1/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.websocket("/stream")
async def stream(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.receive_text()
    for text in _FRAMES:
        await websocket.send_text(text)
    await websocket.close()
