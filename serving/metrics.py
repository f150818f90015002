"""Request metrics, correct under several gunicorn workers: with PROMETHEUS_MULTIPROC_DIR set
(the stack sets it), each worker writes its own files and /metrics merges them."""
from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

LATENCY = Histogram("hellohome_api_request_seconds", "API request latency by endpoint and query type",
                    ["endpoint", "method", "status", "query_type"],
                    buckets=(.002, .005, .01, .02, .03, .05, .075, .1, .15, .2, .3, .5, 1, 2, 5))
ERRORS = Counter("hellohome_api_errors_total", "API responses with status >= 500, by endpoint and code",
                 ["endpoint", "status"])


def registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return merged
    from prometheus_client import REGISTRY
    return REGISTRY


def install(app: Flask) -> None:
    @app.before_request
    def _start():
        g.started = time.perf_counter()

    @app.after_request
    def _observe(response):
        if request.endpoint in (None, "health.metrics", "static"):
            return response
        endpoint = request.endpoint or "unknown"
        LATENCY.labels(endpoint, request.method, str(response.status_code), g.get("query_type", "-")).observe(
            time.perf_counter() - g.get("started", time.perf_counter()))
        if response.status_code >= 500:
            ERRORS.labels(endpoint, str(response.status_code)).inc()
        return response


def exposition() -> Response:
    return Response(generate_latest(registry()), mimetype=CONTENT_TYPE_LATEST)
