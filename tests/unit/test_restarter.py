"""The restart policy of supervised services: capped exponential backoff, reset once stable."""
from __future__ import annotations

import json

from hellohome.config import load_settings
from hellohome.stack import supervisor
from hellohome.stack.restarter import Restarter


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _restarter(tmp_path, clock):
    settings = load_settings(stack_dir=tmp_path, supervise_backoff_max_s=8, supervise_stable_s=60)
    supervisor.home(settings).mkdir(parents=True)
    started = []
    return settings, Restarter(settings, start=started.append, clock=clock), started


def _crash(restarter, name="indexer"):
    return restarter.on_event("PROCESS_STATE_EXITED", {"processname": name, "expected": "0", "pid": "1"})


def test_backoff_doubles_up_to_the_cap_and_resets_after_a_stable_run(tmp_path):
    clock = Clock()
    settings, restarter, _ = _restarter(tmp_path, clock)
    delays = []
    for _ in range(6):  # crashes that each come right after the restart
        restarter.on_event("PROCESS_STATE_RUNNING", {"processname": "indexer"})
        delays.append(_crash(restarter))
        clock.now += 5
    assert delays == [1, 2, 4, 8, 8, 8]
    restarter.on_event("PROCESS_STATE_RUNNING", {"processname": "indexer"})
    clock.now += 61  # up past supervise_stable_s: the next crash is a first one again
    assert _crash(restarter) == 1
    assert json.loads((supervisor.home(settings) / "restarts.json").read_text()) == {"indexer": 7}


def test_only_unexpected_exits_and_fatal_starts_are_restarted(tmp_path):
    _, restarter, _ = _restarter(tmp_path, Clock())
    assert restarter.on_event("PROCESS_STATE_EXITED", {"processname": "api", "expected": "1"}) is None
    assert restarter.on_event("PROCESS_STATE_FATAL", {"processname": "api"}) == 1
    assert restarter.on_event("PROCESS_STATE_EXITED", {"processname": supervisor.LISTENER, "expected": "0"}) is None
    assert restarter.counts == {"api": 1}


def test_a_restart_calls_supervisord_after_the_delay(tmp_path):
    _, restarter, started = _restarter(tmp_path, Clock())
    restarter._restart("enricher")
    assert started == ["enricher"]
