"""The `rnn-explorer` command (also `python -m app`): start the server."""

import argparse
import os
from collections.abc import Sequence

import uvicorn

from app.settings import Settings


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
    uvicorn.run("app.main:app", host=args.host, port=args.port, workers=args.workers)
