"""The ASGI application `app.main:app`, built by `app.web.application.create_app()`.

Each worker process imports this module. Its thread pool computes (parsing a large body, a long
pass) while the event loop's thread answers everyone else; every time the loop waits on its
sockets the pool takes the GIL back, and by default the loop then waits up to 5 ms to regain it,
several times per request. A 1 ms switch interval keeps a small request fast beside a large one.
"""

import sys

from app.web.application import create_app

__all__ = ["app", "create_app"]

sys.setswitchinterval(0.001)
app = create_app()
