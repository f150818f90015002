"""Prometheus exporters for what does not expose metrics itself: the host, MariaDB, Redis (Debian's
packages) and Airflow's StatsD metrics (statsd_exporter, built from the Go proxy by bootstrap).
Kafka and Connect carry the JMX exporter agent (stack/jvm.py); OpenSearch has the project's own
exporter (hellohome.monitoring, supervised like the consumers). Each registers its Prometheus target
once ready; the target stays while the stack runs, so an exporter that dies shows as `up == 0`."""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from hellohome.config import Settings
from hellohome.errors import ServiceError
from hellohome.stack import prometheus
from hellohome.stack.process import ManagedProcess
from hellohome.stack.service import ProcessService, metrics_endpoint

OPS = Path(__file__).resolve().parents[3] / "ops"


def binary(*candidates: str, hint: str) -> str:
    for candidate in candidates:
        found = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
        if found:
            return found
    raise ServiceError(Path(candidates[0]).name, "install", f"{candidates[0]} not found: {hint}")


def statsd_exporter_binary(settings: Settings) -> str:
    return binary(str(settings.cache_dir / "bin" / "statsd_exporter"), "statsd_exporter",
                  hint="run `make bootstrap` (go install github.com/prometheus/statsd_exporter)")


def _node_argv(settings: Settings, proc: ManagedProcess) -> list[str]:
    # the collectors the host dashboard and the disk alert read; the rest cost scrape time for nothing
    collectors = ("cpu", "meminfo", "filesystem", "loadavg", "diskstats", "netdev", "pressure", "stat", "vmstat")
    return [binary("prometheus-node-exporter", hint="install Debian's prometheus-node-exporter (make bootstrap)"),
            f"--web.listen-address=127.0.0.1:{settings.node_exporter_port}", "--collector.disable-defaults",
            *(f"--collector.{c}" for c in collectors)]


def _mysqld_argv(settings: Settings, proc: ManagedProcess) -> list[str]:
    cnf = proc.workdir / "exporter.cnf"
    cnf.write_text(f"[client]\nuser={settings.db_monitor_user}\npassword={settings.secret('db_monitor_password')}\n"
                   f"host={settings.db_host}\nport={settings.db_port}\n")
    cnf.chmod(0o600)
    return [binary("prometheus-mysqld-exporter", hint="install Debian's prometheus-mysqld-exporter (make bootstrap)"),
            f"--config.my-cnf={cnf}", f"--web.listen-address=127.0.0.1:{settings.mysqld_exporter_port}",
            "--collect.binlog_size"]  # binlog files and bytes: the retention alert reads them


def _redis_argv(settings: Settings, proc: ManagedProcess) -> list[str]:
    return [binary("prometheus-redis-exporter", hint="install Debian's prometheus-redis-exporter (make bootstrap)"),
            f"--redis.addr={settings.redis_url}", f"--web.listen-address=127.0.0.1:{settings.redis_exporter_port}"]


def _statsd_argv(settings: Settings, proc: ManagedProcess) -> list[str]:
    return [statsd_exporter_binary(settings), f"--web.listen-address=127.0.0.1:{settings.statsd_exporter_port}",
            f"--statsd.listen-udp=127.0.0.1:{settings.statsd_port}", "--statsd.listen-tcp=",
            f"--statsd.mapping-config={OPS / 'statsd' / 'airflow.yml'}"]


def exporter(name: str, port_field: str, argv: Callable[[Settings, ManagedProcess], list[str]]) -> ProcessService:
    port, ping = metrics_endpoint(port_field)

    def launch(settings: Settings, proc: ManagedProcess) -> None:
        proc.workdir.mkdir(parents=True, exist_ok=True)
        proc.start(argv(settings, proc))

    return ProcessService(name, port=port, ping=ping, check="GET /metrics", launch=launch, stop_timeout_s=10,
                          after_start=lambda s: prometheus.register_target(s, name, port(s)))


NODE = exporter("node-exporter", "node_exporter_port", _node_argv)
MYSQLD = exporter("mysqld-exporter", "mysqld_exporter_port", _mysqld_argv)
REDIS = exporter("redis-exporter", "redis_exporter_port", _redis_argv)
STATSD = exporter("statsd-exporter", "statsd_exporter_port", _statsd_argv)
SERVICES = [NODE, MYSQLD, REDIS, STATSD]
