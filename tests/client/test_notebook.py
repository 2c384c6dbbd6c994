"""docs/client.ipynb runs from top to bottom against a live server, as a user runs it."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.servers import ROOT, LiveServer


def test_the_client_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = nbformat.read(ROOT / "docs" / "client.ipynb", as_version=4)
    with LiveServer(tmp_path / "data") as server:
        monkeypatch.setenv("RNN_EXPLORER_URL", server.base_url)  # the kernel inherits it
        NotebookClient(
            notebook,
            timeout=300,
            kernel_name="python3",
            resources={"metadata": {"path": str(ROOT)}},
        ).execute()
    outputs = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(output.get("output_type") != "error" for cell in outputs for output in cell.outputs)
    shown = outputs[-1].outputs[0]["data"]
    # the last cell shows the page: an IFrame of the server's share link, with the inputs
    assert "<iframe" in shown["text/html"] and "share=" in shown["text/html"]
    assert "#inputs=" in shown["text/html"]
