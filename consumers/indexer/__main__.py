"""The CDC indexer process: `python -m consumers.indexer [--group G] [--metrics-port P]`.

Thin: configuration; the work is hellohome.sync.indexer.Indexer.
"""
import argparse

from hellohome import logs
from hellohome.config import get_settings
from hellohome.sync.indexer import Indexer
from hellohome.worker import serve


def main() -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--group", default=settings.indexer_group, help="Kafka consumer group")
    parser.add_argument("--metrics-port", type=int, default=settings.indexer_metrics_port,
                        help="port of /metrics (0: none)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG adds one line per batch with timings")
    parser.add_argument("--idle-exit-s", type=float, default=None, help="exit after this long without messages")
    args = parser.parse_args()
    logs.configure(args.log_level.upper())
    serve(settings, "indexer", Indexer(settings, group_id=args.group), args.metrics_port, args.idle_exit_s)


if __name__ == "__main__":
    main()
