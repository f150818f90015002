"""
### Data quality (Great Expectations)

Daily validation of the source of truth and of the search index, with Great Expectations 1.x:

* **MariaDB**: ids present and unique, required fields, price range and outliers per city and room
  type, coordinates within `60 km` of their city's centre, referential integrity (hosts of
  listings, listings of images and inquiries), enumerations.
* **Index**: document count equal to MariaDB's, a random sample of documents identical to what
  MariaDB's rows build today (source version and content checksum), text vectors of the
  configured dimension.

Results: the Data Docs site in `.stack/gx/gx/uncommitted/data_docs/local_site/index.html` and
`s3://hellohome-quality/data-docs/` (a JSON summary per run under `results/`). Any failed
expectation fails the task, which alerts. Library: `hellohome.batch.quality`.
"""
from __future__ import annotations

from airflow.sdk import Param, dag, task

from hellohome.batch.defaults import DAG_DEFAULTS, settings


@dag(dag_id="data_quality", schedule="30 3 * * *", doc_md=__doc__, tags=["quality", "mariadb", "opensearch"],
     **DAG_DEFAULTS, params={
         "sample": Param(500, type="integer", minimum=1, maximum=100_000,
                         description="documents compared field by field with MariaDB"),
         "upload": Param(True, type="boolean", description="copy the Data Docs to S3"),
     })
def data_quality():
    @task
    def validate(params=None) -> dict:
        from hellohome.batch import quality

        report = quality.run(settings(), sample=params["sample"], upload=params["upload"])
        return {"evaluated": report.evaluated, "data_docs": report.docs_dir, "s3": report.s3_prefix}

    validate()


data_quality()
