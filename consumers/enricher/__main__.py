"""The enrichment process: `python -m consumers.enricher [--group G] [--metrics-port P]`.

Thin: the work is hellohome.enrich.enricher.Enricher. Niced: embedding is CPU-heavy and never
urgent, so the CDC indexer and search get the cores first.
"""
from hellohome.enrich.enricher import Enricher
from hellohome.worker import main

if __name__ == "__main__":
    main("enricher", __doc__, lambda settings, group: Enricher(settings, group_id=group),
         group="enricher_group", metrics_port="enricher_metrics_port", niceness=10)
