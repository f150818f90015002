"""`down` leaves nothing of ours running; a second `up` works from the cache, without Maven;
supervised services come back after a crash, and only then."""
import json
import os
import signal
import time

import psutil
import pytest

from hellohome.stack import artifacts, services, supervisor


def _project_processes(settings):
    """Processes whose command line points into our stack or cache folders."""
    roots = (str(settings.stack_dir), str(settings.cache_dir))
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if any(root in cmdline for root in roots) and proc.pid != psutil.Process().pid:
            found.append((proc.pid, cmdline[:120]))
    return found


def test_down_stops_everything_then_up_works_offline(stack, monkeypatch):
    stopped = dict(services.down(stack))
    assert all(stopped.values()), stopped
    assert _project_processes(stack) == []
    assert not any(r["healthy"] for r in services.status(stack))

    def no_network(*args, **kwargs):
        pytest.fail(f"second up tried to download: {args}")

    monkeypatch.setattr(artifacts, "_maven", no_network)
    took = services.up(stack)
    assert all(r["healthy"] for r in services.status(stack))
    assert all(seconds > 0 for seconds in took.values())  # each really started again


def test_up_when_up_is_a_noop(stack):
    pids = {r["service"]: r["pid"] for r in services.status(stack)}
    took = services.up(stack)
    assert set(took.values()) == {0.0}
    assert {r["service"]: r["pid"] for r in services.status(stack)} == pids


def test_a_supervised_service_that_dies_is_restarted_and_counted(stack):
    """kill -9 of the indexer: supervisord sees an unexpected exit, the restarter starts it again
    after its backoff, `stack status` counts the restart and the restarter logs it."""
    indexer = services.get("indexer")
    before = indexer.status(stack)
    assert before["healthy"] and before["pid"]
    os.kill(before["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        after = indexer.status(stack)
        if after["healthy"] and after["pid"] not in (None, before["pid"]):
            break
        time.sleep(0.5)
    assert after["healthy"] and after["pid"] != before["pid"], after
    assert after["restarts"] == before["restarts"] + 1
    log = (supervisor.home(stack) / "restarter.log").read_text().splitlines()
    restarted = [json.loads(line) for line in log if '"service exited unexpectedly' in line]
    assert restarted[-1]["service"] == "indexer" and restarted[-1]["pid"] == str(before["pid"])


def test_a_service_stopped_on_purpose_stays_stopped(stack):
    api = services.get("api")
    assert api.stop(stack)
    time.sleep(3)  # longer than the first backoff: a restart would have happened
    assert api.status(stack)["pid"] is None and not api.health(stack)
    assert api.start(stack) > 0 and api.health(stack)
