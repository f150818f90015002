"""Shared by the CDC indexing tests: a schema with its own connector, index prefix and indexers."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition
from sqlalchemy import text

from hellohome.cdc import connector
from hellohome.config import Settings
from hellohome.db.engine import get_engine
from hellohome.sync.verify import ParityReport, verify

ROOT = Path(__file__).resolve().parents[2]


def wait_connector_running(settings: Settings, name: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = connector.status(settings, name)
        if state.get("tasks") and state["tasks"][0]["state"] == "RUNNING":
            return
        time.sleep(0.5)
    raise AssertionError(f"connector {name} did not start: {state}")


def start_indexer(settings: Settings, group: str, log_path: Path, metrics_port: int = 0) -> subprocess.Popen:
    env = {**os.environ, "HH_DB_NAME": settings.db_name, "HH_INDEX_PREFIX": settings.index_prefix}
    log = log_path.open("ab")
    return subprocess.Popen([sys.executable, "-m", "consumers.indexer", "--group", group,
                             "--metrics-port", str(metrics_port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_indexer(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    proc.send_signal(sig)
    return proc.wait(timeout=60)


def wait_parity(settings: Settings, timeout_s: float = 90) -> ParityReport:
    deadline = time.monotonic() + timeout_s
    while True:
        report = verify(settings)
        if report.clean or time.monotonic() > deadline:
            return report
        time.sleep(0.5)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_group() -> str:
    return f"test-indexer-{uuid.uuid4().hex[:8]}"


def execute(settings: Settings, sql: str, **params) -> None:
    with get_engine(settings, "app").begin() as conn:
        conn.execute(text(sql), params)


def scalar(settings: Settings, sql: str, **params):
    with get_engine(settings, "readonly").connect() as conn:
        return conn.execute(text(sql), params).scalar()


def consume_since(settings: Settings, topic: str, want: int, since_ms: int, timeout_s: float = 60) -> list:
    """`want` messages produced since `since_ms` (the topic outlives earlier local runs)."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"test-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p) for p in range(6)])
    messages, deadline = [], time.monotonic() + timeout_s
    try:
        while len(messages) < want and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error() and msg.timestamp()[1] >= since_ms:
                messages.append(msg)
    finally:
        consumer.close()
    return messages
