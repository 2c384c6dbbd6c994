"""A real PostgreSQL server for the tests: Debian's package (scripts/test.sh installs it), run as
the `postgres` system user (it refuses root) on a data folder of the test run, a free loopback
port, its socket in /tmp; a role with a password (scram-sha-256 over TCP), and a fresh database
for each test that asks for one."""

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.servers import free_port

ROLE, PASSWORD = "rnn", "pg-test-password-5f1c"


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed: scripts/test.sh installs it (apt-get install -y "
            "postgresql)"
        )
    return Path(found[-1]).parent


def _runuser() -> str:
    """util-linux's runuser, found in the sbin folders too (a root shell's PATH may lack them)."""
    found = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
    if found is None:
        raise RuntimeError("runuser (util-linux) is needed to run PostgreSQL as its own user")
    return found


@dataclass
class Postgres:
    """One server: `url(name)` is the URL of a database on it, as the app's setting takes it."""

    folder: Path
    port: int
    socket_dir: Path
    bin: Path

    def _as_postgres(self, *command: str) -> subprocess.CompletedProcess[str]:
        prefix = [] if os.geteuid() != 0 else [_runuser(), "-u", "postgres", "--"]
        return subprocess.run(
            [*prefix, *command], check=True, capture_output=True, text=True, timeout=120
        )

    def start(self) -> None:
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.folder / "data"),
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=300",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", mode, "-w", "stop"
        )

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, user="postgres", autocommit=True
        )

    def url(self, database: str) -> str:
        return f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        name = f"test_{uuid.uuid4().hex[:12]}"
        with self.admin() as db:
            db.execute(f"CREATE DATABASE {name} OWNER {ROLE}")
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as db:
            db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


def start_postgres() -> Postgres:
    """initdb, start, create the role; the caller stops it (`stop`) and removes `folder`."""
    folder = Path(tempfile.mkdtemp(prefix="rnn-explorer-pg-"))
    socket_dir = Path(tempfile.mkdtemp(prefix="rnn-pg-sock-", dir="/tmp"))
    server = Postgres(folder, free_port(), socket_dir, _binaries())
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in (folder, socket_dir):
            os.chown(path, user.pw_uid, user.pw_gid)
    server._as_postgres(
        str(server.bin / "initdb"),
        "-D",
        str(folder / "data"),
        "-U",
        "postgres",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "-E",
        "UTF8",
    )
    server.start()
    with server.admin() as db:
        db.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
    return server


def remove(server: Postgres) -> None:
    with contextlib.suppress(subprocess.CalledProcessError):
        server.stop("immediate")
    shutil.rmtree(server.folder, ignore_errors=True)
    shutil.rmtree(server.socket_dir, ignore_errors=True)
