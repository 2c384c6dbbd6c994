import subprocess
import sys


def test_help_lists_host_port_workers_and_data_dir() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "--help"], capture_output=True, text=True, check=True
    )
    for option in ("--host", "--port", "--workers", "--data-dir"):
        assert option in result.stdout
