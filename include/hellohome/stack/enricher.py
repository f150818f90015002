"""The enricher (consumers/enricher) as a managed local service. HH_ENRICHER_AUTOSTART=false
leaves it out (the test session runs its own, on small data). Ready when /metrics answers."""
from __future__ import annotations

import sys

import requests

from hellohome.config import Settings
from hellohome.stack.process import ManagedProcess

SERVICE = "enricher"


def process(settings: Settings) -> ManagedProcess:
    return ManagedProcess(SERVICE, settings.stack_dir / SERVICE)


def ping(settings: Settings) -> bool:
    return requests.get(f"http://127.0.0.1:{settings.enricher_metrics_port}/metrics", timeout=2).status_code == 200


def is_up(settings: Settings) -> bool:
    return process(settings).answers(lambda: ping(settings))


def start(settings: Settings) -> float:
    if not settings.enricher_autostart or is_up(settings):
        return 0.0
    proc = process(settings)
    proc.start([sys.executable, "-m", "consumers.enricher", "--metrics-port", str(settings.enricher_metrics_port)],
               cwd=settings.home)
    return proc.wait_ready(lambda: ping(settings), "GET /metrics", settings.stack_start_timeout_s)


def stop(settings: Settings) -> bool:
    return process(settings).stop(timeout_s=60)


def status(settings: Settings) -> dict:
    return process(settings).status(settings.enricher_metrics_port, lambda: ping(settings))
