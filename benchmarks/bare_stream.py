"""The reference for the stream's frames/s: a bare FastAPI WebSocket sending given frames.

`uvicorn benchmarks.bare_stream:app` with `BARE_STREAM_FRAMES` naming a file of the frames, one
JSON text per line (as the service sent them; a binary message as "b64:" and its base64). On each
socket it waits for one command, then sends every frame (`send_text`, or `send_bytes` for a binary
one) as fast as the transport takes them: no pass, no encoding, no queue — the floor that FastAPI,
uvicorn and the websockets protocol set for the same bytes.
"""

import base64
import os
from pathlib import Path

from fastapi import FastAPI, WebSocket

app = FastAPI()
_FRAMES: list[str | bytes] = [
    base64.b64decode(line[4:]) if line.startswith("b64:") else line
    for line in Path(os.environ.get("BARE_STREAM_FRAMES", "/dev/null")).read_text().splitlines()
]


@app.get("/api/v1/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.websocket("/stream")
async def stream(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.receive_text()
    for frame in _FRAMES:
        if isinstance(frame, bytes):
            await websocket.send_bytes(frame)
        else:
            await websocket.send_text(frame)
    await websocket.close()
