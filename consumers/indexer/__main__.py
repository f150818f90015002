"""The CDC indexer process: `python -m consumers.indexer [--group G] [--metrics-port P]`.

Thin: the work is hellohome.sync.indexer.Indexer.
"""
from hellohome.sync.indexer import Indexer
from hellohome.worker import main

if __name__ == "__main__":
    main("indexer", __doc__, lambda settings, group: Indexer(settings, group_id=group),
         group="indexer_group", metrics_port="indexer_metrics_port")
