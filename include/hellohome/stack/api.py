"""The search API and web page (serving/) under gunicorn, as a supervised local service.
Ready when /healthz answers; per-worker Prometheus files live in a directory emptied at start."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import requests

from hellohome.config import Settings
from hellohome.stack import prometheus
from hellohome.stack.supervisor import SupervisedService


def url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.api_port}"


def _ping(settings: Settings) -> bool:
    return requests.get(f"{url(settings)}/healthz", timeout=2).status_code == 200


def _metrics_dir(settings: Settings) -> Path:
    return settings.stack_dir / "api" / "prometheus"


def _fresh_metrics_dir(settings: Settings) -> None:
    """A previous run's worker files would be merged into /metrics."""
    shutil.rmtree(_metrics_dir(settings), ignore_errors=True)
    _metrics_dir(settings).mkdir(parents=True)


SERVICE = SupervisedService(
    "api", port=lambda s: s.api_port, ping=_ping, check="GET /healthz",
    argv=lambda s: [str(Path(sys.executable).with_name("gunicorn")), "-c", str(s.home / "serving" / "gunicorn_conf.py"),
                    "serving.wsgi:app"],
    env=lambda s: {"PROMETHEUS_MULTIPROC_DIR": str(_metrics_dir(s))},
    before_start=_fresh_metrics_dir,
    after_start=lambda s: prometheus.register_target(s, "api", s.api_port, {"component": "api"}),
    before_stop=lambda s: prometheus.unregister_target(s, "api"), stop_timeout_s=30)
