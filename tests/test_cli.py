import sqlite3
import subprocess
import sys

import httpx2

from tests.servers import free_port, wait_until_healthy


def test_help_lists_host_port_workers_and_data_dir() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "--help"], capture_output=True, text=True, check=True
    )
    for option in ("--host", "--port", "--workers", "--data-dir"):
        assert option in result.stdout


def test_the_command_serves_the_app_on_the_given_port_and_data_dir(tmp_path) -> None:
    port = free_port()
    data_dir = tmp_path / "explorer-data"
    command = [sys.executable, "-m", "app", "--port", str(port), "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        config = {"input_size": 1, "hidden_size": 2, "output_size": 1}
        created = httpx2.post(f"{url}/api/v1/models", json={"config": config})
        assert created.status_code == 201
    finally:
        process.terminate()
        process.wait(30)
    assert (data_dir / "rnn-explorer.sqlite3").is_file()
    with sqlite3.connect(data_dir / "rnn-explorer.sqlite3") as db:  # its weights in the file
        rows = db.execute("SELECT model_id FROM weights").fetchall()
    assert rows == [(created.json()["id"],)]
