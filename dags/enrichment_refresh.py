"""
### Enrichment refresh (third-party scores)

Re-fetches the **Walk Score, GreatSchools and CrimeoMeter** answers cached for a place longer than
their TTL (24 h), oldest first, for places where listings still are, and writes the new scores
into those listings' documents.

* **Daily quota** per provider (`quota`, default `HH_PROVIDER_DAILY_QUOTA`): requests are counted
  in MariaDB (`provider_calls`, the enricher's too); a fetch starts only if its retries fit.
* **Circuit breakers**: after repeated failures a provider's remaining places are skipped.
* A failed refresh **keeps the previous answer** and is retried on the next run.

Returns per provider: refreshed / failed / skipped_quota / skipped_breaker /
skipped_unconfigured (cached by a provider that no longer answers for that score, e.g. a key was
removed), and the documents updated. Library: `hellohome.batch.enrichment`.
"""
from __future__ import annotations

from airflow.sdk import Param, dag, task

from hellohome.batch.defaults import DAG_DEFAULTS, settings


@dag(dag_id="enrichment_refresh", schedule="15 2 * * *", doc_md=__doc__, tags=["enrichment", "providers"],
     **DAG_DEFAULTS, params={
         "quota": Param(None, type=["null", "integer"], minimum=0,
                        description="requests per provider today (empty: HH_PROVIDER_DAILY_QUOTA)"),
         "limit": Param(None, type=["null", "integer"], minimum=1,
                        description="at most this many expired answers in this run (empty: all)"),
     })
def enrichment_refresh():
    @task
    def refresh(params=None) -> dict:
        from hellohome.batch.enrichment import refresh_scores

        return refresh_scores(settings(), per_day=params["quota"], limit=params["limit"])

    refresh()


enrichment_refresh()
