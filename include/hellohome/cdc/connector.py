"""The Debezium MariaDB source connector: config from ops/connect/mariadb-source.json, registered
through the Kafka Connect REST API with PUT /connectors/<name>/config (idempotent)."""
from __future__ import annotations

import json
import string
import zlib
from pathlib import Path

import requests

from hellohome.cdc.topics import change_topics, ensure_topics, topic_prefix
from hellohome.config import Settings
from hellohome.errors import ServiceError

TEMPLATE = Path(__file__).resolve().parents[3] / "ops" / "connect" / "mariadb-source.json"


def connector_name(settings: Settings, database: str) -> str:
    """One connector per captured schema, named after it (its offsets are keyed by this name)."""
    return f"{settings.connector_name}-{database}"


def connector_config(settings: Settings, database: str | None = None) -> dict[str, str]:
    database = database or settings.db_name
    values = {
        "db_host": settings.db_host, "db_port": settings.db_port, "db_name": database,
        "db_cdc_user": settings.db_cdc_user, "db_cdc_password": settings.secret("db_cdc_password"),
        # each connector is a replica of its own to MariaDB: a stable, distinct id per database
        "server_id": 5400 + zlib.crc32(database.encode()) % 10_000,
        "topic_prefix": topic_prefix(database), "kafka_bootstrap": settings.kafka_bootstrap,
    }
    raw = json.loads(TEMPLATE.read_text())
    return {key: string.Template(value).substitute(values) for key, value in raw.items()}


def register(settings: Settings, database: str | None = None) -> str:
    """Create the change topics (6 partitions, 7 days), then create or update the connector."""
    database = database or settings.db_name
    ensure_topics(settings, change_topics(database))
    name = connector_name(settings, database)
    response = requests.put(f"{settings.connect_url}/connectors/{name}/config",
                            json=connector_config(settings, database), timeout=30)
    if response.status_code not in (200, 201):
        raise ServiceError("connect", f"PUT /connectors/{name}/config",
                           f"HTTP {response.status_code}: {response.text[:500]}")
    return name


def status(settings: Settings, name: str) -> dict:
    response = requests.get(f"{settings.connect_url}/connectors/{name}/status", timeout=10)
    return response.json() if response.status_code == 200 else {"name": name, "error": response.text}


def delete(settings: Settings, name: str, missing_ok: bool = False) -> None:
    response = requests.delete(f"{settings.connect_url}/connectors/{name}", timeout=30)
    if not (missing_ok and response.status_code == 404):
        response.raise_for_status()


def forget(settings: Settings, database: str, timeout_s: float = 60) -> None:
    """Delete a schema's connector together with its stored source offsets (stop → DELETE offsets →
    delete), so registering it again starts with a fresh snapshot instead of resuming an old binlog
    position. A deleted connector's offsets outlive it: it is recreated stopped to remove them."""
    import time

    name = connector_name(settings, database)
    base = f"{settings.connect_url}/connectors/{name}"
    if requests.get(base, timeout=10).status_code == 404:
        created = requests.post(f"{settings.connect_url}/connectors", timeout=30, json={
            "name": name, "config": connector_config(settings, database), "initial_state": "STOPPED"})
        if created.status_code not in (200, 201):
            raise ServiceError("connect", "POST /connectors (stopped)", f"HTTP {created.status_code}: {created.text[:300]}")
    else:
        requests.put(f"{base}/stop", timeout=30).raise_for_status()
    deadline = time.monotonic() + timeout_s
    while status(settings, name).get("connector", {}).get("state") != "STOPPED":
        if time.monotonic() > deadline:
            raise ServiceError("connect", f"PUT {base}/stop", "connector did not stop")
        time.sleep(0.5)
    requests.delete(f"{base}/offsets", timeout=30).raise_for_status()
    delete(settings, name)
