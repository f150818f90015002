"""The project's long-running consumers as supervised local services: the CDC indexer (keeps the
index in step with MariaDB), the enricher (vectors and scores) and the binlog archiver (closed
binlogs to S3: the RPO of point-in-time restores). Each is ready when
its /metrics answers; `HH_ENRICHER_AUTOSTART=false` leaves the enricher out (the test session
runs its own, on small data)."""
from __future__ import annotations

import sys

from hellohome.stack import prometheus
from hellohome.stack.service import metrics_endpoint
from hellohome.stack.supervisor import SupervisedService


def _consumer(name: str, module: str, port_field: str) -> SupervisedService:
    port, ping = metrics_endpoint(port_field)

    # the target stays registered while the process is down (crashed, hung): Prometheus sees `up == 0`
    return SupervisedService(name, port=port, ping=ping, check="GET /metrics",
                             argv=lambda s: [sys.executable, "-m", module, "--metrics-port", str(port(s))],
                             env=lambda s: {prometheus.STACK_TARGET_ENV: "1"},
                             after_start=lambda s: prometheus.register_target(s, name, port(s), {"component": name}),
                             before_stop=lambda s: prometheus.unregister_target(s, name))


INDEXER = _consumer("indexer", "consumers.indexer", "indexer_metrics_port")
ENRICHER = _consumer("enricher", "consumers.enricher", "enricher_metrics_port")
ARCHIVER = _consumer("binlog-archiver", "consumers.binlog_archiver", "backup_metrics_port")
OPENSEARCH_EXPORTER = _consumer("opensearch-exporter", "consumers.opensearch_exporter", "opensearch_exporter_port")
