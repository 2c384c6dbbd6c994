"""The web layer: the only package that knows HTTP — routes, schemas, the stream, serialisation,
middleware, the page — thin over app.services.

A worker computes several requests and training sessions at once, in threads, and the workers
are processes: a BLAS thread pool inside every matrix product only fights them for the same
cores (benchmarks/SERVICE_RESULTS.md measures it), so the service asks for one BLAS thread unless
the environment says otherwise. This runs before NumPy is first imported by the app (uvicorn and
FastAPI do not import it), which is when the BLAS library reads these variables.
"""

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
