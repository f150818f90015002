"""What every long-running consumer process does around its work: command-line options, signals
for a clean stop, /metrics, and registration as a Prometheus target while it runs. The indexer
and the enricher (consumers/) are each one call of `main`."""
from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Callable

from prometheus_client import start_http_server

from hellohome import logs
from hellohome.config import Settings, get_settings
from hellohome.stack import prometheus


def serve(settings: Settings, name: str, worker, metrics_port: int, idle_exit_s: float | None) -> None:
    """worker: has run(idle_exit_s=...) and stop(); SIGTERM/SIGINT call stop()."""
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    target = f"{name}-{metrics_port}"
    # a process the stack supervises has its target registered by the stack, kept while it is down
    # (so a crashed or hung one shows as `up == 0`); any other run registers itself while it runs
    own_target = metrics_port and not os.environ.get(prometheus.STACK_TARGET_ENV)
    if metrics_port:
        start_http_server(metrics_port, addr="127.0.0.1")
    if own_target:
        prometheus.register_target(settings, target, metrics_port, {"component": name})
    try:
        worker.run(idle_exit_s=idle_exit_s)
    finally:
        if own_target:
            prometheus.unregister_target(settings, target)


def main(name: str, description: str, build: Callable[[Settings, str | None], object], *, group: str | None,
         metrics_port: str, niceness: int = 0) -> None:
    """`python -m consumers.<name> [--group G] [--metrics-port P] [--log-level L] [--idle-exit-s S]`.
    group / metrics_port: the settings fields holding their defaults (group None: not a Kafka consumer)."""
    settings = get_settings()
    parser = argparse.ArgumentParser(description=description)
    if group is not None:
        parser.add_argument("--group", default=getattr(settings, group), help="Kafka consumer group")
    parser.add_argument("--metrics-port", type=int, default=getattr(settings, metrics_port),
                        help="port of /metrics (0: none)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG adds one line per batch with timings")
    parser.add_argument("--idle-exit-s", type=float, default=None, help="exit after this long without messages")
    args = parser.parse_args()
    logs.configure(args.log_level.upper())
    if niceness:
        os.nice(niceness)
    serve(settings, name, build(settings, getattr(args, "group", None)), args.metrics_port, args.idle_exit_s)
