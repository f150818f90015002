"""The registry of local services, in start order; `hellohome stack ...` goes through here."""
from __future__ import annotations

from pathlib import Path
from types import ModuleType

from hellohome.config import Settings
from hellohome.errors import HelloHomeError
from hellohome.stack import api, connect, enricher, indexer, kafka, mariadb, opensearch, prometheus, redis, s3

SERVICES: dict[str, ModuleType] = {
    "mariadb": mariadb, "kafka": kafka, "connect": connect, "opensearch": opensearch, "s3": s3,
    "prometheus": prometheus, "redis": redis,
}
# started once the connector is registered: it consumes what the connector produces
CONSUMERS: dict[str, ModuleType] = {"indexer": indexer, "enricher": enricher, "api": api}


def up(settings: Settings) -> dict[str, float]:
    """Start what is not running, then register the CDC connector (idempotent).
    Returns seconds to ready per service (0 when it was already up)."""
    from hellohome.cdc import connector

    settings = mariadb.ensure_secrets(settings)  # a fresh machine has none yet; every service below needs them
    took = {name: module.start(settings) for name, module in SERVICES.items()}
    connector.register(settings)
    took.update({name: module.start(settings) for name, module in _active(settings).items() if name in CONSUMERS})
    return took


def _all() -> dict[str, ModuleType]:
    return {**SERVICES, **CONSUMERS}


def _active(settings: Settings) -> dict[str, ModuleType]:
    """Every service this configuration runs (or that runs anyway): a disabled enricher is left
    out of up, down and status unless it is running."""
    return {name: module for name, module in _all().items()
            if name != "enricher" or settings.enricher_autostart or module.process(settings).pid()}


def down(settings: Settings) -> list[tuple[str, bool]]:
    return [(name, module.stop(settings)) for name, module in reversed(_active(settings).items())]


def status(settings: Settings) -> list[dict]:
    return [module.status(settings) for module in _active(settings).values()]


def log_path(settings: Settings, service: str) -> Path:
    if service not in _all():
        raise HelloHomeError(f"service: unknown {service!r}; choose one of {', '.join(_all())}")
    return Path(_all()[service].status(settings)["log"])
