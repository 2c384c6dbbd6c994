"""Storage faults as answers: a full or read-only data directory named, with its cause.

A write that fails because the file system is full (ENOSPC, EDQUOT, SQLITE_FULL) or cannot be
written (EROFS, EACCES, EPERM, SQLITE_READONLY) becomes a `StorageError` whose message names the
path and the cause; the web layer answers it 507 (full) or 503 (read-only). What the error says
is checked against the file system itself (`statvfs`), since SQLite reports a full disk as an
I/O error when the shared-memory file cannot grow. A database server that is down or restarting
is the fault "unavailable" (503, with Retry-After), named by its URL without the password.
"""

import errno
import os
import sqlite3
from pathlib import Path
from typing import Literal

__all__ = ["Fault", "StorageError", "diagnose", "fault_of_directory"]

Fault = Literal["full", "read-only", "unavailable"]

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}


class StorageError(OSError):
    """A write the data directory refused, or a database that cannot be reached. `fault` is
    "full", "read-only" or "unavailable"; `path` the file or folder (or the database's URL,
    without its password); `cause` what the system said; `status_code` 507 (full) or 503;
    `retry_after` seconds for an unavailable database (else None)."""

    def __init__(self, fault: Fault, path: Path | str, cause: str) -> None:
        self.fault: Fault = fault
        self.path = path
        self.cause = cause
        self.status_code = 507 if fault == "full" else 503
        self.retry_after: int | None = 1 if fault == "unavailable" else None
        if fault == "unavailable":
            message = (
                f"the database {path} is unavailable: {cause}: the request was not carried "
                "out; retry in a moment"
            )
        else:
            what = "is full" if fault == "full" else "cannot be written (read-only)"
            hint = (
                ": delete models or sessions to free space"
                if fault == "full"
                else ": reads keep working; make it writable and restart, or wait for it"
            )
            message = f"the data directory {what}: {path}: {cause}{hint}"
        super().__init__(message)


def fault_of_directory(folder: Path | str) -> tuple[Fault, str] | None:
    """Whether `folder` (an existing directory) cannot take a write now, and why; None if it
    can. Read from the file system: its read-only flag, write permission, free blocks."""
    try:
        stats = os.statvfs(folder)
    except OSError as error:
        return "read-only", f"{error.strerror or error}"
    if stats.f_flag & os.ST_RDONLY:
        return "read-only", "the file system is mounted read-only"
    if not os.access(folder, os.W_OK):
        return "read-only", "no permission to write (check the directory's owner)"
    if stats.f_bavail == 0 or stats.f_favail == 0:
        return "full", "no space left on the device"
    return None


def diagnose(error: BaseException, path: Path, folder: Path) -> StorageError | None:
    """`error` as a StorageError about `path` if it is a storage fault (of the data directory
    `folder`), else None (a bug or an error of another kind: let it through)."""
    if isinstance(error, StorageError):
        return error
    if isinstance(error, OSError) and error.errno is not None:
        where = Path(error.filename) if error.filename else path
        cause = f"{error.strerror} ({errno.errorcode.get(error.errno, error.errno)})"
        if error.errno in _FULL_ERRNOS:
            return StorageError("full", where, cause)
        if error.errno in _READ_ONLY_ERRNOS:
            return StorageError("read-only", where, cause)
        return None
    if isinstance(error, sqlite3.OperationalError | sqlite3.DatabaseError):
        name = getattr(error, "sqlite_errorname", "") or ""
        if name == "SQLITE_FULL":
            return StorageError("full", path, f"{error} ({name})")
        if name.startswith("SQLITE_READONLY"):
            return StorageError("read-only", path, f"{error} ({name})")
        if name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")):
            found = fault_of_directory(folder)
            if found is not None:
                return StorageError(found[0], path, f"{found[1]} ({name}: {error})")
    return None
