"""
### Ingest listings (any Inside Airbnb release, any city)

Loads one Inside Airbnb `listings.csv(.gz)` file, summary or detailed release, of **any city**:

1. **plan**: the file (a local path or `s3://bucket/key`, downloaded first) and its city, currency
   and source id. A `preset` (`nyc`, `edinburgh`) fills them in; otherwise `city` and `source` are
   required and `currency` is read from the price symbols where they name one (`£`, `€`; Inside
   Airbnb writes `$` in every city, so then it is required). Columns are found by name with the
   aliases releases use: renamed, extra and missing optional columns are fine; a missing required
   column stops here, naming it.
2. **validate**: Great Expectations over the file before anything is written (ids present, numeric,
   unique; coordinates and prices in range; empty prices allowed). Result:
   `s3://hellohome-quality/ingest/<source>/` and the Data Docs.
3. **load**: upsert into MariaDB (a rerun of the same file changes nothing); the rejects report goes
   to `s3://hellohome-landing/rejects/<source>/`.
4. **searchable**: waits until CDC has indexed exactly the source's listings (id, version, content).

Library: `hellohome.batch.ingest` (the load is `hellohome load`'s).
"""
from __future__ import annotations

from airflow.sdk import Param, dag, task

from hellohome.batch.defaults import DAG_DEFAULTS, settings


@dag(dag_id="ingest_listings", schedule=None, doc_md=__doc__, tags=["ingest", "mariadb", "quality"],
     **DAG_DEFAULTS, params={
         "path": Param("", type="string", description="local path or s3://bucket/key of listings.csv(.gz); "
                                                      "empty with a preset: the copy in shared/data"),
         "preset": Param("", type="string", enum=["", "nyc", "edinburgh"],
                         description="a known dataset: fills in city, currency and source"),
         "city": Param("", type="string", description="city the listings are in, e.g. Porto"),
         "currency": Param("", type="string", description="ISO 4217 code of the prices, e.g. EUR (else from the price symbols)"),
         "source": Param("", type="string", description="source id of this release, e.g. porto_airbnb_2024_06 (a-z, 0-9, _)"),
         "searchable_timeout_s": Param(900, type="integer", minimum=10,
                                       description="how long to wait for CDC to index the listings"),
     })
def ingest_listings():
    @task
    def plan(params=None) -> dict:
        from dataclasses import asdict

        from hellohome.batch.ingest import plan as resolve

        return asdict(resolve(settings(), params["path"] or None, params["preset"] or None, params["city"] or None,
                              params["currency"] or None, params["source"] or None))

    @task
    def validate(ingest: dict) -> dict:
        from hellohome.batch.ingest import IngestPlan, validate_file

        return validate_file(settings(), IngestPlan(**ingest))

    @task
    def load(ingest: dict) -> dict:
        from hellohome.batch.ingest import IngestPlan
        from hellohome.batch.ingest import load as run

        return run(settings(), IngestPlan(**ingest))

    @task
    def searchable(ingest: dict, params=None) -> dict:
        from hellohome.batch.ingest import wait_searchable

        return wait_searchable(settings(), ingest["source"], params["searchable_timeout_s"])

    ingest = plan()
    validate(ingest) >> load(ingest) >> searchable(ingest)


ingest_listings()
