"""The registry of local services, in start order; `hellohome stack ...` goes through here."""
from __future__ import annotations

from pathlib import Path

from hellohome.cdc import connector
from hellohome.config import Settings
from hellohome.errors import HelloHomeError
from hellohome.stack import api, connect, consumer, kafka, mariadb, opensearch, prometheus, redis, s3, supervisor
from hellohome.stack.service import Service

INFRASTRUCTURE: list[Service] = [mariadb.SERVICE, kafka.SERVICE, connect.SERVICE, opensearch.SERVICE, s3.SERVICE,
                                 prometheus.SERVICE, redis.SERVICE]
# supervised, and started once the connector is registered: they consume what it produces
PROJECT: list[Service] = [consumer.INDEXER, consumer.ENRICHER, api.SERVICE]
ALL: dict[str, Service] = {s.name: s for s in INFRASTRUCTURE + PROJECT}


def get(name: str) -> Service:
    if name not in ALL:
        raise HelloHomeError(f"service: unknown {name!r}; choose one of {', '.join(ALL)}")
    return ALL[name]


def up(settings: Settings) -> dict[str, float]:
    """Start what is not running, then register the CDC connector (idempotent).
    Returns seconds to ready per service (0 when it was already up)."""
    settings = mariadb.ensure_secrets(settings)  # a fresh machine has none yet; every service below needs them
    took = {service.name: service.start(settings) for service in INFRASTRUCTURE}
    connector.register(settings)
    took.update({service.name: service.start(settings) for service in active(settings) if service in PROJECT})
    return took


def active(settings: Settings) -> list[Service]:
    """Every service this configuration runs (or that runs anyway): a disabled enricher is left
    out of up, down and status unless it is running."""
    return [s for s in ALL.values()
            if s is not consumer.ENRICHER or settings.enricher_autostart or s.pid(settings)]


def stop_project(settings: Settings) -> list[tuple[str, bool]]:
    """Stop the supervised services (indexer, enricher, API), then supervisord."""
    stopped = [(s.name, s.stop(settings)) for s in reversed(PROJECT)]
    supervisor.shutdown_if_idle(settings)
    return stopped


def down(settings: Settings) -> list[tuple[str, bool]]:
    shown = {s.name for s in active(settings)}
    stopped = [(name, was) for name, was in stop_project(settings) if name in shown]
    return stopped + [(s.name, s.stop(settings)) for s in reversed(INFRASTRUCTURE)]


def status(settings: Settings) -> list[dict]:
    return [s.status(settings) for s in active(settings)]


def log_path(settings: Settings, service: str) -> Path:
    return get(service).log(settings)
