"""Liveness, readiness (each dependency reported on its own), metrics and admin status."""
from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from serving import metrics
from serving.auth import require
from serving.context import engine

bp = Blueprint("health", __name__)


def _check(probe) -> dict:
    started = time.perf_counter()
    try:
        probe()
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    except Exception as exc:  # any failure of a dependency is reported, not raised
        return {"ok": False, "error": f"{exc.__class__.__name__}: {str(exc)[:200]}"}


def _mariadb():
    with engine().connect() as conn:
        conn.execute(text("SELECT 1"))


def _opensearch():
    search = current_app.extensions["search"]
    health = search.client.cluster.health(index=search.alias, request_timeout=2)
    if health["status"] == "red":
        raise RuntimeError("index health is red")


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "alive"})


@bp.get("/readyz")
def readyz():
    checks = {"mariadb": _check(_mariadb), "opensearch": _check(_opensearch)}
    ready = all(c["ok"] for c in checks.values())
    # search and writes degrade separately: each dependency's state says what still works
    return jsonify({"ready": ready, "search": checks["opensearch"]["ok"], "writes": checks["mariadb"]["ok"],
                    "checks": checks}), 200 if ready else 503


@bp.get("/metrics", endpoint="metrics")  # serving.metrics skips this endpoint by name
def metrics_endpoint():
    return metrics.exposition()


@bp.get("/api/v1/admin/status")
@require("admin")
def admin_status():
    search = current_app.extensions["search"]
    return jsonify({"alias": search.alias, "indexes": search.client.indices.get_alias(name=search.alias),
                    "documents": search.client.count(index=search.alias)["count"]})
