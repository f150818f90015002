"""What every long-running consumer process does around its work: signals for a clean stop,
/metrics, and registration as a Prometheus target while it runs."""
from __future__ import annotations

import signal

from prometheus_client import start_http_server

from hellohome.config import Settings
from hellohome.stack import prometheus


def serve(settings: Settings, name: str, worker, metrics_port: int, idle_exit_s: float | None) -> None:
    """worker: has run(idle_exit_s=...) and stop(); SIGTERM/SIGINT call stop()."""
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    target = f"{name}-{metrics_port}"
    if metrics_port:
        start_http_server(metrics_port, addr="127.0.0.1")
        prometheus.register_target(settings, target, metrics_port, {"component": name})
    try:
        worker.run(idle_exit_s=idle_exit_s)
    finally:
        if metrics_port:
            prometheus.unregister_target(settings, target)
