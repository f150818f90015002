"""The OpenSearch exporter process: `python -m consumers.opensearch_exporter [--metrics-port P]`.

Thin: the work is hellohome.monitoring.opensearch_exporter (cluster, node and index statistics
as Prometheus metrics, read on every scrape).
"""
from hellohome.monitoring.opensearch_exporter import OpenSearchExporter
from hellohome.worker import main

if __name__ == "__main__":
    main("opensearch-exporter", __doc__, lambda settings, _group: OpenSearchExporter(settings), group=None,
         metrics_port="opensearch_exporter_port")
