"""Files written so that a crash leaves either the old file or the new one, whole."""

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["atomic_write", "remove_files", "remove_orphans"]

logger = logging.getLogger(__name__)


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


def remove_orphans(folders: Iterable[tuple[Path, set[str]]], before: float) -> list[Path]:
    """In each (folder, names kept): remove the temp files of unfinished writes (`.<name>.*.tmp`)
    and the `<name>.safetensors` whose name is not kept, if last modified before `before` (a
    time: a write another live process is making now is never touched). Returns what went."""
    removed = []
    for folder, keep in folders:
        for path in folder.iterdir():
            name = path.name
            temp = name.startswith(".") and name.endswith(".tmp")
            stray = name.endswith(".safetensors") and name.removesuffix(".safetensors") not in keep
            if not path.is_file() or not (temp or stray):
                continue
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < before:
                    path.unlink()
                    removed.append(path)
    return removed


def remove_files(paths: Iterable[Path]) -> None:
    """Remove `paths` (absent ones are fine); one that cannot go is logged and left to the orphan
    sweep, which removes files without a row."""
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            logger.warning("could not remove %s (%s): the orphan sweep will retry", path, error)
