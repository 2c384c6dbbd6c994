"""The `rnn-explorer` command (also `python -m app`): start the server."""

import argparse
import os
from collections.abc import Sequence

import uvicorn

from app.settings import Settings

# A message this much above max_request_bytes still reaches the app, which answers it with an
# error frame naming the setting.
WS_MARGIN_BYTES = 2**20


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="rnn-explorer",
        description="Serve RNN Explorer: watch a recurrent neural network compute, step by step.",
    )
    parser.add_argument(
        "--host", default=defaults.host, help="interface to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=defaults.port, help="TCP port (default: %(default)s)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=defaults.workers,
        help="uvicorn worker processes (default: %(default)s)",
    )
    parser.add_argument(
        "--data-dir",
        default=str(defaults.data_dir),
        help="where models and training history are stored (default: %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    # Workers are separate processes that build their own app from the environment.
    os.environ["RNN_EXPLORER_DATA_DIR"] = args.data_dir
    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        ws_max_size=ws_max_size(Settings()),
    )


def ws_max_size(settings: Settings) -> int:
    """What uvicorn lets through in one WebSocket message: the app's own bound (a command above
    max_request_bytes gets an error frame naming it) and a margin; larger ones close the socket
    with 1009 (uvicorn's default, 16 MiB, would hide a bound above it)."""
    return settings.max_request_bytes + WS_MARGIN_BYTES
