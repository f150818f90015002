"""The CLI gives help for every command and clear, non-zero errors."""
import subprocess
import sys

import pytest

COMMANDS = [[], ["up"], ["down"], ["load"], ["generate"], ["summary"], ["stack"], ["stack", "up"], ["stack", "down"],
            ["stack", "status"], ["stack", "logs"], ["db"], ["db", "migrate"], ["db", "downgrade"], ["db", "current"],
            ["index"], ["index", "create"], ["index", "list"], ["index", "swap"], ["index", "drop"]]


def _run(*args):
    return subprocess.run([sys.executable, "-m", "hellohome", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_every_command_has_help(command):
    result = _run(*command, "--help")
    assert result.returncode == 0 and "Usage" in result.stdout


def test_unknown_dataset_is_named(stack):
    result = _run("load", "paris")
    assert result.returncode == 2 and "dataset: unknown 'paris'" in result.stderr


def test_missing_file_is_named(stack, tmp_path):
    result = _run("load", "nyc", "--path", str(tmp_path / "nope.csv"))
    assert result.returncode == 2 and "nope.csv: no such file" in result.stderr


def test_status_and_summary(loaded_db):
    status = _run("stack", "status", "--json")
    assert status.returncode == 0 and '"healthy": true' in status.stdout
    summary = _run("summary")
    assert summary.returncode == 0 and "nyc_airbnb_2019" in summary.stdout
