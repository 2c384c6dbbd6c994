"""Schemathesis fuzzes the live app through its own OpenAPI document.

Every operation gets a bounded number of generated requests (a fixed seed, so a failure
reproduces), in all four phases: the schema's examples, boundary coverage, random fuzzing and
stateful sequences (create a model, then call its routes with the id). Every check runs but one:
`positive_data_acceptance` expects every schema-valid body to be accepted, and no JSON Schema can
say "inputs must have the model's D columns" — a shape that depends on a stored model is checked by
the server and answered with a 422 naming the field, which is the behaviour we want.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import LiveServer

SEED = 20261123
MAX_EXAMPLES = 30


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Small model bounds keep each generated request cheap; the bounds themselves are fuzzed.
    with LiveServer(
        tmp_path_factory.mktemp("fuzz") / "data",
        max_hidden_size=64,
        max_input_size=32,
        max_output_size=32,
        max_steps=100,
        max_training_steps=200,
    ) as live:
        yield live


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    server: LiveServer, tmp_path: Path
) -> None:
    report = tmp_path / "schemathesis.xml"
    command = [
        str(Path(sys.executable).parent / "st"),
        "run",
        f"{server.base_url}/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
        cwd=tmp_path,
    )
    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary
    assert "Tested:" in result.stdout, summary
    assert "Traceback" not in server.log()
