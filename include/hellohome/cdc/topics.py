"""Change topics: names as Debezium forms them, created explicitly (broker auto-creation is off)."""
from __future__ import annotations

import time

from confluent_kafka.admin import AdminClient, NewTopic

from hellohome.config import Settings

TABLES = ("properties", "property_images", "users", "user_profiles", "inquiries")
PARTITIONS = 6
RETENTION_MS = 7 * 24 * 3600 * 1000


def topic_prefix(database: str) -> str:
    return database


def change_topic(database: str, table: str) -> str:
    """Debezium names change topics <topic.prefix>.<database>.<table>."""
    return f"{topic_prefix(database)}.{database}.{table}"


def change_topics(database: str) -> list[str]:
    return [change_topic(database, t) for t in TABLES]


def admin(settings: Settings) -> AdminClient:
    return AdminClient({"bootstrap.servers": settings.kafka_bootstrap})


def ensure_topics(settings: Settings, names: list[str], partitions: int = PARTITIONS,
                  config: dict[str, str] | None = None) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created."""
    client = admin(settings)
    existing = set(client.list_topics(timeout=10).topics)
    config = {"retention.ms": str(RETENTION_MS), "cleanup.policy": "delete", **(config or {})}
    new = [NewTopic(n, num_partitions=partitions, replication_factor=1, config=config)
           for n in names if n not in existing]
    for future in client.create_topics(new, operation_timeout=30).values() if new else []:
        future.result()
    return [t.topic for t in new]


def drop_change_topics(settings: Settings, database: str, timeout_s: float = 30) -> None:
    """Delete a schema's change topics, for a clean start (tests, benchmarks): a new consumer group
    would otherwise work through every earlier run's events before reaching the new ones. Stop the
    schema's connector first (connector.forget)."""
    client = admin(settings)
    names = [t for t in change_topics(database) if t in client.list_topics(timeout=10).topics]
    for future in client.delete_topics(names, operation_timeout=30).values() if names else []:
        future.result()
    deadline = time.monotonic() + timeout_s  # the broker deletes asynchronously: wait until they are gone
    while names and set(names) & set(client.list_topics(timeout=10).topics) and time.monotonic() < deadline:
        time.sleep(0.5)
