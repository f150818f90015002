"""The enrichment process: `python -m consumers.enricher [--group G] [--metrics-port P]`.

Thin: configuration, signals, /metrics; the work is hellohome.enrich.enricher.Enricher.
"""
import argparse
import os
import signal

from prometheus_client import start_http_server

from hellohome import logs
from hellohome.config import get_settings
from hellohome.enrich.enricher import Enricher
from hellohome.stack import prometheus


def main() -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--group", default=settings.enricher_group, help="Kafka consumer group")
    parser.add_argument("--metrics-port", type=int, default=settings.enricher_metrics_port,
                        help="port of /metrics (0: none)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--idle-exit-s", type=float, default=None, help="exit after this long without messages")
    args = parser.parse_args()
    logs.configure(args.log_level.upper())
    # embedding is CPU-heavy and never urgent: the CDC indexer and search get the cores first
    os.nice(10)
    enricher = Enricher(settings, group_id=args.group)
    signal.signal(signal.SIGTERM, enricher.stop)
    signal.signal(signal.SIGINT, enricher.stop)
    target = f"enricher-{args.metrics_port}"
    if args.metrics_port:
        start_http_server(args.metrics_port, addr="127.0.0.1")
        prometheus.register_target(settings, target, args.metrics_port, {"component": "enricher"})
    try:
        enricher.run(idle_exit_s=args.idle_exit_s)
    finally:
        if args.metrics_port:
            prometheus.unregister_target(settings, target)


if __name__ == "__main__":
    main()
