"""supervisord event listener: restarts a supervised process that exited unexpectedly, after a
capped exponential backoff, and counts it (see stack/supervisor.py for why).

    [eventlistener:restarter] events=PROCESS_STATE_EXITED,PROCESS_STATE_FATAL,PROCESS_STATE_RUNNING

An exit is unexpected when supervisord says so (`expected:0`: the process ended by itself, not
through stopProcess). The n-th restart in a row waits 2^(n-1) s, at most HH_SUPERVISE_BACKOFF_MAX_S;
a process that stayed up HH_SUPERVISE_STABLE_S starts again from 1 s. Each restart is a JSON log
line, `hellohome_service_restarts_total{service}` on /metrics (HH_SUPERVISOR_METRICS_PORT) and a
count in restarts.json, which `hellohome stack status` shows.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
import time
import xmlrpc.client

from prometheus_client import Counter, start_http_server
from supervisor import childutils

from hellohome import logs
from hellohome.config import Settings, get_settings
from hellohome.stack import prometheus, supervisor

log = logging.getLogger("hellohome.restarter")
RESTARTS = Counter("hellohome_service_restarts_total", "Unexpected exits of a supervised service, restarted",
                   ["service"])


class Restarter:
    def __init__(self, settings: Settings, start=None, clock=time.monotonic):
        self.settings = settings
        self.start = start or (lambda name: supervisor.rpc(settings).startProcess(name, False))
        self.clock = clock
        self.in_a_row: dict[str, int] = {}
        self.up_since: dict[str, float] = {}
        self.counts = supervisor.restarts(settings)

    def delay(self, name: str) -> float:
        """Seconds to wait before restarting `name` now (and counts this restart in its run)."""
        if self.clock() - self.up_since.get(name, -1e9) >= self.settings.supervise_stable_s:
            self.in_a_row[name] = 0
        self.in_a_row[name] = self.in_a_row.get(name, 0) + 1
        return min(self.settings.supervise_backoff_max_s, 2.0 ** (self.in_a_row[name] - 1))

    def on_event(self, event: str, payload: dict[str, str]) -> float | None:
        """Handle one event; returns the restart delay when a restart was scheduled."""
        name = payload.get("processname", "")
        if name == supervisor.LISTENER:
            return None
        if event == "PROCESS_STATE_RUNNING":
            self.up_since[name] = self.clock()
            return None
        if event == "PROCESS_STATE_EXITED" and payload.get("expected") == "1":
            return None
        if event not in ("PROCESS_STATE_EXITED", "PROCESS_STATE_FATAL"):
            return None
        delay = self.delay(name)
        self.counts[name] = self.counts.get(name, 0) + 1
        RESTARTS.labels(name).inc()
        (supervisor.home(self.settings) / "restarts.json").write_text(json.dumps(self.counts))
        log.warning("service exited unexpectedly; restarting", extra={"fields": {
            "service": name, "state": event.rsplit("_", 1)[-1].lower(), "pid": payload.get("pid"),
            "restart": self.counts[name], "in_a_row": self.in_a_row[name], "backoff_s": delay}})
        timer = threading.Timer(delay, self._restart, args=(name,))
        timer.daemon = True
        timer.start()
        return delay

    def _restart(self, name: str) -> None:
        try:
            self.start(name)
        except (xmlrpc.client.Fault, OSError) as exc:  # ALREADY_STARTED (someone was quicker), or stopping
            log.info("restart not needed or not possible", extra={"fields": {"service": name, "error": str(exc)}})


def main() -> None:
    logs.configure("INFO")  # JSON lines on stderr: supervisord writes them to restarter.log
    settings = get_settings()
    if settings.supervisor_metrics_port:
        start_http_server(settings.supervisor_metrics_port, addr="127.0.0.1")
        prometheus.register_target(settings, "supervisor", settings.supervisor_metrics_port,
                                   {"component": "supervisor"})
    restarter = Restarter(settings)
    while True:  # the listener protocol: READY, one event, RESULT OK
        headers, body = childutils.listener.wait(sys.stdin, sys.stdout)
        payload = childutils.get_headers(body.split("\n", 1)[0])
        restarter.on_event(headers["eventname"], payload)
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    main()
