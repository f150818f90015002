"""CDC health over the real connector, consumer groups, DLQ and binlog, and the DAG around it."""
from __future__ import annotations

import time

import pytest
import requests
from confluent_kafka import Producer

from hellohome.batch.cdc_health import CdcUnhealthy, check, check_and_alert
from hellohome.cdc import connector
from hellohome.cdc.topics import ensure_topics
from hellohome.stack.mariadb import admin_connect
from hellohome.stack.schemas import fresh_schema
from hellohome.sync.indexer import dlq_topic
from tests.dags.conftest import run_dag


def test_a_healthy_pipeline_reports_no_problem_and_the_dag_succeeds(loaded_db, stack, dagbag):
    report = check(stack, max_lag=1_000_000)
    assert report.connector_state == "RUNNING" and set(report.task_states.values()) == {"RUNNING"}
    assert report.consumers_alive == {"indexer": True}  # the enricher is off in the test configuration
    assert stack.indexer_group in report.lag and report.binlog["needed"]
    assert report.problems == []
    state, tasks, run = run_dag(dagbag, "cdc_health", max_lag=1_000_000)
    assert state == "success", tasks


def test_a_new_dead_lettered_message_is_a_problem(stack):
    topic = dlq_topic(stack.db_name)
    ensure_topics(stack, [topic])
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap})
    producer.produce(topic, key=b"42", value=b'{"error": "test poison"}')
    producer.flush(10)
    report = check(stack, window_s=120, max_lag=1_000_000)
    assert report.dlq_new >= 1
    assert any("dead-lettered" in p for p in report.problems)
    with pytest.raises(CdcUnhealthy, match="dead-lettered"):
        check_and_alert(stack, window_s=120, max_lag=1_000_000)
    # outside the window it is history, not news
    later = check(stack, window_s=60, max_lag=1_000_000, now_s=time.time() + 3600)
    assert later.dlq_new == 0


def test_binlog_retention_at_risk_when_the_connector_stalls_on_a_rotated_file(stack):
    """The connector is stopped (its offsets flushed in the current binlog), then the binlog
    rotates: it needs a file that is no longer the current one, as a stalled connector would."""
    name = connector.connector_name(stack, stack.db_name)
    base = f"{stack.connect_url}/connectors/{name}"
    requests.put(f"{base}/stop", timeout=30).raise_for_status()
    try:
        deadline = time.monotonic() + 60
        while connector.status(stack, name)["connector"]["state"] != "STOPPED":
            assert time.monotonic() < deadline, connector.status(stack, name)
            time.sleep(0.5)
        # STOPPED may be reported while the task still commits an offset past the first rotation
        # (seen once in CI): a second rotation, once the task is gone, leaves it behind for certain
        with admin_connect(stack) as conn, conn.cursor() as cur:
            cur.execute("FLUSH BINARY LOGS")
            time.sleep(3)
            cur.execute("FLUSH BINARY LOGS")
        now = check(stack, max_lag=1_000_000)
        assert now.binlog["needed"] != now.binlog["current"], now.binlog
        assert not any("retention" in p for p in now.problems)
        stalled = check(stack, max_lag=1_000_000, now_s=time.time() + now.binlog["expire_s"])
        assert any(p.startswith(f"binlog retention at risk: the connector still reads {now.binlog['needed']}")
                   for p in stalled.problems), stalled.problems
    finally:
        requests.put(f"{base}/resume", timeout=30).raise_for_status()
        _wait_task(stack, name, "RUNNING")


def _task_state(settings, name: str) -> str | None:
    tasks = connector.status(settings, name).get("tasks") or []
    return tasks[0]["state"] if tasks else None


def _wait_task(settings, name: str, state: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while _task_state(settings, name) != state:
        assert time.monotonic() < deadline, f"task of {name} not {state}: {connector.status(settings, name)}"
        time.sleep(1)


def test_a_failed_connector_task_is_restarted_and_alerted(stack):
    """A real task failure on a scratch schema's own connector: its MariaDB user loses the
    replication right and the task restarts, so it fails; with the right given back, the health
    check restarts the task, which runs again, and the check reports (and alerts) the restart."""
    settings = stack.model_copy(update={"db_name": fresh_schema(stack, f"{stack.db_name}_cdcfail"),
                                        "db_cdc_user": "hh_cdc_probe"})
    name = connector.connector_name(settings, settings.db_name)
    rights = "REPLICATION SLAVE, BINLOG MONITOR"
    with admin_connect(stack) as conn, conn.cursor() as cur:
        for host in ("127.0.0.1", "localhost"):
            cur.execute("CREATE OR REPLACE USER hh_cdc_probe@%s IDENTIFIED BY %s", (host, stack.secret("db_cdc_password")))
            cur.execute(f"GRANT SELECT, RELOAD, SHOW DATABASES, LOCK TABLES, {rights} ON *.* TO hh_cdc_probe@%s", (host,))
    try:
        connector.register(settings)
        _wait_task(settings, name, "RUNNING")
        with admin_connect(stack) as conn, conn.cursor() as cur:
            for host in ("127.0.0.1", "localhost"):
                cur.execute(f"REVOKE {rights} ON *.* FROM hh_cdc_probe@%s", (host,))
        requests.post(f"{settings.connect_url}/connectors/{name}/tasks/0/restart", timeout=30).raise_for_status()
        _wait_task(settings, name, "FAILED")
        with admin_connect(stack) as conn, conn.cursor() as cur:
            for host in ("127.0.0.1", "localhost"):
                cur.execute(f"GRANT {rights} ON *.* TO hh_cdc_probe@%s", (host,))

        report = check(settings, max_lag=1_000_000)
        assert report.restarted_tasks == ["0"] and report.task_states == {"0": "FAILED"}
        assert any(p.startswith("connector task 0 was FAILED (restarted)") for p in report.problems), report.problems
        _wait_task(settings, name, "RUNNING")
        assert check(settings, max_lag=1_000_000).restarted_tasks == []
    finally:
        connector.forget(settings, settings.db_name)
        with admin_connect(stack) as conn, conn.cursor() as cur:
            for host in ("127.0.0.1", "localhost"):
                cur.execute("DROP USER IF EXISTS hh_cdc_probe@%s", (host,))
            cur.execute(f"DROP DATABASE IF EXISTS `{settings.db_name}`")
