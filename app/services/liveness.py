"""Whether the worker process named in a session's row is still the one that wrote it."""

import os
import socket
from pathlib import Path

__all__ = ["owner_alive", "process_identity"]


def process_identity(pid: int) -> str | None:
    """What tells process `pid` from a later one given the same pid (a restarted container):
    this boot's id and the process's start time in clock ticks (/proc/<pid>/stat, field 22).
    None where /proc does not say."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (the command) is in parentheses and may hold spaces: count from its end.
    fields = stat.rpartition(")")[2].split()
    return f"{boot}.{fields[19]}" if len(fields) > 19 else None


def owner_alive(owner: str) -> bool | None:
    """True/False when `owner` (host:pid:token[:identity]) ran on this host, else None. A live
    pid whose identity is not the recorded one is another process: the owner is gone."""
    host, pid_text, _, identity = ([*owner.split(":", 3), "", "", ""])[:4]
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if identity:
        return process_identity(int(pid_text)) == identity
    return True
