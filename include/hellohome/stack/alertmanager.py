"""Alertmanager from Debian's package: Prometheus sends it what the rules in ops/prometheus/rules
fire; it groups, inhibits and routes them (hellohome.monitoring.alertmanager builds the config)."""
from __future__ import annotations

import requests

from hellohome.config import Settings
from hellohome.monitoring import alertmanager
from hellohome.stack import prometheus
from hellohome.stack.exporters import binary
from hellohome.stack.process import ManagedProcess
from hellohome.stack.service import ProcessService


def url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.alertmanager_port}"


def ping(settings: Settings) -> bool:
    return requests.get(f"{url(settings)}/-/ready", timeout=2).status_code == 200


def _launch(settings: Settings, proc: ManagedProcess) -> None:
    d = proc.workdir
    d.mkdir(parents=True, exist_ok=True)
    config = d / "alertmanager.yml"
    config.write_text(alertmanager.render(settings))
    config.chmod(0o600)  # it carries the PagerDuty routing key
    proc.start([binary("prometheus-alertmanager", hint="install Debian's prometheus-alertmanager (make bootstrap)"),
                f"--config.file={config}", f"--storage.path={d / 'data'}",
                f"--web.listen-address=127.0.0.1:{settings.alertmanager_port}", f"--web.external-url={url(settings)}",
                "--cluster.listen-address="])  # one instance: no gossip port


SERVICE = ProcessService("alertmanager", port=lambda s: s.alertmanager_port, ping=ping, check="GET /-/ready",
                         launch=_launch, stop_timeout_s=10,
                         after_start=lambda s: prometheus.register_target(s, "alertmanager", s.alertmanager_port))
