"""The enrichment process: `python -m consumers.enricher [--group G] [--metrics-port P]`.

Thin: configuration; the work is hellohome.enrich.enricher.Enricher.
"""
import argparse
import os

from hellohome import logs
from hellohome.config import get_settings
from hellohome.enrich.enricher import Enricher
from hellohome.worker import serve


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
    os.nice(10)  # embedding is CPU-heavy and never urgent: the CDC indexer and search get the cores first
    serve(settings, "enricher", Enricher(settings, group_id=args.group), args.metrics_port, args.idle_exit_s)


if __name__ == "__main__":
    main()
