"""RNN Explorer's Python client: the server's API from a script or a notebook (docs/client.md)."""

from rnn_explorer.client import ApiError, Client
from rnn_explorer.trace_format import decode_trace

__all__ = ["ApiError", "Client", "decode_trace"]
