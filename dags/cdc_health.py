"""
### CDC health (every 5 minutes)

Is every change still on its way from MariaDB's binlog to the search index?

* Debezium connector and task states (Kafka Connect REST): a **FAILED task is restarted** and alerted;
* consumer lag of the indexer and enricher groups (`max_lag` messages);
* new dead-lettered messages in the last 5 minutes;
* binlog retention: alerts a day before a binlog the connector still needs would be purged (or once it was);
* the indexer and enricher answer on their metrics ports.

A restarted task is alerted at once (warning); any problem fails the task, whose retries (30 s,
then 60 s) check again, so a restart that worked does not page: what is still wrong then alerts. Returns the full report as
XCom. Library: `hellohome.batch.cdc_health`.
"""
from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, dag, task

from hellohome.batch.defaults import DAG_DEFAULTS, settings


@dag(dag_id="cdc_health", schedule=dt.timedelta(minutes=5), doc_md=__doc__, tags=["cdc", "kafka", "monitoring"],
     dagrun_timeout=dt.timedelta(minutes=4), **DAG_DEFAULTS, params={
         "max_lag": Param(10_000, type="integer", minimum=0,
                          description="messages a consumer group may be behind before it is a problem"),
         "window_minutes": Param(5, type="integer", minimum=1, description="how far back to count new DLQ messages"),
     })
def cdc_health():
    @task
    def check(params=None) -> dict:
        from hellohome.batch.cdc_health import check_and_alert

        return check_and_alert(settings(), window_s=params["window_minutes"] * 60, max_lag=params["max_lag"])

    check()


cdc_health()
