"""The web layer: routers, schemas, the stream; thin over app.rnn, app.tasks and app.training.

A worker computes several requests and training sessions at once, in threads, and the workers
are processes: a BLAS thread pool inside every matrix product only fights them for the same
cores. On a busy 2-core machine one B=32, T=100, H=128 forward + backward took 2.5 s with
OpenBLAS's own threads and 0.14 s with one, so the service asks for one BLAS thread unless the
environment says otherwise. This runs before NumPy is first imported by the app (uvicorn and
FastAPI do not import it), which is when the BLAS library reads these variables.
"""

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
