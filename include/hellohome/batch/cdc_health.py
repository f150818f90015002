"""CDC health, checked every few minutes by the `cdc_health` DAG: is every change still on its way
from the binlog to the index?

* the Debezium connector and its tasks (Kafka Connect REST): a FAILED task is restarted once per
  check and reported;
* consumer lag of the indexer and the enricher, per group (committed offsets vs partition ends);
* dead-lettered messages that arrived in the last window;
* binlog retention: the binlog file the connector reads must outlive its stall; reported when the
  file it needs is gone, or will be purged within the safety margin;
* liveness of the indexer and enricher (their /metrics endpoints).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import requests
from confluent_kafka import Consumer, TopicPartition
from sqlalchemy import text

from hellohome.alerts import Alert, send
from hellohome.cdc.connector import connector_name
from hellohome.cdc.topics import change_topics
from hellohome.config import Settings
from hellohome.db.engine import get_engine
from hellohome.errors import HelloHomeError
from hellohome.sync.indexer import dlq_topic

RETENTION_MARGIN_S = 24 * 3600  # alert a day before a binlog the connector still needs is purged


class CdcUnhealthy(HelloHomeError):
    pass


@dataclass
class HealthReport:
    connector: str
    connector_state: str | None = None
    task_states: dict[str, str] = field(default_factory=dict)
    restarted_tasks: list[str] = field(default_factory=list)
    lag: dict[str, int] = field(default_factory=dict)  # consumer group -> messages behind
    dlq_new: int = 0
    binlog: dict = field(default_factory=dict)
    consumers_alive: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _connector(settings: Settings, report: HealthReport) -> None:
    base = f"{settings.connect_url}/connectors/{report.connector}"
    response = requests.get(f"{base}/status", timeout=10)
    if response.status_code == 404:
        report.problems.append(f"connector {report.connector} is not registered")
        return
    response.raise_for_status()
    status = response.json()
    report.connector_state = status["connector"]["state"]
    if report.connector_state != "RUNNING":
        report.problems.append(f"connector {report.connector} is {report.connector_state}")
    for task in status["tasks"]:
        report.task_states[str(task["id"])] = task["state"]
        if task["state"] == "FAILED":
            requests.post(f"{base}/tasks/{task['id']}/restart", timeout=30).raise_for_status()
            report.restarted_tasks.append(str(task["id"]))
            report.problems.append(f"connector task {task['id']} was FAILED (restarted): "
                                   f"{(task.get('trace') or '').splitlines()[0][:300] if task.get('trace') else ''}")
    if not status["tasks"]:
        report.problems.append(f"connector {report.connector} has no task")


def _lag(settings: Settings, group: str, topics: list[str]) -> int:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": group,
                         "enable.auto.commit": False})
    try:
        known = consumer.list_topics(timeout=10).topics
        parts = [TopicPartition(t, p) for t in topics if t in known for p in known[t].partitions]
        behind = 0
        for tp in consumer.committed(parts, timeout=10):
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            behind += high - (tp.offset if tp.offset >= 0 else low)
        return behind
    finally:
        consumer.close()


def _dlq_since(settings: Settings, since_ms: int) -> int:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "hellohome-cdc-health"})
    try:
        topic = dlq_topic(settings.db_name)
        known = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if known is None or known.error is not None:
            return 0
        parts = [TopicPartition(topic, p, since_ms) for p in known.partitions]
        count = 0
        for tp in consumer.offsets_for_times(parts, timeout=10):
            high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)[1]
            count += high - tp.offset if tp.offset >= 0 else 0
        return count
    finally:
        consumer.close()


def _binlog(settings: Settings, report: HealthReport, now_s: float) -> None:
    response = requests.get(f"{settings.connect_url}/connectors/{report.connector}/offsets", timeout=10)
    offsets = response.json().get("offsets", []) if response.status_code == 200 else []
    if not offsets:
        return  # not streaming yet (snapshot) or never started: nothing to protect
    position = offsets[0]["offset"]
    with get_engine(settings, "cdc").connect() as conn:
        files = [row[0] for row in conn.execute(text("SHOW BINARY LOGS"))]
        expire_s = int(conn.execute(text("SELECT @@binlog_expire_logs_seconds")).scalar_one())
    needed, stalled_s = position.get("file"), now_s - int(position.get("ts_sec", now_s))
    report.binlog = {"needed": needed, "oldest": files[0] if files else None, "current": files[-1] if files else None,
                     "expire_s": expire_s, "connector_position_age_s": round(stalled_s)}
    if needed not in files:
        report.problems.append(f"binlog {needed} that the connector reads was purged: the connector needs a new snapshot")
    elif needed != files[-1] and expire_s and stalled_s > expire_s - RETENTION_MARGIN_S:
        report.problems.append(f"binlog retention at risk: the connector still reads {needed}, last event "
                               f"{stalled_s / 3600:.1f} h ago; binlogs expire after {expire_s / 3600:.0f} h")


def _alive(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=3).status_code == 200
    except requests.RequestException:
        return False


def check(settings: Settings, window_s: float = 300, max_lag: int = 10_000, now_s: float | None = None) -> HealthReport:
    """Every check above; `report.problems` lists what needs a human (empty: healthy)."""
    now_s = now_s if now_s is not None else time.time()
    report = HealthReport(connector=connector_name(settings, settings.db_name))
    _connector(settings, report)
    topics = change_topics(settings.db_name)
    groups = {"indexer": settings.indexer_group, "enricher": settings.enricher_group}
    ports = {"indexer": settings.indexer_metrics_port, "enricher": settings.enricher_metrics_port}
    for name, group in groups.items():
        if name == "enricher" and not settings.enricher_autostart:
            continue
        report.lag[group] = _lag(settings, group, topics)
        if report.lag[group] > max_lag:
            report.problems.append(f"consumer group {group} is {report.lag[group]:,} messages behind")
        report.consumers_alive[name] = _alive(ports[name])
        if not report.consumers_alive[name]:
            report.problems.append(f"{name} is not answering on :{ports[name]}/metrics")
    report.dlq_new = _dlq_since(settings, int((now_s - window_s) * 1000))
    if report.dlq_new:
        report.problems.append(f"{report.dlq_new} new dead-lettered messages in {dlq_topic(settings.db_name)} "
                               f"in the last {window_s / 60:.0f} min")
    _binlog(settings, report, now_s)
    return report


def check_and_alert(settings: Settings, window_s: float = 300, max_lag: int = 10_000) -> dict:
    """The DAG's task: check; alert a restarted connector task at once; raise on any problem."""
    report = check(settings, window_s=window_s, max_lag=max_lag)
    if report.restarted_tasks:
        send(settings, Alert(summary=f"Debezium connector {report.connector}: FAILED task(s) "
                                     f"{', '.join(report.restarted_tasks)} restarted",
                             source="cdc/connector", severity="warning", dedup_key=f"cdc/{report.connector}/restart",
                             details={"task_states": report.task_states}))
    if report.problems:
        raise CdcUnhealthy("CDC unhealthy: " + "; ".join(report.problems))
    return asdict(report)
