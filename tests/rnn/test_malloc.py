"""Importing the engine keeps freed memory for reuse (glibc only), unless the process brought its
own malloc settings: counted in page faults of a fresh interpreter."""

import os
import platform
import subprocess
import sys

import pytest

# Six 8 MiB arrays alive at once, freed, and asked for again: by default glibc gives the freed
# top of its heap back to the kernel and the next round faults every page in again.
ROUNDS = """
import resource
import numpy as np
import app.rnn
faults = []
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    arrays = [np.ones(2**20) for _ in range(6)]
    del arrays
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(min(faults[1:]))
"""

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")


def faults_per_round(**environment: str) -> int:
    env = {**os.environ, **environment}
    for name in ("GLIBC_TUNABLES", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"):
        if name not in environment:
            env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", ROUNDS], capture_output=True, text=True, check=True, env=env
    )
    return int(result.stdout)


@glibc_only
def test_the_engine_keeps_freed_arrays_mapped_for_the_next_round() -> None:
    assert faults_per_round() < 50  # thousands a round when they are given back (below)


@glibc_only
def test_the_processs_own_malloc_settings_are_left_alone() -> None:
    # glibc's default trim threshold, given explicitly: the engine must not replace it.
    assert faults_per_round(MALLOC_TRIM_THRESHOLD_=str(128 * 1024)) > 1_000


def test_keep_freed_memory_does_nothing_outside_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.rnn import malloc

    monkeypatch.setattr(platform, "libc_ver", lambda: ("", ""))
    assert malloc.keep_freed_memory() is False
