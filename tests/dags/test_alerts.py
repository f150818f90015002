"""Alerts reach a Slack-style webhook and PagerDuty Events v2 (local HTTP receivers speaking their
shape), from the library and from a failing DAG task's on_failure_callback."""
from __future__ import annotations

import json
import logging

import pytest

from hellohome.alerts import Alert, send
from tests.http_server import QuietHandler, serving

ROUTING_KEY = "0123456789abcdef0123456789abcdef"


class Receiver(QuietHandler):
    received: list[tuple[str, dict]] = []
    status = 202

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Receiver.received.append((self.path, body))
        self.reply(Receiver.status, "application/json", b'{"status":"success","message":"Event processed"}')


@pytest.fixture
def receiver():
    Receiver.received, Receiver.status = [], 202
    with serving(Receiver) as url:
        yield url


def _receivers(url: str) -> dict[str, str]:
    return {"HH_ALERT_WEBHOOK_URL": f"{url}/slack", "HH_ALERT_PAGERDUTY_URL": f"{url}/v2/enqueue",
            "HH_ALERT_PAGERDUTY_ROUTING_KEY": ROUTING_KEY}


def test_an_alert_reaches_both_receivers_in_their_shapes(receiver, task_settings):
    settings = task_settings(**_receivers(receiver))
    alert = Alert(summary="backup older than 26 h", source="backup/mariadb", severity="critical",
                  dedup_key="backup/stale", details={"age_h": 27.5}, link="http://127.0.0.1:8080/dags/backups")
    assert send(settings, alert) == ["webhook", "pagerduty"]
    by_path = dict(Receiver.received)
    slack = by_path["/slack"]
    assert slack["text"] == "[CRITICAL] backup older than 26 h"
    assert "age_h: 27.5" in slack["blocks"][0]["text"]["text"]
    event = by_path["/v2/enqueue"]
    assert event["routing_key"] == ROUTING_KEY and event["event_action"] == "trigger"
    assert event["dedup_key"] == "backup/stale"
    assert event["payload"] == {"summary": "backup older than 26 h", "source": "backup/mariadb", "severity": "critical",
                                "component": "backup", "custom_details": {"age_h": 27.5}}
    assert event["links"] == [{"href": "http://127.0.0.1:8080/dags/backups", "text": "open in Airflow"}]


def test_a_receiver_that_keeps_failing_is_logged_and_does_not_raise(receiver, task_settings, caplog):
    settings = task_settings(**_receivers(receiver))
    Receiver.status = 503
    with caplog.at_level(logging.ERROR, logger="hellohome.alerts"):
        assert send(settings, Alert(summary="x", source="test")) == []
    assert len(Receiver.received) == 6  # three attempts per receiver
    assert "alert not delivered to webhook" in caplog.text and "alert not delivered to pagerduty" in caplog.text


def test_without_receivers_an_alert_is_one_log_line(task_settings, caplog):
    settings = task_settings(HH_ALERT_WEBHOOK_URL="", HH_ALERT_PAGERDUTY_URL="")
    with caplog.at_level(logging.WARNING, logger="hellohome.alerts"):
        assert send(settings, Alert(summary="lag growing", source="cdc")) == []
    lines = [r for r in caplog.records if r.name == "hellohome.alerts"]
    assert len(lines) == 1 and "lag growing" in lines[0].getMessage()


def test_pagerduty_without_a_routing_key_is_a_config_error(task_settings):
    from hellohome.errors import ConfigError

    with pytest.raises(ConfigError, match="HH_ALERT_PAGERDUTY_ROUTING_KEY"):
        task_settings(HH_ALERT_PAGERDUTY_URL="http://127.0.0.1:9/v2/enqueue", HH_ALERT_PAGERDUTY_ROUTING_KEY="")


PROBE_DAG = """
from airflow.sdk import dag, task

from hellohome.batch.defaults import DAG_DEFAULTS, DEFAULT_ARGS


@dag(dag_id="alerting_probe", schedule=None, **{**DAG_DEFAULTS, "default_args": {**DEFAULT_ARGS, "retries": 0}})
def probe():
    @task
    def boom():
        raise ValueError("disk on fire")
    boom()


probe()
"""


def test_a_task_that_fails_for_good_pages_through_its_callback(scheduler_stopped, receiver, task_settings, tmp_path,
                                                               monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    task_settings(**_receivers(receiver))
    (tmp_path / "alerting_probe.py").write_text(PROBE_DAG)
    # dag.test() runs DAGs of a configured bundle: this folder, as a bundle of its own
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([{
        "name": "alerting-probe", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(tmp_path)}}]))
    run = DagBag(str(tmp_path)).dags["alerting_probe"].test()
    assert run.state == "failed"
    event = dict(Receiver.received)["/v2/enqueue"]
    assert event["payload"]["summary"] == "Airflow task alerting_probe.boom failed: ValueError: disk on fire"
    assert event["payload"]["source"] == "airflow/alerting_probe"
    assert event["dedup_key"] == "airflow/alerting_probe/boom"
    assert event["payload"]["custom_details"]["run_id"] == run.run_id
