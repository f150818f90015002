"""The CLI gives help for every command and clear, non-zero errors."""
import os
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


def _run_env(env: dict, *args):
    return subprocess.run([sys.executable, "-m", "hellohome", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_a_schema_the_users_may_not_use_is_one_line_with_the_fix(stack):
    result = _run_env({"HH_DB_NAME": "notours_cli"}, "db", "migrate")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: MariaDB at 127.0.0.1:") and "schema `notours_cli`" in lines[0]
    assert "HH_DB_NAME=notours_cli hellohome stack up" in lines[0]
    debug = _run_env({"HH_DB_NAME": "notours_cli"}, "--debug", "db", "migrate")
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "OperationalError" in debug.stderr


def test_unreachable_services_and_bad_settings_are_one_line(stack, unused_tcp_port):
    down = _run_env({"HH_OPENSEARCH_PORT": str(unused_tcp_port)}, "index", "list")
    assert down.returncode == 2 and down.stderr.strip() == (
        f"error: OpenSearch at http://127.0.0.1:{unused_tcp_port} is not reachable; start the stack with "
        "`hellohome stack up`, or check HH_OPENSEARCH_HOST / _PORT")
    bad = _run_env({"HH_TEXT_VECTOR_DIM": "768"}, "summary")
    assert bad.returncode == 2 and bad.stderr.strip() == \
        "error: HH_TEXT_VECTOR_DIM=768 but HH_TEXT_MODEL=minilm gives 384-d vectors"
