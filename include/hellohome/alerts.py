"""Alerts to the on-call channels: a Slack-style incoming webhook and PagerDuty Events API v2.

Receivers come from settings (HH_ALERT_WEBHOOK_URL, HH_ALERT_PAGERDUTY_URL + _ROUTING_KEY); with
none set an alert is one structured log line, never silence. Delivery is retried briefly; a
receiver that stays down is logged and does not fail the caller (the failure being reported is
the real problem). `task_failed` is the Airflow `on_failure_callback` every DAG uses.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import requests

from hellohome.config import Settings
from hellohome.retry import retrying

log = logging.getLogger(__name__)
SEVERITIES = ("critical", "error", "warning", "info")  # PagerDuty's, in order


@dataclass(frozen=True)
class Alert:
    summary: str
    source: str  # what is affected, e.g. "airflow/reindex"
    severity: str = "error"
    dedup_key: str | None = None  # one incident per key: repeats update it instead of paging again
    details: dict = field(default_factory=dict)
    link: str | None = None

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity: {self.severity!r} is not one of {', '.join(SEVERITIES)}")


def slack_payload(alert: Alert) -> dict:
    lines = [f"*[{alert.severity.upper()}] {alert.summary}*", f"source: `{alert.source}`"]
    lines += [f"{k}: {v}" for k, v in alert.details.items()]
    if alert.link:
        lines.append(f"<{alert.link}|open in Airflow>")
    return {"text": f"[{alert.severity.upper()}] {alert.summary}",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}]}


def pagerduty_payload(alert: Alert, routing_key: str) -> dict:
    body = {"routing_key": routing_key, "event_action": "trigger",
            "payload": {"summary": alert.summary[:1024], "source": alert.source, "severity": alert.severity,
                        "component": alert.source.split("/")[0], "custom_details": alert.details}}
    if alert.dedup_key:
        body["dedup_key"] = alert.dedup_key
    if alert.link:
        body["links"] = [{"href": alert.link, "text": "open in Airflow"}]
    return body


def _post(url: str, body: dict, what: str) -> bool:
    def attempt() -> None:
        response = requests.post(url, json=body, timeout=5)
        if response.status_code >= 500 or response.status_code == 429:
            raise requests.HTTPError(f"{response.status_code} {response.text[:200]}")
        response.raise_for_status()
    try:
        for tried in retrying(lambda exc: isinstance(exc, requests.RequestException), what=what, first_s=0.5,
                              cap_s=2, max_attempts=3, quiet=True):
            with tried:
                attempt()
        return True
    except requests.RequestException as exc:
        log.error("alert not delivered to %s: %s", what, exc)
        return False


def send(settings: Settings, alert: Alert) -> list[str]:
    """Deliver to every configured receiver; returns the ones that accepted it."""
    delivered = []
    if settings.alert_webhook_url and _post(settings.alert_webhook_url, slack_payload(alert), "webhook"):
        delivered.append("webhook")
    if settings.alert_pagerduty_url:
        body = pagerduty_payload(alert, settings.secret("alert_pagerduty_routing_key"))
        if _post(settings.alert_pagerduty_url, body, "pagerduty"):
            delivered.append("pagerduty")
    if not (settings.alert_webhook_url or settings.alert_pagerduty_url):
        log.warning("alert (no receiver configured: set HH_ALERT_WEBHOOK_URL or HH_ALERT_PAGERDUTY_URL): "
                    "[%s] %s (%s) %s", alert.severity, alert.summary, alert.source, alert.details)
    return delivered


def from_airflow_failure(context) -> Alert:
    """The alert for a task that failed for good (retries exhausted)."""
    ti = context["ti"]
    run = context.get("dag_run")
    error = context.get("exception")
    return Alert(
        summary=f"Airflow task {ti.dag_id}.{ti.task_id} failed: {type(error).__name__ if error else 'error'}"
                f"{': ' + str(error)[:300] if error else ''}",
        source=f"airflow/{ti.dag_id}", severity="error", dedup_key=f"airflow/{ti.dag_id}/{ti.task_id}",
        details={"dag_id": ti.dag_id, "task_id": ti.task_id, "run_id": getattr(run, "run_id", ti.run_id),
                 "try_number": ti.try_number, "map_index": getattr(ti, "map_index", -1)},
        link=getattr(ti, "log_url", None))


def task_failed(context) -> None:
    """Airflow on_failure_callback: alert on-call."""
    from hellohome.config import get_settings

    send(get_settings(), from_airflow_failure(context))
