"""The data_quality DAG validates MariaDB and the index with Great Expectations, writes Data Docs
locally and to S3, and fails on a broken row."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from hellohome.batch import quality
from hellohome.db.engine import get_engine
from hellohome.stack import s3
from tests.dags.conftest import run_dag
from tests.integration.search_fixtures import backfilled

PREFIX = "test-quality-"
BROKEN_ID = 990_000_000_001


def test_clean_data_passes_and_writes_data_docs(loaded_db, stack, dagbag, task_settings):
    with backfilled(stack, PREFIX):
        settings = task_settings(HH_INDEX_PREFIX=PREFIX)
        state, tasks, run = run_dag(dagbag, "data_quality", sample=200)
        assert state == "success", tasks
    index = quality.docs_dir(settings) / "index.html"
    assert index.exists() and "properties" in index.read_text()
    keys = [o["Key"] for o in s3.client(settings).list_objects_v2(Bucket=settings.quality_bucket)["Contents"]]
    assert "data-docs/index.html" in keys and any(k.startswith("results/") for k in keys)


def test_a_listing_filed_under_the_wrong_city_fails_validation(loaded_db, stack, task_settings):
    engine = get_engine(stack, "app")
    with engine.begin() as conn:  # a New York listing at Edinburgh's coordinates
        conn.execute(text("""INSERT INTO properties (id, source, host_id, title, room_type, neighbourhood, price,
                             currency, city, latitude, longitude, status, version) SELECT :id, 'test', host_id,
                             'misfiled', room_type, neighbourhood, 100, 'USD', 'New York', 55.95, -3.19, 'active', 1 FROM properties
                             WHERE city = 'New York' LIMIT 1"""), {"id": BROKEN_ID})
    with backfilled(stack, PREFIX):
        settings = task_settings(HH_INDEX_PREFIX=PREFIX)
        try:
            with pytest.raises(quality.DataQualityFailed) as failed:
                quality.run(settings, sample=50, upload=False)
        finally:
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM properties WHERE id = :id"), {"id": BROKEN_ID})
    message = str(failed.value)
    assert "properties.km_from_city_centre expect_column_values_to_be_between (1 unexpected" in message
    assert "1 of" in message.split(":")[1]  # only that one expectation failed
