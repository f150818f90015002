"""Monitoring against the real stack: every target scraped, every dashboard query answering with
series after real traffic, the console pages rendering in headless Chromium, and an alert that
really fires (a hung indexer) reaching local webhook and PagerDuty receivers through Alertmanager,
then resolving."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import bindparam, text

from bench.reindex_dag import AirflowApi
from hellohome.config import reload_settings
from hellohome.db.engine import get_engine
from hellohome.monitoring import dashboards
from hellohome.stack import alertmanager, consumer, prometheus
from tests.http_server import QuietHandler, serving

SHOTS = Path(__file__).resolve().parents[2] / ".stack" / "screenshots"


def prom(settings, path: str, **params) -> dict:
    response = requests.get(f"http://127.0.0.1:{settings.prometheus_port}/api/v1/{path}", params=params, timeout=30)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", (path, params, body)
    return body["data"]


def wait_for(check, timeout_s: float, what: str, every_s: float = 3.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(every_s)
    raise AssertionError(f"not within {timeout_s:.0f} s: {what}")


@pytest.fixture(scope="module")
def traffic(stack, search_settings):
    """Real traffic through every part the dashboards show: the enricher and archiver running,
    listing updates through CDC, searches of every kind through the API, one Airflow DAG run."""
    extra = [consumer.ENRICHER, consumer.ARCHIVER]
    for service in extra:
        service.start(stack)
    engine = get_engine(stack, "app")
    with engine.begin() as conn:
        ids = [row.id for row in conn.execute(text("SELECT id FROM properties ORDER BY id LIMIT 20"))]
        conn.execute(text("UPDATE properties SET price = price + 1 WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)), {"ids": ids})
    # and back: the loaded listings are shared, read-only data for the search tests; two real
    # changes flow through CDC, the index ends where it was (indexed within the waits below)
    with engine.begin() as conn:
        conn.execute(text("UPDATE properties SET price = price - 1 WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)), {"ids": ids})
    api = f"http://127.0.0.1:{stack.api_port}/api/v1"
    for mode in ("bm25", "semantic", "hybrid"):
        for q in ("loft with a view", "studio near park", "garden flat"):
            requests.get(f"{api}/search", params={"q": q, "mode": mode}, timeout=30)
    requests.get(f"{api}/autocomplete", params={"q": "bro"}, timeout=30)
    requests.get(f"{api}/properties/{ids[0]}", timeout=30)
    requests.get(f"{api}/properties/{ids[0]}/similar", timeout=30)
    airflow = AirflowApi(stack)
    try:
        run = airflow.run_dag("backups", {}, timeout_s=300)
    finally:
        airflow.call("PATCH", "/dags/backups", json={"is_paused": True})
    assert run["state"] == "success", run
    time.sleep(2 * stack.scrape_interval_s + 5)  # two scrapes after the traffic, so rates have two points
    yield stack
    for service in reversed(extra):
        service.stop(stack)


def test_every_registered_target_is_scraped_and_up(stack):
    expected = {"api", "indexer", "kafka", "connect", "alertmanager", "node-exporter", "mysqld-exporter",
                "redis-exporter", "statsd-exporter", "opensearch-exporter", "prometheus"}

    def all_up():
        targets = prom(stack, "targets")["activeTargets"]
        health = {t["labels"]["job"]: t["health"] for t in targets}
        return health if expected <= set(health) and all(h == "up" for h in health.values()) else None

    wait_for(all_up, 60, "every target registered and up")


def test_every_dashboard_query_parses_and_returns_series(traffic):
    empty = []
    for key, title, expr in dashboards.expressions(dashboards.load()):
        result = prom(traffic, "query", query=expr)["result"]
        if not result:
            empty.append(f"{key} / {title}: {expr}")
    assert not empty, "queries without series:\n" + "\n".join(empty)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}", "--window-size=1400,1800"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()


def test_console_dashboards_render_their_graphs(traffic, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    definitions = dashboards.load()
    for key, dashboard in definitions.items():
        browser.get(f"http://127.0.0.1:{traffic.prometheus_port}/consoles/{key}.html")
        # every panel draws its Rickshaw graph (an SVG) with a legend entry per series that
        # query_range returned: a query answering nothing leaves the legend empty
        wait_for(lambda: browser.execute_script(
            "return Array.from(document.querySelectorAll('.hh-panel')).every("
            "p => p.querySelector('svg path') !== null && p.querySelectorAll('.rickshaw_legend li').length > 0)"),
            30, f"{key}: every graph drawn with its series", every_s=1)
        panels = browser.execute_script("return document.querySelectorAll('.hh-panel').length")
        assert panels == len(dashboard.panels)
        errors = [e["message"] for e in browser.get_log("browser")
                  if e["level"] == "SEVERE" and "favicon.ico" not in e["message"]]
        assert not errors, f"{key}: {errors}"
        browser.save_screenshot(str(SHOTS / f"console-{key}.png"))


class Receivers(QuietHandler):
    """The chat webhook (Slack's incoming-webhook shape) and PagerDuty's Events v2 endpoint."""
    received: list[tuple[str, dict]] = []
    lock = threading.Lock()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.lock:
            self.received.append((self.path, body))
        if self.path.startswith("/v2/enqueue"):
            self.reply(202, "application/json", b'{"status":"success","message":"Event processed"}')
        else:
            self.reply(200, "text/plain", b"ok")


@pytest.fixture
def routed_alertmanager(stack, monkeypatch):
    """The stack's Alertmanager routing to local receivers, with short group timings."""
    Receivers.received = []
    with serving(Receivers) as url:
        monkeypatch.setenv("HH_ALERT_WEBHOOK_URL", f"{url}/slack")
        monkeypatch.setenv("HH_ALERT_PAGERDUTY_URL", f"{url}/v2/enqueue")
        monkeypatch.setenv("HH_ALERT_PAGERDUTY_ROUTING_KEY", "test-routing-key")
        monkeypatch.setenv("HH_ALERT_GROUP_WAIT_S", "1")
        monkeypatch.setenv("HH_ALERT_GROUP_INTERVAL_S", "5")
        settings = reload_settings()
        alertmanager.SERVICE.stop(settings)
        alertmanager.SERVICE.start(settings)
        yield settings
    monkeypatch.undo()
    settings = reload_settings()
    alertmanager.SERVICE.stop(settings)
    alertmanager.SERVICE.start(settings)


def _received(kind: str, status: str) -> list[dict]:
    with Receivers.lock:
        items = list(Receivers.received)
    # other alerts of the stack may page too (the receivers see everything): pick the indexer's
    if kind == "pager":
        return [b for p, b in items if p.startswith("/v2/enqueue") and b["event_action"] == status
                and b.get("payload", {}).get("summary", "").startswith("indexer (")]
    return [b for p, b in items if p.startswith("/slack")
            and b.get("attachments", [{}])[0].get("title", "").startswith(f"[{status.upper()}] TargetDown")
            and "indexer (" in b["attachments"][0].get("text", "")]


def test_a_hung_indexer_pages_through_alertmanager_then_resolves(routed_alertmanager):
    settings = routed_alertmanager
    pid = consumer.INDEXER.pid(settings)
    assert pid, "the stack's indexer is not running"
    os.kill(pid, signal.SIGSTOP)  # hung, not dead: supervisord keeps it, Prometheus's scrapes time out
    try:
        triggered = wait_for(lambda: _received("pager", "trigger"), 240, "PagerDuty trigger for the hung indexer")
        event = triggered[0]
        assert event["routing_key"] == "test-routing-key"
        assert event["payload"]["severity"] == "critical"
        chat = wait_for(lambda: _received("chat", "firing"), 30, "chat message for the hung indexer")
        text_ = chat[0]["attachments"][0]["text"]
        assert "docs/runbook.md#targetdown" in text_
        # inhibition: the warning TargetDown of the same target is not sent on its own
        alerts = requests.get(f"{alertmanager.url(settings)}/api/v2/alerts",
                              params={"filter": 'alertname="TargetDown"'}, timeout=10).json()
        indexer = [a for a in alerts if a["labels"].get("job") == "indexer"]
        states = {a["labels"]["severity"]: a["status"]["state"] for a in indexer}
        assert states == {"critical": "active", "warning": "suppressed"}, states
    finally:
        os.kill(pid, signal.SIGCONT)
    def resolved():
        with Receivers.lock:
            return [b for p, b in Receivers.received if p.startswith("/v2/enqueue")
                    and b["event_action"] == "resolve" and b["dedup_key"] == event["dedup_key"]]

    wait_for(resolved, 120, "PagerDuty resolve of the same incident after the indexer answers again")
    wait_for(lambda: _received("chat", "resolved"), 30, "chat message: resolved")
    assert requests.get(f"http://127.0.0.1:{settings.indexer_metrics_port}/metrics", timeout=5).status_code == 200
    assert prometheus.targets_dir(settings).joinpath("indexer.json").exists()
