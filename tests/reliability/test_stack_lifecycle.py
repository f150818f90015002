"""`down` leaves nothing of ours running; a second `up` works from the cache, without Maven."""
import psutil
import pytest

from hellohome.stack import artifacts, services


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
