"""One BLAS thread while training: on a shared two-core machine OpenBLAS's worker threads spin
against every other process, and a 9-second training run takes 110 seconds (measured). The
limit is set through OpenBLAS's own entry point, since numpy is loaded before this file is."""

import ctypes
from collections.abc import Iterator

import numpy as np  # noqa: F401  (loads the BLAS library whose thread count is set here)
import pytest

_SETTERS = ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_")
_GETTERS = ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_")


def _openblas() -> ctypes.CDLL | None:
    with open("/proc/self/maps", encoding="utf-8") as maps:
        paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    for path in sorted(paths):
        library = ctypes.CDLL(path)
        if any(hasattr(library, name) for name in _SETTERS):
            return library
    return None


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread() -> Iterator[None]:
    try:
        library = _openblas()
    except OSError:
        library = None
    if library is None:
        yield
        return
    setter = next(getattr(library, n) for n in _SETTERS if hasattr(library, n))
    getter = next((getattr(library, n) for n in _GETTERS if hasattr(library, n)), None)
    before = int(getter()) if getter is not None else None
    setter(1)
    yield
    if before is not None:
        setter(before)
