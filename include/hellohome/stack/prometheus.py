"""Prometheus from Debian's package, with the project's scrape config (ops/prometheus)."""
from __future__ import annotations

import json
import shutil
import string
from pathlib import Path

import requests

from hellohome.config import Settings
from hellohome.errors import ServiceError
from hellohome.monitoring import dashboards
from hellohome.stack.process import ManagedProcess
from hellohome.stack.service import ProcessService

CONFIG_TEMPLATE = Path(__file__).resolve().parents[3] / "ops" / "prometheus" / "prometheus.yml"
RULES_DIR = CONFIG_TEMPLATE.with_name("rules")
# set in a supervised process's environment: the stack registers (and keeps) its target, not the process
STACK_TARGET_ENV = "HELLOHOME_TARGET_BY_STACK"


def targets_dir(settings: Settings) -> Path:
    return settings.stack_dir / "prometheus" / "targets"


def register_target(settings: Settings, name: str, port: int, labels: dict[str, str] | None = None) -> Path:
    """Ask Prometheus to scrape 127.0.0.1:PORT (file-based discovery, picked up within seconds)."""
    targets_dir(settings).mkdir(parents=True, exist_ok=True)
    path = targets_dir(settings) / f"{name}.json"
    path.write_text(json.dumps([{"targets": [f"127.0.0.1:{port}"], "labels": {"job": name, **(labels or {})}}]))
    return path


def unregister_target(settings: Settings, name: str) -> None:
    (targets_dir(settings) / f"{name}.json").unlink(missing_ok=True)


def ping(settings: Settings) -> bool:
    return requests.get(f"http://127.0.0.1:{settings.prometheus_port}/-/ready", timeout=2).status_code == 200


def render_config(settings: Settings) -> str:
    return string.Template(CONFIG_TEMPLATE.read_text()).substitute(
        prometheus_port=settings.prometheus_port, targets_dir=targets_dir(settings), rules_dir=RULES_DIR,
        scrape_interval=f"{settings.scrape_interval_s}s", alertmanager_port=settings.alertmanager_port)


def _launch(settings: Settings, proc: ManagedProcess) -> None:
    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    if not Path(binary).exists():
        raise ServiceError("prometheus", "install", "prometheus not found: install Debian's prometheus (make bootstrap)")
    d = proc.workdir
    targets_dir(settings).mkdir(parents=True, exist_ok=True)
    config = d / "prometheus.yml"
    config.write_text(render_config(settings))
    dashboards.write_consoles(dashboards.load(), d / "consoles", d / "console_libraries")
    proc.start([binary, f"--config.file={config}", f"--storage.tsdb.path={d / 'data'}",
                f"--web.console.templates={d / 'consoles'}", f"--web.console.libraries={d / 'console_libraries'}",
                f"--web.listen-address=127.0.0.1:{settings.prometheus_port}", "--storage.tsdb.retention.time=7d",
                "--web.enable-lifecycle"])


SERVICE = ProcessService("prometheus", port=lambda s: s.prometheus_port, ping=ping, check="GET /-/ready",
                         launch=_launch)
