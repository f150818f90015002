"""The registry of local services, in start order; `hellohome stack ...` goes through here."""
from __future__ import annotations

from pathlib import Path

from hellohome.cdc import connector
from hellohome.config import Settings
from hellohome.errors import HelloHomeError
from hellohome.stack import (
    airflow,
    alertmanager,
    api,
    connect,
    consumer,
    exporters,
    kafka,
    mariadb,
    opensearch,
    postgres,
    prometheus,
    redis,
    s3,
    supervisor,
)
from hellohome.stack.service import Service

INFRASTRUCTURE: list[Service] = [mariadb.SERVICE, kafka.SERVICE, connect.SERVICE, opensearch.SERVICE, s3.SERVICE,
                                 alertmanager.SERVICE, prometheus.SERVICE, redis.SERVICE, postgres.SERVICE,
                                 *exporters.SERVICES]
# supervised, and started once the connector is registered: they consume what it produces
PROJECT: list[Service] = [consumer.INDEXER, consumer.ENRICHER, consumer.ARCHIVER, consumer.OPENSEARCH_EXPORTER,
                          api.SERVICE, *airflow.SERVICES]
# left out of up, down and status when their setting turns them off (unless they are running)
OPTIONAL = {consumer.ENRICHER.name: "enricher_autostart", consumer.ARCHIVER.name: "binlog_archiver_autostart", postgres.SERVICE.name: "airflow_autostart",
            exporters.STATSD.name: "airflow_autostart", **{s.name: "airflow_autostart" for s in airflow.SERVICES}}
ALL: dict[str, Service] = {s.name: s for s in INFRASTRUCTURE + PROJECT}


def get(name: str) -> Service:
    if name not in ALL:
        raise HelloHomeError(f"service: unknown {name!r}; choose one of {', '.join(ALL)}")
    return ALL[name]


def up(settings: Settings) -> dict[str, float]:
    """Start what is not running, then register the CDC connector (idempotent).
    Returns seconds to ready per service (0 when it was already up)."""
    settings = mariadb.ensure_secrets(settings)  # a fresh machine has none yet; every service below needs them
    wanted = active(settings)
    for service in ALL.values():  # a service this configuration leaves out is no scrape target either
        if service not in wanted:
            prometheus.unregister_target(settings, service.name)
    took = {service.name: service.start(settings) for service in INFRASTRUCTURE if service in wanted}
    connector.register(settings)
    took.update({service.name: service.start(settings) for service in wanted if service in PROJECT})
    return took


def active(settings: Settings) -> list[Service]:
    """Every service this configuration runs (or that runs anyway): a disabled enricher or Airflow
    is left out of up, down and status unless it is running."""
    return [s for s in ALL.values()
            if s.name not in OPTIONAL or getattr(settings, OPTIONAL[s.name]) or s.pid(settings)]


def stop_project(settings: Settings) -> list[tuple[str, bool]]:
    """Stop the supervised services (indexer, enricher, archiver, API, Airflow), then supervisord."""
    stopped = [(s.name, s.stop(settings)) for s in reversed(PROJECT)]
    supervisor.shutdown_if_idle(settings)
    return stopped


def down(settings: Settings) -> list[tuple[str, bool]]:
    shown = {s.name for s in active(settings)}
    stopped = [(name, was) for name, was in stop_project(settings) if name in shown]
    return stopped + [(s.name, s.stop(settings)) for s in reversed(INFRASTRUCTURE) if s.name in shown]


def status(settings: Settings) -> list[dict]:
    return [s.status(settings) for s in active(settings)]


def log_path(settings: Settings, service: str) -> Path:
    return get(service).log(settings)
