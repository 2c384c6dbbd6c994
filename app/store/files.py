"""Files written so that a crash leaves either the old file or the new one, whole; and the files a
data directory of the version that kept arrays in files still holds."""

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["atomic_write", "remove_orphans"]


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a crash leaves either the old file or the new one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def remove_orphans(
    folders: Iterable[Path], before: float, in_database: set[str], with_rows: set[str]
) -> list[Path]:
    """In each folder: remove `<key>.safetensors` if `key` is `in_database` (its bytes are kept
    there), or if it has no row (not in `with_rows`) and was last modified before `before`; and
    the temp files of unfinished writes (`.<name>.*.tmp`) older than that. Returns what went."""
    removed = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            name = path.name
            if not path.is_file():
                continue
            key = name.removesuffix(".safetensors")
            temp = name.startswith(".") and name.endswith(".tmp")
            stray = name.endswith(".safetensors") and key not in with_rows
            with contextlib.suppress(FileNotFoundError):
                kept = name.endswith(".safetensors") and key in in_database
                if kept or ((temp or stray) and path.stat().st_mtime < before):
                    path.unlink()
                    removed.append(path)
    return removed
