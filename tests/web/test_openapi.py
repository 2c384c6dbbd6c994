"""Schemathesis fuzzes the live app through its own OpenAPI document.

Every operation gets a bounded number of generated requests (a fixed seed, so a failure
reproduces), in all four phases: the schema's examples, boundary coverage, random fuzzing and
stateful sequences (create a model, then call its routes with the id). Every check runs on every
operation, with one exception: `positive_data_acceptance` (every schema-valid request is
accepted) is left out for the operations whose accepted bodies depend on what is stored or
uploaded, which no JSON Schema can say — `inputs` must have the stored model's D columns and
`targets` its output's shape (forward, backward, connectivity, train), a generated text's
prefix the model's characters and the model a character model (generate), and an imported
file must be a safetensors file whose tensors fit the config (import). The server answers those
with a 422 naming the field, which is the behaviour we want. One more is left out: a task
sample's `params` in a POST body, whose accepted keys and bounds are those of the task named in
the path (one operation serves every task), and whose accepted values depend on each other and
on text contents (a char_lm text longer than `seq_len`, a `csv` that parses with more rows than
`window + horizon`, a memory task's T = 2·symbols + length within `max_steps`). Every name in
NOT_SAID_BY_A_SCHEMA is one of these.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import LiveServer

SEED = 20261123
# Schemathesis keeps no cookie between requests: it calls as the instructor, who may use every
# model it creates (tests/web/test_owners.py covers what other owners may not).
INSTRUCTOR = "schemathesis-instructor-token"
MAX_EXAMPLES = 30


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Small model bounds keep each generated request cheap; the bounds themselves are fuzzed.
    # max_input_size holds the built-in tasks' defaults (char_lm's 53 characters): a GET of a
    # task's or a preset's default sample is schema-valid and must be answered.
    with LiveServer(
        tmp_path_factory.mktemp("fuzz") / "data",
        instructor_token=INSTRUCTOR,
        max_hidden_size=64,
        max_input_size=64,
        max_output_size=32,
        max_steps=100,
        max_training_steps=200,
    ) as live:
        yield live


# The operations whose accepted bodies depend on a stored model or an uploaded file; and one
# the schema does not say yet: POST /tasks/{name}/sample's `params` are the named task's own,
# which one request schema for every task cannot state (GET takes no free parameters).
NOT_SAID_BY_A_SCHEMA = [
    "forward_api_v1_models__model_id__forward_post",
    "backward_api_v1_models__model_id__backward_post",
    "connectivity_api_v1_models__model_id__connectivity_post",
    "start_training_api_v1_models__model_id__train_post",
    "generate_api_v1_models__model_id__generate_post",
    "import_model_api_v1_models_import_post",
    "sample_task_with_params_api_v1_tasks__name__sample_post",
]


@pytest.mark.parametrize(
    "selection",
    [
        ["--checks", "all", "--exclude-checks", "positive_data_acceptance"],
        [
            "--checks",
            "positive_data_acceptance",
            *(f"--exclude-operation-id={name}" for name in NOT_SAID_BY_A_SCHEMA),
        ],
    ],
    ids=["every-check-but-acceptance", "acceptance-where-a-schema-can-say-it"],
)
def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    server: LiveServer, tmp_path: Path, selection: list[str]
) -> None:
    report = tmp_path / "schemathesis.xml"
    command = [
        str(Path(sys.executable).parent / "st"),
        "run",
        f"{server.base_url}/openapi.json",
        *selection,
        "--header",
        f"Authorization: Bearer {INSTRUCTOR}",
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
    # the failures first (each with its request and answer), then the summary
    failures = result.stdout.partition("FAILURES")[2].partition("WARNINGS")[0]
    summary = failures[:8000] + "\n…\n" + result.stdout[-2000:]
    assert result.returncode == 0, summary
    assert "Tested:" in result.stdout, summary
    assert "Traceback" not in server.log()
