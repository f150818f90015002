"""ingest_listings loads a release of a city the code has never seen, as itself: columns renamed,
added and missing, empty prices, the currency read from the price symbols, the file fetched from
S3; a second run changes nothing; a file without a required column is refused before any write."""
from __future__ import annotations

import csv
import gzip
import io

import pytest
from sqlalchemy import text

from hellohome.batch.ingest import plan
from hellohome.db.engine import get_engine
from hellohome.errors import DatasetError, Invalid
from hellohome.search import indexes
from hellohome.stack import s3
from tests.dags.conftest import run_dag

SOURCE = "porto_test_2024_06"
# ids of their own (the Edinburgh rows they come from are loaded too), below the range reserved for
# generated listings (>= 3e18)
OFFSET = 1_500_000_000_000_000_000
ROWS = 150
EMPTY_PRICES = 5


def porto_release(stack) -> bytes:
    """Edinburgh's detailed release reshaped as another city's: `name` → `listing_name`, `latitude` →
    `lat`, `description` dropped, a `licence_number` column added, € prices, some prices empty."""
    with gzip.open(stack.data_dir / "edinburgh_airbnb_2024-09" / "listings.csv.gz", "rt", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = [row for _, row in zip(range(ROWS), reader, strict=False)]
    renames = {"name": "listing_name", "latitude": "lat"}
    header = [renames.get(c, c) for c in reader.fieldnames if c != "description"] + ["licence_number"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for i, row in enumerate(rows):
        row["id"], row["host_id"] = str(int(row["id"]) + OFFSET), str(int(row["host_id"]) + OFFSET)
        row["price"] = "" if i < EMPTY_PRICES else row["price"].replace("$", "€")
        row = {renames.get(k, k): v for k, v in row.items() if k != "description"}
        writer.writerow([row.get(c, f"PT-{i}") for c in header])
    return out.getvalue().encode()


@pytest.fixture
def porto_in_s3(loaded_db, stack):
    key = f"landing/{SOURCE}/listings.csv"
    s3.client(stack).put_object(Bucket=stack.rejects_bucket, Key=key, Body=porto_release(stack))
    yield f"s3://{stack.rejects_bucket}/{key}"
    with get_engine(stack, "app").begin() as conn:  # tests leave the loaded data as they found it
        conn.execute(text("DELETE i FROM property_images i JOIN properties p ON p.id = i.property_id "
                          "WHERE p.source = :s"), {"s": SOURCE})
        conn.execute(text("DELETE FROM properties WHERE source = :s"), {"s": SOURCE})
        conn.execute(text("DELETE FROM users WHERE source = :s"), {"s": SOURCE})
    client = s3.client(stack)
    for prefix in ("landing/", f"rejects/{SOURCE}/"):
        for obj in client.list_objects_v2(Bucket=stack.rejects_bucket, Prefix=prefix).get("Contents", []):
            client.delete_object(Bucket=stack.rejects_bucket, Key=obj["Key"])


def _rows(stack) -> list[tuple]:
    with get_engine(stack, "readonly").connect() as conn:
        return conn.execute(text("SELECT id, city, currency, price, version, updated_at FROM properties "
                                 "WHERE source = :s ORDER BY id"), {"s": SOURCE}).all()


def _rejected(stack) -> int:
    """Rows in the rejects reports the ingest left in S3 (none: no report)."""
    client = s3.client(stack)
    listed = client.list_objects_v2(Bucket=stack.rejects_bucket, Prefix=f"rejects/{SOURCE}/").get("Contents", [])
    return sum(len(client.get_object(Bucket=stack.rejects_bucket, Key=o["Key"])["Body"].read().splitlines()) - 1
               for o in listed)


def test_a_new_city_is_ingested_as_itself_and_a_rerun_changes_nothing(porto_in_s3, stack, dagbag):
    state, tasks, run = run_dag(dagbag, "ingest_listings", path=porto_in_s3, city="Porto", source=SOURCE)
    assert state == "success", tasks
    rows = _rows(stack)
    assert len(rows) + _rejected(stack) == ROWS and len(rows) >= ROWS * 0.9
    assert {(r.city, r.currency) for r in rows} == {("Porto", "EUR")}
    assert sum(r.price is None for r in rows) >= EMPTY_PRICES - _rejected(stack)
    client = indexes.client(stack)
    alias = indexes.read_alias("properties", stack.index_prefix)
    assert client.count(index=alias, body={"query": {"term": {"source": SOURCE}}})["count"] == len(rows)
    hits = client.search(index=alias, body={"query": {"bool": {"filter": [{"term": {"source": SOURCE}}]}}, "size": 1})
    assert hits["hits"]["hits"][0]["_source"]["city"] == "Porto"

    state, tasks, _ = run_dag(dagbag, "ingest_listings", path=porto_in_s3, city="Porto", source=SOURCE)
    assert state == "success", tasks
    assert _rows(stack) == rows  # same versions, same updated_at: nothing was written again


def test_a_file_without_a_required_column_is_refused_naming_it(stack, tmp_path):
    path = tmp_path / "listings.csv"
    path.write_text("id,name,host_id,latitude,longitude,room_type,price\n1,x,2,41.1,-8.6,Private room,€10\n")
    with pytest.raises(DatasetError, match=r"missing required column\(s\): neighbourhood"):
        plan(stack, str(path), city="Porto", source=SOURCE)


def test_dollar_prices_need_the_currency_and_a_bad_source_id_is_named(stack, tmp_path):
    path = tmp_path / "listings.csv"
    path.write_text("id,name,host_id,neighbourhood,latitude,longitude,room_type,price\n"
                    "1,x,2,Ribeira,41.1,-8.6,Private room,$10.00\n")
    with pytest.raises(Invalid, match="currency: required for this file"):
        plan(stack, str(path), city="Porto", source=SOURCE)
    with pytest.raises(Invalid, match="source: 'Porto 2024'"):
        plan(stack, str(path), city="Porto", currency="eur", source="Porto 2024")
    assert plan(stack, str(path), city="Porto", currency="eur", source=SOURCE).currency == "EUR"
    with pytest.raises(Invalid, match="preset: unknown 'lisbon'"):
        plan(stack, None, preset="lisbon")
