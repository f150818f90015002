"""The HTTP contract checks itself: every route is in the OpenAPI document and every documented
path is served; Prometheus scrapes of /metrics are not counted as API latency."""
from __future__ import annotations

import re

import pytest
from prometheus_client import REGISTRY

from hellohome.config import load_settings
from hellohome.search.service import SearchService
from serving.app import create_app

# pages and assets, not API operations
UNDOCUMENTED = {"/", "/docs", "/docs/{}", "/static/{}", "/openapi.json"}


@pytest.fixture(scope="module")
def app():
    settings = load_settings()
    return create_app(settings, SearchService(settings))


def _routes(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:>]+:)?[^>]+>", "{}", rule.rule)
        if path not in UNDOCUMENTED:
            found |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def _documented(app) -> set[tuple[str, str]]:
    paths = app.test_client().get("/openapi.json").get_json()["paths"]
    return {(re.sub(r"\{[^}]+\}", "{}", path), method) for path, ops in paths.items() for method in ops}


def test_every_route_is_documented_and_every_documented_path_is_served(app):
    routes, documented = _routes(app), _documented(app)
    assert ("/api/v1/properties/{}/images/{}", "delete") in routes  # the one the hand-written spec missed
    assert routes - documented == set(), "served but not in /openapi.json"
    assert documented - routes == set(), "in /openapi.json but not served"


def _latency_counts() -> dict[str, float]:
    return {s.labels["endpoint"]: s.value for metric in REGISTRY.collect()
            if metric.name == "hellohome_api_request_seconds" for s in metric.samples if s.name.endswith("_count")}


def test_metrics_scrapes_are_not_counted_as_api_latency(app):
    client = app.test_client()
    before = _latency_counts()
    for _ in range(3):
        assert client.get("/metrics").status_code == 200
    assert client.get("/healthz").status_code == 200
    after = _latency_counts()
    changed = {e: after[e] - before.get(e, 0) for e in after if after[e] != before.get(e, 0)}
    assert changed == {"health.healthz": 1}  # the healthz request counted, no scrape of /metrics


def test_library_errors_answer_with_their_status_and_code(app):
    client = app.test_client()
    missing = client.get("/api/v1/properties/99999999999999999999")  # past any BIGINT: not found
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    unauthorized = client.post("/api/v1/properties", json={})
    assert unauthorized.status_code == 401 and unauthorized.get_json()["error"]["code"] == "unauthorized"
    bad = client.get("/api/v1/autocomplete?q=")
    assert bad.status_code == 400 and bad.get_json()["error"] == {"code": "bad_request", "message": "q: 1 to 100 characters"}
