"""The search API and web page (serving/) under gunicorn, as a managed local service.
Ready when /healthz answers; per-worker Prometheus files live in a directory emptied at start."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import requests

from hellohome.config import Settings
from hellohome.stack import prometheus
from hellohome.stack.process import ManagedProcess

SERVICE = "api"


def process(settings: Settings) -> ManagedProcess:
    return ManagedProcess(SERVICE, settings.stack_dir / SERVICE)


def url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.api_port}"


def ping(settings: Settings) -> bool:
    return requests.get(f"{url(settings)}/healthz", timeout=2).status_code == 200


def is_up(settings: Settings) -> bool:
    return process(settings).answers(lambda: ping(settings))


def start(settings: Settings) -> float:
    if is_up(settings):
        return 0.0
    proc = process(settings)
    metrics_dir = proc.workdir / "prometheus"
    shutil.rmtree(metrics_dir, ignore_errors=True)  # a previous run's worker files would be merged in
    metrics_dir.mkdir(parents=True)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc.start([str(gunicorn), "-c", str(settings.home / "serving" / "gunicorn_conf.py"), "serving.wsgi:app"],
               env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}, cwd=settings.home)
    took = proc.wait_ready(lambda: ping(settings), "GET /healthz", settings.stack_start_timeout_s)
    prometheus.register_target(settings, SERVICE, settings.api_port, {"component": "api"})
    return took


def stop(settings: Settings) -> bool:
    prometheus.unregister_target(settings, SERVICE)
    return process(settings).stop(timeout_s=30)


def status(settings: Settings) -> dict:
    return process(settings).status(settings.api_port, lambda: ping(settings))
